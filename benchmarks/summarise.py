"""Print markdown tables of the end-to-end benchmark results in benchmarks/results/ and of
the quality runs over area sizes (benchmarks/quality.py, `quality-*.json`), for
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


def quality_table() -> str:
    """One row per quality run, then each size's mean over its seeds (the targets' measure)."""
    runs = [json.loads(p.read_text()) | {"_file": p.name} for p in RESULTS.glob("quality-*.json")]
    runs.sort(key=lambda r: (r["households"], r["mess_rate"], r["seed"], r["_file"]))
    head = [
        "run",
        "households",
        "seed",
        "mess / move",
        "crises in training",
        "chosen",
        "expected P@1% model/oracle",
        "Brier model/oracle",
        "top 1% mean score / true",
        "recipe (s)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_size: dict[tuple[int, float], list[float]] = {}
    for r in runs:
        q, c = r["quality_at_scoring_date"], r["calibration_at_scoring_date"]
        by_size.setdefault((r["households"], r["mess_rate"]), []).append(
            q["precision_ratio_to_oracle"]
        )
        lines.append(
            f"| {r['_file'][:-5]} | {r['households']:,} | {r['seed']} "
            f"| {r['mess_rate']} / {r['move_rate']} | {r['crises_in_training']:,} "
            f"| {r['chosen'].replace('_', ' ')} | {q['precision_ratio_to_oracle']:.3f} "
            f"| {c['brier_ratio_to_oracle']:.3f} | {c['top_score_ratio_to_truth']:.3f} "
            f"| {r['seconds_recipe']:.0f} |"
        )
    lines += [
        "",
        "| households | mess rate | runs | mean expected P@1% model/oracle |",
        "|---|---|---|---|",
    ]
    for (n, mess), ratios in sorted(by_size.items()):
        lines.append(f"| {n:,} | {mess} | {len(ratios)} | {sum(ratios) / len(ratios):.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(load()))
    print()
    print(quality_table())
