"""The partnership's cost model (docs/performance.md, "A partnership on each executor"): each
stage's CPU seconds and peak memory from benchmarks/partnership.py's results, fitted as a
straight line in the households (least squares: a fixed part and a part per 1,000 households),
and projected. Measured figures and projections are printed apart. Run by hand:

    .venv/bin/python -m benchmarks.partnership_cost --executor multiprocess
    .venv/bin/python -m benchmarks.partnership_cost --project 1000000,25000000
    .venv/bin/python -m benchmarks.partnership_cost --check --partnership 25000000:310:450000

`--check` projects each measured size from the smaller sizes alone and prints it beside what was
measured: the model checked on the sizes it was not drawn from. `--partnership N:A:LARGEST`
projects a partnership of N households in A authorities: the partnership's own steps (routing,
the model) on every household in one process; each authority stage drawn against the
authorities' own households (results record `authority_households`), paid once per authority
for its fixed part, the largest authority's job for memory; how many workers (`--worker
CORES:GB`) finish the authorities' runs in `--hours` at the measured parallel efficiency.

Which results: every benchmarks/results/partnership-*.json with real training (not `-quick`)
that ran the executor asked for; at a size measured more than once, the newest.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def authority_lines(points: dict[int, dict], what: str) -> dict[str, dict]:
    """Each authority stage's line of `what` against the AUTHORITY's own households (its steps'
    CPU seconds summed, their peak the largest), one point per authority and run: an authority's
    job costs what its own size costs, whatever the partnership around it. Runs that did not
    record their authorities' sizes are left out."""
    pts: dict[str, list[tuple[float, float]]] = {}
    for d in points.values():
        sizes = d.get("authority_households") or {}
        per: dict[tuple[str, str], float] = {}
        for step in d["run"].get("steps", []):
            home, stage = step["home"], step["stage"]
            if home not in sizes or stage not in AUTHORITY_STAGES:
                continue
            value = step.get(what) or 0.0
            key = (home, stage)
            before = per.get(key, 0.0)
            per[key] = max(before, value) if what == "peak_mb" else before + value
        for (home, stage), value in per.items():
            pts.setdefault(stage, []).append((sizes[home], value))
    out = {}
    for stage, p in pts.items():
        a, b = fit_line(p)
        out[stage] = {"fixed": a, "per_1000": b * 1000, "points": p}
        out[stage]["worst_residual"] = worst_residual(p, a, b)
    return out


@dataclass(frozen=True)
class Partnership:
    """A partnership to project: its households, its authorities and its largest authority's
    households (the largest authority's job is the largest of the authorities' processes)."""

    households: int
    authorities: int
    largest: int

    @classmethod
    def parse(cls, text: str) -> Partnership:
        """`households:authorities:largest`, e.g. 25000000:310:450000."""
        try:
            n, a, largest = (int(x.replace("_", "")) for x in text.split(":"))
        except ValueError:
            raise SystemExit(
                f"--partnership {text!r}: give households:authorities:largest, "
                "e.g. 25000000:310:450000."
            ) from None
        if not 0 < largest <= n or a < 1 or largest * a < n:
            raise SystemExit(
                f"--partnership {text!r}: the largest authority must hold at most every household "
                "and the authorities, each at most the largest, must hold them all."
            )
        return cls(n, a, largest)


def project(points: dict[int, dict], p: Partnership) -> dict:
    """What a partnership would cost a month, from the measured runs' lines: the partnership's
    own steps (routing, the model) against its households; the authorities' stages summed over
    them (fixed part once per authority, the rest per household) with the largest authority's
    job for memory; the CPU outside any step (process start-up, mostly per authority run)
    scaled by the authorities from the 3-authority runs measured."""
    cpu_p = lines(points, PARTNERSHIP_STAGES, "cpu_seconds")
    peak_p = lines(points, PARTNERSHIP_STAGES, "peak_mb")
    cpu_a = authority_lines(points, "cpu_seconds")
    peak_a = authority_lines(points, "peak_mb")
    measured_authorities = {len(d.get("authority_households") or {}) or 3 for d in points.values()}
    per_run = max(measured_authorities)
    outside = fit_line([(n, d["run"]["cpu_outside_steps"]) for n, d in points.items()])
    stages: dict[str, dict] = {}
    for stage in PARTNERSHIP_STAGES:
        if stage in cpu_p:
            stages[stage] = {
                "cpu_seconds": _at(cpu_p[stage], p.households),
                "peak_mb": _at(peak_p[stage], p.households) if stage in peak_p else None,
                "per": "partnership",
            }
    for stage in AUTHORITY_STAGES:
        if stage in cpu_a:
            line = cpu_a[stage]
            stages[stage] = {
                "cpu_seconds": line["fixed"] * p.authorities
                + line["per_1000"] * p.households / 1000,
                "peak_mb": _at(peak_a[stage], p.largest) if stage in peak_a else None,
                "per": "authority",
            }
    outside_cpu = outside[0] / per_run * p.authorities + outside[1] * p.households
    authorities_cpu = sum(v["cpu_seconds"] for v in stages.values() if v["per"] == "authority")
    return {
        "stages": stages,
        "outside_steps_cpu": outside_cpu,
        "authorities_cpu": authorities_cpu,
        "whole_cpu": sum(v["cpu_seconds"] for v in stages.values()) + outside_cpu,
        "largest_authority_mb": max(
            (v["peak_mb"] or 0 for v in stages.values() if v["per"] == "authority"), default=0
        ),
    }


def check(points: dict[int, dict]) -> list[dict]:
    """The cost model checked against itself: each measured size from the third on, projected
    from the smaller sizes alone, beside what was measured there (whole CPU, the routing's and
    the model's peaks, the largest authority job's peak)."""
    out = []
    sizes = sorted(points)
    for i, n in enumerate(sizes[2:], start=2):
        d = points[n]
        below = {m: points[m] for m in sizes[:i]}
        sizes_a = d.get("authority_households") or {}
        largest = max(sizes_a.values()) if sizes_a else n // 3
        guess = project(below, Partnership(n, len(sizes_a) or 3, largest))
        run = d["run"]
        auth_peaks = [
            s["peak_mb"] for s in run.get("steps", []) if s["home"] in sizes_a and s.get("peak_mb")
        ]
        pairs = {
            "whole CPU s": (guess["whole_cpu"], run["cpu_seconds"]),
            "routing peak MB": (
                guess["stages"].get("route", {}).get("peak_mb"),
                run["stages"].get("route", {}).get("peak_mb"),
            ),
            "model peak MB": (
                guess["stages"].get("partnership_model", {}).get("peak_mb"),
                run["stages"].get("partnership_model", {}).get("peak_mb"),
            ),
            "largest authority job MB": (
                guess["largest_authority_mb"],
                max(auth_peaks) if auth_peaks else None,
            ),
        }
        out.append({"households": n, "from": sizes[:i], "pairs": pairs})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--executor", default="multiprocess")
    ap.add_argument("--project", default="1000000,25000000")
    ap.add_argument(
        "--partnership",
        action="append",
        default=[],
        metavar="N:A:LARGEST",
        help="a partnership to project: households, authorities, the largest authority's "
        "households (e.g. 25000000:310:450000); may be given more than once",
    )
    ap.add_argument("--worker", default="2:8", metavar="CORES:GB", help="one worker's size")
    ap.add_argument("--hours", type=float, default=2.0, help="the authorities' runs' window")
    ap.add_argument(
        "--check",
        action="store_true",
        help="project each measured size from the smaller ones alone, beside what was measured",
    )
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
    if args.check:
        print("\nChecked: each size projected from the smaller sizes alone, against the measured")
        for row in check(points):
            print(f"  {row['households']:>10,} from {', '.join(f'{m:,}' for m in row['from'])}:")
            for what, (guess, got) in row["pairs"].items():
                off = f" ({(guess - got) / got:+.0%})" if guess is not None and got else ""
                shown = "-" if guess is None else f"{guess:,.0f}"
                print(f"      {what:<26} projected {shown:>9}  measured {got or '-':>9}{off}")
    cores, gb = (float(x) for x in args.worker.split(":"))
    efficiency = [d["run"].get("parallel_efficiency") for d in points.values()]
    eff = min((e for e in efficiency if e), default=0.65)
    for text in args.partnership:
        p = Partnership.parse(text)
        got = project(points, p)
        print(
            f"\nA partnership of {p.households:,} households in {p.authorities} authorities "
            f"(largest {p.largest:,}), a month:"
        )
        for stage, v in got["stages"].items():
            mb = v["peak_mb"]
            over = "  over one worker's memory" if mb and mb > gb * 1024 else ""
            print(
                f"  {stage:<18}{v['cpu_seconds']:>12,.0f} CPU s  peak {mb or 0:>9,.0f} MB "
                f"({'the largest authority' if v['per'] == 'authority' else 'one process'}){over}"
            )
        print(f"  {'outside steps':<18}{got['outside_steps_cpu']:>12,.0f} CPU s")
        hours = (got["authorities_cpu"] + got["outside_steps_cpu"]) / 3600
        workers = max(1, math.ceil(hours / (cores * eff * args.hours)))
        print(
            f"  the authorities' runs: {hours:,.1f} CPU-hours; at the measured parallel efficiency "
            f"({eff:.2f}) {workers} worker{'s' if workers > 1 else ''} of {cores:g} cores "
            f"finish them in {args.hours:g} hours; "
            f"their largest job {got['largest_authority_mb']:,.0f} MB against {gb:g} GB a worker"
        )
        print(f"  the whole month: {got['whole_cpu'] / 3600:,.1f} CPU-hours")


if __name__ == "__main__":
    main()
