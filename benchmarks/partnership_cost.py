"""The partnership's cost model (docs/performance.md, "A partnership on each executor"): each
stage's CPU seconds and peak memory from benchmarks/partnership.py's results, fitted as a
straight line in the households (least squares: a fixed part and a part per 1,000 households),
and projected. Measured figures and projections are printed apart. Run by hand:

    .venv/bin/python -m benchmarks.partnership_cost --executor multiprocess
    .venv/bin/python -m benchmarks.partnership_cost --project 1000000,25000000

Which results: every benchmarks/results/partnership-*.json with real training (not `-quick`)
that ran the executor asked for; at a size measured more than once, the newest.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence

from benchmarks.run import RESULTS

# The stages of an authority's own runs (prepare and score), fixed cost counted per authority;
# the partnership's own steps (routing, the one model, the summary) once per partnership.
AUTHORITY_STAGES = ("ingest", "checks", "other", "link", "features", "train_evaluate", "score")
AUTHORITY_STAGES += ("publish",)
PARTNERSHIP_STAGES = ("route", "partnership_model", "summary", "authority_wait")


def fit_line(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least squares y = a + b x through the points; (a, b). Two points: the line through them;
    one point: the line through it and the origin."""
    if not points:
        raise ValueError("No measured point to fit.")
    if len(points) == 1:
        x, y = points[0]
        return 0.0, (y / x if x else 0.0)
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return my, 0.0
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - b * mx, b


def worst_residual(points: Sequence[tuple[float, float]], a: float, b: float) -> float | None:
    """The largest relative distance of a measured point from the line (None: two points or
    fewer, where the line passes through them and says nothing about straightness)."""
    if len(points) < 3:
        return None
    return max(abs(y - (a + b * x)) / y for x, y in points if y)


def measured(executor: str) -> dict[int, dict]:
    """The newest result of each size that ran `executor` with real training: its stages, CPU,
    outside-steps CPU, largest process and the bare compute."""
    found: dict[int, tuple[str, dict]] = {}
    for path in sorted(RESULTS.glob("partnership-*.json")):
        if path.stem.endswith("-quick"):
            continue
        data = json.loads(path.read_text())
        r = (data.get("executors") or {}).get(executor)
        if not r or r.get("exit_code") != 0:
            continue
        n = data["households"]
        key = (data.get("date", ""), data.get("started", ""), path.name)
        if n not in found or key > found[n][0]:
            found[n] = (key, data | {"run": r, "file": path.name})
    return {n: d for n, (_, d) in sorted(found.items())}


def bare_runs(results: Iterable[dict]) -> dict[tuple[int, int], dict]:
    """The newest bare compute of each (households, seed), from the results that ran it (an
    executor's run with its bare, or `partnership.py --bare-only` on its own): at a million the
    bare is measured apart, after an executor's run of the same world."""
    found: dict[tuple[int, int], tuple[str, dict]] = {}
    for data in results:
        bare = data.get("bare")
        if not bare or not bare.get("cpu_total"):
            continue
        at = (data["households"], data.get("seed"))
        key = data.get("started", "")
        if at not in found or key > found[at][0]:
            found[at] = (key, bare)
    return {at: bare for at, (_, bare) in found.items()}


def lines(points: dict[int, dict], stages: Iterable[str], what: str) -> dict[str, dict]:
    """Each stage's line of `what` (cpu_seconds or peak_mb) against the households."""
    out = {}
    for stage in stages:
        pts = [
            (n, d["run"]["stages"][stage][what])
            for n, d in points.items()
            if stage in d["run"]["stages"]
        ]
        if not pts:
            continue
        a, b = fit_line(pts)
        out[stage] = {"fixed": a, "per_1000": b * 1000, "points": pts}
        out[stage]["worst_residual"] = worst_residual(pts, a, b)
    return out


def _at(line: dict, households: int) -> float:
    return line["fixed"] + line["per_1000"] * households / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--executor", default="multiprocess")
    ap.add_argument("--project", default="1000000,25000000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.project.split(",")]
    points = measured(args.executor)
    if not points:
        raise SystemExit(f"No partnership result with the {args.executor} executor yet.")
    bares = bare_runs(json.loads(p.read_text()) for p in sorted(RESULTS.glob("partnership-*.json")))
    print(f"Measured ({args.executor}):")
    for n, d in points.items():
        r = d["run"]
        bare = d.get("bare") or bares.get((n, d.get("seed"))) or {}
        ratio = f" ({r['cpu_seconds'] / bare['cpu_total']:.2f}x)" if bare else ""
        print(
            f"  {n:>10,} ({d['file']}): {r['cpu_seconds']} CPU s, {r['run_wall_seconds']} "
            f"wall s (load {r['load_average'][1][0]:.1f} at the end), outside steps "
            f"{r['cpu_outside_steps']} CPU s, largest process {r['max_process_peak_mb']:,} MB, "
            f"bare {bare.get('cpu_total')} CPU s{ratio}"
        )
        for stage, row in r["stages"].items():
            print(f"      {stage:<18}{row['cpu_seconds']:>9} CPU s{row['peak_mb']:>8,} MB")
    stages = [*PARTNERSHIP_STAGES, *AUTHORITY_STAGES]
    cpu, peak = lines(points, stages, "cpu_seconds"), lines(points, stages, "peak_mb")
    whole = {n: d["run"]["cpu_seconds"] for n, d in points.items()}
    a, b = fit_line(list(whole.items()))
    cpu["whole run"] = {"fixed": a, "per_1000": b * 1000, "points": list(whole.items())}
    print("\nProjected (straight lines through the measured sizes; a line through two points")
    print("says nothing of straightness): fixed + per 1,000 households")
    for stage, c in cpu.items():
        m = peak.get(stage)
        mem = f"; peak {m['fixed']:,.0f} MB + {m['per_1000']:.2f} MB" if m else ""
        proj = ", ".join(
            f"{s:,}: {_at(c, s):,.0f} CPU s" + (f" {_at(m, s):,.0f} MB" if m else "") for s in sizes
        )
        print(f"  {stage:<18}{c['fixed']:,.1f} CPU s + {c['per_1000']:.2f} CPU s{mem}  ->  {proj}")


if __name__ == "__main__":
    main()
