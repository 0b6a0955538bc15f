"""Print a markdown table of the end-to-end benchmark results in benchmarks/results/, for
docs/performance.md:

    .venv/bin/python -m benchmarks.summarise
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("synth", "ingest", "checks", "link", "features", "train_evaluate", "score", "publish")


def load() -> list[dict]:
    runs = []
    for path in sorted(RESULTS.glob("*-*.json")):
        data = json.loads(path.read_text())
        if "end_to_end_seconds" in data:
            data["_file"] = path.name
            runs.append(data)
    return sorted(runs, key=lambda r: (r["households"], r["date"]))


def table(runs: list[dict]) -> str:
    head = [
        "run",
        "households",
        "end to end (s)",
        "households/s",
        "peak memory (GB)",
        "bare compute (s)",
        "end to end / bare",
        "expected P@1% model/oracle",
        "expected R@1% model/oracle",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        q = r["quality_at_scoring_date"]
        lines.append(
            f"| {r['_file'][:-5]} | {r['households']:,} | {r['end_to_end_seconds']:.0f} "
            f"| {r['households_per_second']:,.0f} "
            f"| {r['peak_memory_mb'] / 1024:.1f} | {r['bare_compute_seconds']['total']:.0f} "
            f"| {r['ratio_end_to_end_to_bare']:.2f} | {q['precision_ratio_to_oracle']:.3f} "
            f"| {q['recall_ratio_to_oracle']:.3f} |"
        )
    lines += ["", "| run | " + " | ".join(STAGES) + " |", "|" + "---|" * (len(STAGES) + 1)]
    for r in runs:
        cells = [
            f"{r['stage_seconds'].get(s, 0):.0f}" if s in r["stage_seconds"] else "-"
            for s in STAGES
        ]
        lines.append(f"| {r['_file'][:-5]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(load()))
