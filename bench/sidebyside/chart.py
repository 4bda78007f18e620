"""The bar chart: seconds per scenario, DIB beside dibdo, on a log scale (a no-op build and a
cold one differ by orders of magnitude), each bar labelled with its value and each pair with
its ratio. Runs in the bench's own virtualenv, which has matplotlib (the project does not):

    plot-venv/bin/python bench/sidebyside/chart.py RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import matplotlib  # type: ignore[import-not-found, unused-ignore]

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]  # noqa: E402


def _seconds(tool: dict[str, Any] | None) -> float:
    return float(tool["median_seconds"] or 0) if tool else 0.0


def draw(doc: dict[str, Any], out: Path) -> None:
    rows = doc["scenarios"]
    labels = [textwrap.fill(r["title"], 22) for r in rows]
    dib = [_seconds(r["dib"]) for r in rows]
    ours = [_seconds(r["dibdo"]) for r in rows]
    fig, ax = plt.subplots(figsize=(12, 6), dpi=100)
    xs = range(len(rows))
    bars_dib = ax.bar([x - 0.2 for x in xs], dib, 0.4, label="diskimage-builder", color="#b55")
    bars_ours = ax.bar([x + 0.2 for x in xs], ours, 0.4, label="dibdo", color="#37a")
    for bars in (bars_dib, bars_ours):
        ax.bar_label(
            bars,
            labels=[f"{b.get_height():.1f}" if b.get_height() else "" for b in bars],
            fontsize=8,
        )
    for x, r in zip(xs, rows, strict=True):
        if r["ratio"] is not None:
            goal = f" (goal {r['goal']:g}x)" if r["goal"] is not None else ""
            ax.annotate(
                f"{r['ratio']:.3f}x{goal}",
                (x, 0.02),
                xycoords=("data", "axes fraction"),
                ha="center",
                fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "alpha": 0.85},
            )
    ax.set_yscale("log")
    ax.set_ylabel("seconds (log scale; lower is better)")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_title(
        f"debian-minimal vm as qcow2: dibdo vs diskimage-builder {doc['dib_version']}\n"
        f"{doc['machine']}",
        fontsize=9,
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
