"""DIB elements: finding them, expanding dependencies, merging hooks, package-installs.

- `discover`: the search path, `Element`, `find()`.
- `expand`: `expand()` -> `ElementSet` (element-deps, element-provides, DIB's defaults).
- `hooks`: `PHASES`, `merged_hooks()` in dib-run-parts order, `hook_runs()`,
  `environment_files()`.
- `packages`: `package_installs()` and `pkg_map()`.
- `show`: text for `dibdo elements`.
"""

from dibdo.elements.discover import Element, find, search_path
from dibdo.elements.expand import ElementSet, expand
from dibdo.elements.hooks import PHASES, Hook, environment_files, hook_runs, merged_hooks

__all__ = [
    "PHASES",
    "Element",
    "ElementSet",
    "Hook",
    "environment_files",
    "expand",
    "find",
    "hook_runs",
    "merged_hooks",
    "search_path",
]
