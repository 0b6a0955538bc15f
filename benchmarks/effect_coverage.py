"""Does the effect of a visit's 95% interval cover the truth as often as it says? The closed
loop's estimate (`benchmarks.feedback.visit_effect`: first entry per household, offered against
held out within each list month, `hearth.modelling.evaluation.complier.complier_effect`'s
household bootstrap) re-drawn many times where the truth is known to be no effect.

    .venv/bin/python -m benchmarks.effect_coverage --arm /tmp/fb-placebo/40000-seed341/naive \\
        --keys 100
    .venv/bin/python -m benchmarks.effect_coverage --warehouse \\
        /tmp/fb361/work/40000-seed361/reference \\
        --settings benchmarks/results/feedback-<stamp>.json --draws 200

Two ways to draw again, both in a world where a visit changes nothing (`--effect 0`), so every
draw's true effect is 0:

- `--arm`: a kept naive arm with `--keep-scores` (`benchmarks/lottery_placebo.py`): Hearth's
  own lottery drawn again with other keys on the same lists (`lottery_placebo.replay`), each
  key's first entrants and their follow-up as the run's (`first_lottery`, `visit_effect`): the
  lottery's whole randomisation, the first entrants changing with the draw included.
- `--warehouse`: any kept arm of an effect-0 world (no kept scores needed): the run's own first
  entrants, their held-out flags shuffled within each list month (the lottery's group sizes
  kept): the randomisation given who entered, from the warehouse's `holdout_assignments`,
  `raw_interventions` and `linked_events` as `benchmarks/feedback_effect.py` reads them.

Under no effect the complier ratio is above 1 exactly where the intent-to-treat ratio is (the
visited's crises less the held out's equal the others' less the offered's only where the
offered and held-out rates are equal), so in every resample too: the complier interval covers
0 exactly where the intent-to-treat interval does, and the latter is what is counted (no visits
need drawing again). Reported per evaluation month: the share of draws whose 95% interval
covers 0, the spread of the log ratio over draws against the mean bootstrap standard error of
the log, for the interval as the product computes it now (`--interval`) and the others named.
Writes benchmarks/results/effect-coverage-<stamp>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from benchmarks.feedback import CRISES_SQL, RESULTS, first_lottery
from benchmarks.feedback_effect import DRAWS_SQL
from benchmarks.lottery_placebo import follow_up
from hearth.modelling.evaluation.fairness import Z95

INTERVALS = ("percentile",)


def follow_up_counts(entries: pl.DataFrame, crises: pl.DataFrame, as_of: str, months: int):
    """Each first entry's crises and months of follow-up as `visit_effect` counts them
    (lottery_placebo.py's `follow_up`), in household order."""
    return follow_up(entries, crises, as_of, months).sort("household_pid")


def itt_interval(rows: pl.DataFrame, held: np.ndarray, seed: list[int], method: str) -> dict:
    """The intent-to-treat log ratio, its interval by `method` and that interval's standard
    error of the log (its width over 2 x 1.96), as `complier_effect` computes them (no visit:
    under no effect the complier interval covers 0 where this one does)."""
    from hearth.modelling.evaluation.complier import complier_effect

    n = rows["n"].to_numpy()
    got = complier_effect(
        n, rows["t"].to_numpy(), held, np.zeros(len(n), bool),
        strata=rows["list"].to_numpy(), seed=seed,
    )  # fmt: skip
    itt, low, high = got["itt_ratio"], got["itt_low"], got["itt_high"]
    ok = bool(np.isfinite(itt) and itt > 0 and low > 0 and np.isfinite(high))
    return {
        "log_ratio": float(np.log(itt)) if ok else float("nan"),
        "low": float(np.log(low)) if ok else float("nan"),
        "high": float(np.log(high)) if ok else float("nan"),
        # the interval's own standard error of the log: its width over 2 x 1.96
        "se": float((np.log(high) - np.log(low)) / (2 * Z95)) if ok else float("nan"),
        "covers": bool(low <= 1.0 <= high) if ok else None,  # None: no interval told
    }


def summarise(draws: list[dict]) -> dict:
    v = np.array([d["log_ratio"] for d in draws], dtype=float)
    ok = np.isfinite(v)
    se = np.array([d["se"] for d in draws], dtype=float)[ok]
    kept = [d for d, k in zip(draws, ok, strict=True) if k]
    return {
        "draws": int(ok.sum()),
        "coverage_95": round(float(np.mean([d["covers"] for d in kept])), 3),
        "mean_log_ratio": round(float(v[ok].mean()), 4),
        "se_of_mean": round(float(v[ok].std(ddof=1) / np.sqrt(ok.sum())), 4),
        "sd_log_ratio": round(float(v[ok].std(ddof=1)), 4),
        "mean_interval_se": round(float(np.nanmean(se)), 4),
        "mean_width": round(float(np.mean([d["high"] - d["low"] for d in kept])), 4),
    }


def shuffle_within(lists: np.ndarray, held: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The held-out flags shuffled among each list month's entrants: each list keeps its own
    number held out (its lottery's), so the draw is one the list's lottery could have made."""
    h = held.copy()
    for lst in np.unique(lists):
        i = np.flatnonzero(lists == lst)
        h[i] = rng.permutation(h[i])
    return h


def every_cycle(per_draw: list[list[bool]]) -> dict:
    """Over draws followed through the evaluated months (one lottery, its estimate cumulative):
    the share whose interval covers 0 in every month, and the mean number of months missed (a
    month without an interval misses nothing)."""
    a = np.array([[c is not False for c in d] for d in per_draw], dtype=bool)
    return {
        "draws": int(a.shape[0]),
        "months": int(a.shape[1]),
        "covers_in_every_month": round(float(a.all(axis=1).mean()), 3),
        "mean_months_missed": round(float((~a).sum(axis=1).mean()), 3),
    }


def placebo_keys(args) -> dict:
    """Hearth's lottery drawn again with `--keys` keys on a kept effect-0 naive arm's lists."""
    from benchmarks.lottery_placebo import load_cycles, replay

    settings, cycles = load_cycles(args.arm)
    with duckdb.connect(str(args.arm / "warehouse.duckdb"), read_only=True) as con:
        crises = con.sql(CRISES_SQL).pl()
    months = [m for m, _ in cycles]
    at = [c for c in args.cycles if c <= len(months)]
    hold = settings.get("hold_months")
    out: dict = {m: {k: [] for k in INTERVALS} for m in (months[c - 1] for c in at)}
    per_key: dict[str, list[list[bool]]] = {m: [] for m in INTERVALS}
    t0 = time.perf_counter()
    for k in range(args.keys):
        covered: dict[str, list[bool]] = {m: [] for m in INTERVALS}
        key = hashlib.sha256(b"hearth-lottery-placebo:" + str(k).encode()).digest()
        draws = replay(
            cycles[:-1], key, capacity=settings["capacity"], share=settings["holdout_share"],
            margin=settings["margin"], generation_months=settings["generation_months"],
            hold_months=hold,
        )  # fmt: skip
        for c in at:
            as_of = months[c - 1]
            entries = first_lottery(draws[: c - 1], settings["generation_months"], hold)
            rows = follow_up_counts(entries, crises.filter(pl.col("month") < as_of), as_of,
                                    settings["effect_months"])  # fmt: skip
            if rows.height == 0:
                continue
            for m in INTERVALS:
                got = itt_interval(rows, rows["held_out"].to_numpy(), [settings["seed"], c - 1], m)
                out[as_of][m].append(got)
                covered[m].append(got["covers"])
        for m in INTERVALS:
            per_key[m].append(covered[m])
        if k % 10 == 0 or k == args.keys - 1:
            print(f"[{time.perf_counter() - t0:6.1f} s] key {k + 1}/{args.keys}", file=sys.stderr)
    return {
        "design": "placebo keys: Hearth's lottery drawn again on the kept lists",
        "arm": str(args.arm),
        "seed": settings["seed"],
        "settings": settings,
        "by_month": {m: {k: summarise(v) for k, v in d.items() if v} for m, d in out.items()},
        "every_month": {m: every_cycle(v) for m, v in per_key.items()},
    }


def shuffled(args) -> dict:
    """The run's own first entrants, held-out flags shuffled within each list month."""
    doc = json.loads(args.settings.read_text())
    s = doc["settings"]
    months = [c["as_of"] for c in doc["cycles"]]
    with duckdb.connect(str(args.warehouse / "warehouse.duckdb"), read_only=True) as con:
        frame = con.sql(DRAWS_SQL).pl()
        crises = con.sql(CRISES_SQL).pl()
    by_month = {
        m: (
            g.filter(pl.col("offered"))["household_pid"].to_list(),
            g.filter(pl.col("held_out"))["household_pid"].to_list(),
        )
        for (m,), g in frame.group_by("as_of")
    }
    at = [c for c in args.cycles if c <= len(months)]
    rng = np.random.default_rng([s["seed"], 26])
    # every first entry of the run; a cycle's are those of the lists before its month (a first
    # entry is decided by the lists before it, so the same households at every cycle)
    draws = [(m, *by_month.get(m, ([], []))) for m in months[: max(at) - 1]]
    entries = first_lottery(draws, s["generation_months"], s.get("hold_months"))
    lists = entries["list"].to_numpy()
    held = entries["held_out"].to_numpy()
    shuffles = []  # each draw: the held-out flags shuffled within each list month, once
    for _ in range(args.draws):
        h = shuffle_within(lists, held, rng)
        shuffles.append(dict(zip(entries["household_pid"].to_list(), h.tolist(), strict=True)))
    out: dict = {}
    per_draw: dict[str, list[list[bool]]] = {m: [[] for _ in shuffles] for m in INTERVALS}
    own_covered: dict[str, list[bool]] = {m: [] for m in INTERVALS}
    t0 = time.perf_counter()
    for c in at:
        as_of = months[c - 1]
        rows = follow_up_counts(entries, crises.filter(pl.col("month") < as_of), as_of,
                                s["effect_months"])  # fmt: skip
        if rows.height == 0:
            continue
        pids = rows["household_pid"].to_list()
        own = {m: itt_interval(rows, rows["held_out"].to_numpy(), [s["seed"], c - 1], m)
               for m in INTERVALS}  # fmt: skip
        got = {m: [] for m in INTERVALS}
        for d, flags in enumerate(shuffles):
            h = np.array([flags[p] for p in pids], dtype=bool)
            for m in INTERVALS:
                g = itt_interval(rows, h, [s["seed"], c - 1, d], m)
                got[m].append(g)
                per_draw[m][d].append(g["covers"])
        for m in INTERVALS:
            own_covered[m].append(own[m]["covers"] is not False)
        logs = {m: np.array([g["log_ratio"] for g in got[m]]) for m in INTERVALS}
        out[as_of] = {
            "cycle": c,
            "entrants": rows.height,
            "held_out": int(rows["held_out"].sum()),
            "run": own,
            # where the run's own draw falls among the shuffles: the share at least as far out
            "run_two_sided_p": {
                m: round(float(np.mean(np.abs(v[np.isfinite(v)]) >= abs(own[m]["log_ratio"]))), 3)
                for m, v in logs.items()
            },
            **{m: summarise(v) for m, v in got.items()},
        }
        print(f"[{time.perf_counter() - t0:6.1f} s] {as_of}", file=sys.stderr)
    return {
        "design": "the run's first entrants, held-out flags shuffled within list months",
        "warehouse": str(args.warehouse),
        "seed": s["seed"],
        "settings_from": str(args.settings),
        "by_month": out,
        "every_month": {m: every_cycle(v) for m, v in per_draw.items()},
        "run_every_month": {
            m: {"months": len(v), "missed": int(sum(not x for x in v))}
            for m, v in own_covered.items()
        },
    }


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--arm", type=Path, help="A kept naive effect-0 arm with --keep-scores.")
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--warehouse", type=Path, help="A kept arm of an effect-0 world.")
    ap.add_argument("--settings", type=Path, help="The results file of the run (--warehouse).")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--cycles", default="12,18,21,24", help="Cycles to evaluate (1 = first).")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    args.cycles = [int(c) for c in args.cycles.split(",")]
    if (args.arm is None) == (args.warehouse is None):
        ap.error("Give either --arm (placebo keys) or --warehouse with --settings (shuffles).")
    if args.warehouse is not None and args.settings is None:
        ap.error("--warehouse needs --settings, the run's results file.")
    result = placebo_keys(args) if args.arm is not None else shuffled(args)
    result["stamp"] = datetime.now().strftime("%Y-%m-%dT%H%M%S")
    result["benchmark"] = "effect_coverage"
    result["true_log_ratio"] = 0.0
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = args.out / f"effect-coverage-{result['stamp']}{tag}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["by_month"], indent=1))
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
