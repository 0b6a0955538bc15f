"""Token linkage's cost at a size not run, projected from `benchmarks/linkage.py` results of
the same code at two or more sizes (issue 25: at 1,000,000 households linkage adds at most 5
minutes and the run's peak memory stays under 10 GB):

    .venv/bin/python -m benchmarks.linkage_projection --to 1000000 --tag after \\
        benchmarks/results/linkage-2026-12-07-30000-seed434-speed-after.json \\
        benchmarks/results/linkage-2026-12-07-100000-seed432-relink-speed-after-blocking.json

Per phase (`cpu_seconds`, `token_linkage_phases_seconds`, `peak_memory_mb`), a straight line
a + b x households through the results (least squares; a and b not below 0): a phase bounded
by a fixed sample (u's pairs, EM's capped pairs, the labels) shows as a, one that reads every
record as b. CPU seconds are judged (this machine is shared: wall seconds measure the
neighbours too); wall is projected from the same lines. Writes
benchmarks/results/linkage-projection-<date>-<households>-<tag>.json.

A straight line overstates a phase whose sample stops growing inside the measured range (u's
500,000 pairs; EM's blocks at 1 million pairs each, two of three already at the cap at 100,000
households; 20,000 labels a source, full from about 100,000): `--bounded` names such phases,
and the summary gives beside the straight line's total one with those held at their largest
measured size. Peak memory's line ignores DuckDB's cap (HEARTH_DUCKDB_MEMORY): an upper bound.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from benchmarks.run import RESULTS

# token linkage's phases (benchmarks/linkage.py: PHASES), and the exact joins before them
TOKEN_PHASES = (
    "gather_tokens",
    "address_links",
    "train_total",
    "train_u",
    "train_em",
    "predict_and_candidates",
    "recalibrate",
    "write_links",
    "measure_links",
)


def _line(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares a + b x through the points, a and b not below 0."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    b = max(b, 0.0)
    a = max(my - b * mx, 0.0)
    return a, b


def project(
    results: list[dict], to: int, bounded: tuple[str, ...] = (), x: str = "households"
) -> dict[str, object]:
    """`x`: the size the lines are drawn against, "households" or "events" (the event records:
    worlds of different months have different records per household)."""
    sizes = [int(r[x]) for r in results]
    if len(set(sizes)) < 2:
        raise SystemExit("Give results at two or more sizes (households) of the same code.")
    out: dict[str, object] = {}
    for key, label in (
        ("cpu_seconds", "cpu_seconds"),
        ("token_linkage_phases_seconds", "wall_seconds"),
        ("peak_memory_mb", "peak_memory_mb"),
    ):
        phases: dict[str, object] = {}
        for phase in ("exact_joins", *TOKEN_PHASES):
            pts = []
            for r in results:
                table = r[key] if key != "token_linkage_phases_seconds" else dict(r[key])
                if key == "token_linkage_phases_seconds" and phase == "exact_joins":
                    table = r["seconds"]
                if isinstance(table, dict) and phase in table:
                    pts.append((int(r[x]), float(table[phase])))
            if len({x for x, _ in pts}) < 2:
                continue
            a, b = _line(pts)
            phases[phase] = {
                "measured": {str(x): y for x, y in pts},
                "fixed": round(a, 1),
                f"per_100000_{x}": round(b * 1e5, 2),
                f"at_{to}": round(a + b * to, 1),
            }
        out[label] = phases

    def total(label: str, names: tuple[str, ...]) -> float:
        table = out[label]
        assert isinstance(table, dict)
        return round(sum(table[p][f"at_{to}"] for p in names if p in table), 1)

    peak = out["peak_memory_mb"]
    assert isinstance(peak, dict)
    cpu = out["cpu_seconds"]
    assert isinstance(cpu, dict)
    largest = str(max(sizes))
    held = {p: (v["measured"][largest] if p in bounded else v[f"at_{to}"]) for p, v in cpu.items()}
    out["summary"] = {
        x: to,
        "token_linkage_cpu_seconds": total("cpu_seconds", TOKEN_PHASES),
        "linkage_cpu_seconds_with_exact_joins": total(
            "cpu_seconds", ("exact_joins", *TOKEN_PHASES)
        ),
        "token_linkage_cpu_seconds_bounded_held": round(
            sum(v for p, v in held.items() if p in TOKEN_PHASES), 1
        ),
        f"bounded_phases_held_at_{x}": {"phases": list(bounded), "at": int(largest)},
        "token_linkage_wall_seconds_at_measured_load": total("wall_seconds", TOKEN_PHASES),
        "peak_memory_mb": max(v[f"at_{to}"] for v in peak.values()) if peak else None,
        "target": "linkage adds at most 300 s; the run's peak memory under 10 GB",
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", type=Path, help="benchmarks/linkage.py results")
    ap.add_argument("--to", type=int, default=1_000_000, help="The size to project to (--x).")
    ap.add_argument(
        "--x",
        choices=("households", "events"),
        default="households",
        help="Draw the lines against households or against event records (give --to in events:"
        " e.g. 1,000,000 households x the events a household of the 36-month worlds).",
    )
    ap.add_argument("--tag", default="", help="Appended to the result's file name.")
    ap.add_argument(
        "--bounded",
        default="",
        help="Phases whose sample is bounded (comma-separated, e.g. train_u,train_em,recalibrate):"
        " also totalled held at their largest measured size.",
    )
    args = ap.parse_args()
    results = [json.loads(p.read_text(encoding="utf-8")) for p in args.results]
    out = {
        "benchmark": "linkage_projection",
        "date": date.today().isoformat(),
        "from": [
            {
                "file": p.name,
                "households": r["households"],
                "events": r["events"],
                "commit": r["commit"],
            }
            for p, r in zip(args.results, results, strict=True)
        ],
        "x": args.x,
        **project(results, args.to, tuple(b for b in args.bounded.split(",") if b), args.x),
    }
    tag = f"-{args.tag}" if args.tag else ""
    unit = "" if args.x == "households" else f"-{args.x}"
    path = RESULTS / f"linkage-projection-{out['date']}-{args.to}{unit}{tag}.json"
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out["summary"], indent=1))
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
