"""The results as people and programs read them: `document()` builds the JSON document,
`markdown()` renders it (the main table first: scenario | DIB s | dibdo s | ratio | goal |
met | boots), and `breakdown()` groups dibdo's cold build report by task.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sidebyside.boot import Boot
from sidebyside.measure import Measurement
from sidebyside.scenarios import SCENARIOS, Results, Scenario, Tool

Doc = dict[str, Any]


def _tool(results: Results, key: str, tool: Tool) -> Doc | None:
    runs = results.of(key, tool)
    if not runs:
        return None
    last: Measurement = runs[-1]
    return {
        "median_seconds": results.median(key, tool),
        "seconds": [m.seconds for m in runs],
        "ok": all(m.ok for m in runs),
        "peak_rss_mib": max(m.peak_rss_mib for m in runs),
        "rx_bytes": [m.rx_bytes for m in runs],
        "image_bytes": last.image_bytes,
        "proxy_upstream_bytes": [m.upstream_bytes for m in runs],
        "logs": [m.log for m in runs],
    }


def _scenario(results: Results, s: Scenario, boots: dict[str, Boot]) -> Doc:
    return {
        "key": s.key,
        "title": s.title,
        "goal": s.goal,
        "ratio_against_dib": s.against,
        "dib_does": s.dib_does,
        "dibdo_does": s.dibdo_does,
        "dib": _tool(results, s.key, Tool.DIB),
        "dibdo": _tool(results, s.key, Tool.DIBDO),
        "ratio": results.ratio(s),
        "met": results.met(s),
        "boot": {t: asdict(b) for t, b in boots.items() if t.startswith(s.key + ":")},
    }


def document(
    results: Results,
    *,
    header: Doc,
    boots: dict[str, Boot],
    tasks: dict[str, list[Doc]],
    leaks: list[str],
) -> Doc:
    """`tasks`: the breakdown of every dibdo build, by run name (`r1-cold-dibdo`, ...)."""
    return {
        **header,
        "scenarios": [_scenario(results, s, boots) for s in SCENARIOS],
        "dibdo_cold_tasks": tasks.get("r1-cold-dibdo", []),
        "dibdo_tasks": tasks,
        "leaks": leaks,
    }


def breakdown(report: Path) -> list[Doc]:
    """The tasks of a dibdo build report: name, kind, outcome, seconds (slowest first)."""
    if not report.exists():
        return []
    tasks = json.loads(report.read_text()).get("tasks", [])
    rows = [{k: t.get(k) for k in ("name", "kind", "outcome", "seconds")} for t in tasks]
    for row in rows:  # "step:IMAGE/03-install-90-foo" -> "03-install-90-foo"
        row["name"] = str(row["name"]).rpartition("/")[2]
    return sorted(rows, key=lambda r: -float(r["seconds"] or 0))


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:.0f} MiB"


def _rss(tool: Doc) -> str:
    return f"{tool['peak_rss_mib']:.0f} MiB" if tool else "-"


def _goal(g: float | None) -> str:
    return "-" if g is None else f"<= {g:g}x"


def _met(m: bool | None) -> str:
    return "-" if m is None else "yes" if m else "**no**"


def _boots(sc: Doc) -> str:
    b = sc["boot"]
    if not b:
        return "-"
    return " / ".join(
        Boot(**b[k]).cell() if k in b else "-" for k in (f"{sc['key']}:DIB", f"{sc['key']}:dibdo")
    )


def main_table(doc: Doc) -> list[str]:
    lines = [
        "| scenario | DIB s | dibdo s | ratio | goal | met | boots (DIB / dibdo) |",
        "|---|---|---|---|---|---|---|",
    ]
    for sc in doc["scenarios"]:
        dib = _s(sc["dib"]["median_seconds"]) if sc["dib"] else "-"
        if sc["ratio_against_dib"] != sc["key"]:
            dib = f"- (vs {sc['ratio_against_dib']})"
        ours = _s(sc["dibdo"]["median_seconds"]) if sc["dibdo"] else "-"
        ratio = "-" if sc["ratio"] is None else f"{sc['ratio']:.3f}x"
        lines.append(
            f"| {sc['title']} | {dib} | {ours} | {ratio} | {_goal(sc['goal'])} "
            f"| {_met(sc['met'])} | {_boots(sc)} |"
        )
    return lines


def figures_table(doc: Doc) -> list[str]:
    lines = [
        "| scenario | downloaded DIB | downloaded dibdo (proxy from upstream) "
        "| peak memory DIB | peak memory dibdo | image DIB | image dibdo |",
        "|---|---|---|---|---|---|---|",
    ]
    for sc in doc["scenarios"]:
        d, o = sc["dib"] or {}, sc["dibdo"] or {}
        up = [b for b in o.get("proxy_upstream_bytes", []) if b is not None]
        ours = f"{_mib(max(o['rx_bytes']))} ({_mib(max(up)) if up else '-'})" if o else "-"
        lines.append(
            f"| {sc['title']} | {_mib(max(d['rx_bytes'])) if d else '-'} | {ours} "
            f"| {_rss(d)} | {_rss(o)} "
            f"| {_mib(d.get('image_bytes'))} | {_mib(o.get('image_bytes'))} |"
        )
    return lines


def tasks_table(doc: Doc) -> list[str]:
    lines = ["| dibdo task (cold build) | kind | outcome | s |", "|---|---|---|---|"]
    lines += [
        f"| {t['name']} | {t['kind']} | {t['outcome']} | {_s(t['seconds'])} |"
        for t in doc["dibdo_cold_tasks"]
    ]
    return lines


def markdown(doc: Doc) -> str:
    head = [
        f"## dibdo vs diskimage-builder {doc['dib_version']}: {doc['image']}",
        "",
        f"Machine: {doc['machine']}",
        f"Run: {doc['started']}, dibdo {doc['dibdo']}, "
        f"{doc['repeat']} repetition(s), medians. Goal: dibdo's time / DIB's time.",
        "",
    ]
    leaks = doc["leaks"] or ["none"]
    accels = sorted({b["accel"] for sc in doc["scenarios"] for b in sc["boot"].values()})
    if accels:
        head.append(
            f"Boot test: `dibdo boot-test` on both cold outputs (qemu, {', '.join(accels)}"
            "; serial console until the login prompt).\n"
        )
    return (
        "\n".join(
            [
                *head,
                *main_table(doc),
                "",
                *figures_table(doc),
                "",
                *tasks_table(doc),
                "",
                "Left behind by a build (cleaned up by the bench): " + "; ".join(leaks),
                *[f"- {n}" for n in doc["notes"]],
            ]
        )
        + "\n"
    )
