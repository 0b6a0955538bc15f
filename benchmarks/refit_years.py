"""The product's refit with one and two years of outcomes (TrainParams.refit_years, issues 26
and 27), through the recipe's own calls, on a copy of a kept warehouse of a closed-loop run
(benchmarks/feedback.py `--work`, its `reference` arm; the copy with its `_truth` folder: the
feature sets are written beside the warehouse). By hand, with `nice`:

    cp -r <work>/40000-seed361/reference /tmp/ref361
    nice -n 5 .venv/bin/python -m benchmarks.refit_years --work /tmp/ref361 --as-of 2025-12 \\
        --tag seed361

At T (`--as-of`) it builds the feature sets (`build_feature_sets`), makes them safe
(`prepare_training`, the lists and lottery the run kept), trains and judges the candidates at
T-24 on T-12 (`train_and_evaluate`, no value of sharing), then refits the chosen candidate on
the refit's window with `refit_years` 1 and 2 (`Prepared.latest`, made before the training
window is freed, `refit_on_latest`), and scores every household at T with each refit against
the truth (`expected_quality`: the ratio to the oracle, as benchmarks/feedback_drift.py
scores its fits). The judged model is the same for both; only the refit's years differ.

Writes benchmarks/results/refit-years-<stamp>-<tag>.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import RESULTS, _commit, expected_quality


def measure(work: Path, as_of: str, progress) -> dict:
    from hearth.features.build import build_feature_sets, build_features
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import Design, cap_recency
    from hearth.modelling.training.params import TrainParams
    from hearth.modelling.training.recipe import prepare_training
    from hearth.modelling.training.selection import refit_on_latest, train_and_evaluate
    from hearth.warehouse import connect

    design = Design.for_scoring(as_of)
    params = TrainParams(value_of_sharing=False)
    t0 = time.perf_counter()
    with connect(work / "warehouse.duckdb") as con:
        build_feature_sets(con, design)
        raw = build_features(con, as_of)
    warehouse = work / "warehouse.duckdb"
    prep = prepare_training(lambda: connect(warehouse, read_only=True), design, params, {})
    result = train_and_evaluate(
        prep.train,
        prep.valid,
        load_catalogue(),
        params,
        400,
        sharing=False,
        names=prep.names,
        recency_cap=prep.cap,
    )
    progress(f"judged: {result.kind}, {time.perf_counter() - t0:.1f} s")
    windows = {}
    for years in (1, 2):  # both made before the training window is freed
        prep.params = replace(params, refit_years=years)
        windows[years] = (prep.latest(), prep.refit_years())
    prep.train = None
    out = {
        "work": str(work),
        "as_of": as_of,
        "history_before_training": prep.history,
        "judged": result.kind,
        "judged_precision_at_1pct": result.metrics.get("precision_at_1pct"),
    }
    for years, ((latest, names, cap), (learnt, why)) in windows.items():
        t1 = time.perf_counter()
        refit = refit_on_latest(copy.copy(result), latest, names, params, cap)
        x = cap_recency(raw, cap).select(names).to_numpy().astype(np.float32)
        p = refit.model.predict_proba(x)[:, 1]
        scores = pl.DataFrame({"household_pid": raw["household_pid"], "score": p})
        q = expected_quality(work / "_truth", scores, as_of)
        out[f"asked_{years}"] = {
            "years_learnt": learnt,
            "why_one": why,
            "rows": len(latest.y),
            "crises": int(latest.y.sum()),
            "ratio_to_oracle": q["precision_ratio_to_oracle"],
            "model_expected_precision": q["model_expected_precision"],
            "oracle_expected_precision": q["oracle_expected_precision"],
            "refit_seconds": round(time.perf_counter() - t1, 1),
        }
        progress(f"refit asked {years} year(s): {out[f'asked_{years}']}")
    return out


class Progress:
    """Prints a message with the seconds since `t0`, to stderr."""

    def __init__(self, t0: float):
        self.t0 = t0

    def __call__(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f} s] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", type=Path, required=True, help="A copy of a kept arm's folder.")
    ap.add_argument("--as-of", required=True, help="T, the scoring month (YYYY-MM).")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    from threadpoolctl import threadpool_limits

    progress = Progress(t0)

    with threadpool_limits(limits=args.threads):
        got = measure(args.work, args.as_of, progress)
    stamp = datetime.now().strftime("%Y-%m-%dT%H%M%S")
    result = {"stamp": stamp, "commit": _commit(), **got}
    result["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = args.out / f"refit-years-{stamp}{tag}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    progress(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
