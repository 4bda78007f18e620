"""doit entry point: `doit image:<name>` for every image in images.yaml.

The same task generator serves `dibdo build`; see dibdo/images.py for how images.yaml
is read and dibdo/tasks for the tasks.
"""

from dibdo.images import doit_namespace

globals().update(doit_namespace())
