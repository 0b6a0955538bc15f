"""Why the closed loop's effect-0 reference falls (issue 26): is the world drifting, or the
oracle, or the year the model learnt from? Run on a kept warehouse of a reference run
(benchmarks/feedback.py `--work`, its `reference` or effect-0 `naive` arm), by hand, with `nice`:

    nice -n 5 .venv/bin/python -m benchmarks.feedback_drift \\
        --work /tmp/fb361/work/40000-seed361/reference \\
        --train 2023-01,2024-01 --score 2024-01,2025-01,2025-12 --draws 2 --tag seed361

It reads, from the warehouse as it is at the end (so a figure can differ from the run's by a
few thousandths, as in benchmarks/feedback_labels.py):

- `truth`: per as-of month of the world, what the truth says with no model at all: the mean
  risk, the crisis rate, the oracle's expected precision of its top 1% (the risk given every
  record since the world's first month: `p_crisis_12m`) and the full-information one (given
  the hidden state: `p_crisis_12m_full`). A world whose risk drifts moves the first two and the
  last; an oracle that keeps learning moves only the third.
- `grid`: Hearth's gradient-boosted candidate fitted as `feedback.Arm.lister` fits the naive
  arm (features at T, labels over the 12 months from T, every feature and the longest
  recency), for each training month T of `--train`, and scored at each month M of `--score`
  at least 12 months after T: the ratio to the oracle and the model's and the oracle's
  expected precision. Rows that differ only in M are one model in a moving world and against
  a moving oracle; rows that differ only in T are other years' outcomes judged in the same
  month. `--draws` more fits per T on labels drawn from the truth's own risk at T (each
  household a crisis with probability `p_crisis_12m`: the same law given the features, another
  realisation), the spread of a year's outcomes; `--also-score` scores every model in other
  worlds' warehouses too (an independent world: a model's quality without its own
  households).

- `--arms` (issue 26, "Two years of outcomes"): besides `one` (the rows at T, as above), `two`
  stacks the rows at T-12 (features at T-12, labels over the 12 months from T-12) under them,
  each household twice, so the model learns from two disjoint years of outcomes; `two_weighted`
  the same with the older year's rows weighted `--older-weight`. The calibration's held-back
  fifth is drawn by pseudonym (`calibration_mask`), so a household's two rows fall on the same
  side. A drawn label of a year is the same realisation in every arm that uses that year (its
  generator is seeded by the seed and the year's month), so the arms are compared on the same
  outcomes. T-12 must have the same features and recency as T (36 months of history).
  `one_large` is `one` with trees as large as `two`'s (`TrainParams.sized` by both years'
  crises): whether `two` gains by its data or only by its larger trees.

Writes benchmarks/results/feedback-drift-<stamp>-<tag>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import RESULTS, _commit, expected_quality


def truth_by_month(households: pl.DataFrame, share: float = 0.01) -> list[dict]:
    """Per as-of month of `_truth/households.parquet`: households, mean risk, crisis rate, and
    the expected precision of the top `share` by the oracle's risk and by the full-information
    risk (each judged by its own risk, as `expected_quality` judges the oracle)."""
    rows = []
    for (as_of,), g in sorted(households.group_by("as_of"), key=lambda kv: kv[0]):
        k = max(1, int(np.ceil(share * g.height)))
        rows.append(
            {
                "as_of": as_of,
                "households": g.height,
                "mean_risk": float(g["p_crisis_12m"].mean()),
                "crisis_rate": float(g["crisis_12m"].mean()),
                "oracle_expected_precision": float(g["p_crisis_12m"].top_k(k).mean()),
                "full_information_precision": float(g["p_crisis_12m_full"].top_k(k).mean()),
            }
        )
    return rows


def drawn_labels(risk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each household a crisis with its probability: another realisation of a year's outcomes
    with the same law given anything the features hold (the risk conditions on more)."""
    return (rng.random(risk.size) < risk).astype(int)


ARMS = ("one", "two", "two_weighted", "one_large")


@dataclass
class Year:
    """One training month's rows: features at `as_of`, and each label set over the 12 months
    from it (the recorded crises first, then the drawn ones)."""

    as_of: str
    X: np.ndarray
    pids: np.ndarray
    labels: list[tuple[str, np.ndarray]]


def stacked(newer: Year, older: Year | None, label: int, older_weight: float = 1.0):
    """The training rows of one arm: the newer year's rows with their label set `label`, and
    under them, if given, the older year's with its own label set of the same name (each
    household twice) weighted `older_weight`. Returns X, y, pids and the sample weights."""
    if older is None:
        return newer.X, newer.labels[label][1], newer.pids, np.ones(len(newer.pids))
    if older.labels[label][0] != newer.labels[label][0]:
        raise ValueError(
            f"The two years' label sets differ ({older.labels[label][0]} against "
            f"{newer.labels[label][0]}): stack the same kind of outcomes."
        )
    X = np.vstack([newer.X, older.X])
    y = np.concatenate([newer.labels[label][1], older.labels[label][1]])
    pids = np.concatenate([newer.pids, older.pids])
    w = np.concatenate([np.ones(len(newer.pids)), np.full(len(older.pids), older_weight)])
    return X, y, pids, w


def _fit(
    X: np.ndarray,
    y: np.ndarray,
    pids: np.ndarray,
    names: list[str],
    max_iter: int,
    weight: np.ndarray | None = None,
    size_crises: int | None = None,
):
    """Hearth's gradient-boosted candidate, calibrated on a held-back fifth of the households,
    as the loop's naive arm fits it, its trees sized by `size_crises` (default: the crises in
    `y`). With `weight` (not all 1) the same fit with sample weights
    (hearth's own fit takes none): the trees on the households not held back, weighted, then
    the isotonic map on the held-back fifth's rows, unweighted (it orders as the trees do)."""
    from hearth.modelling.training.fit import fit_candidate
    from hearth.modelling.training.params import TrainParams

    crises = int(y.sum()) if size_crises is None else size_crises
    params = TrainParams(calibration="isotonic", max_iter=max_iter).sized(crises, len(y))
    if weight is None or np.all(weight == 1):
        return fit_candidate("gradient_boosting", X, y, pids, names, params)
    return _weighted_fit(X, y, pids, names, params, weight)


def _weighted_fit(X, y, pids, names, params, weight: np.ndarray):
    """`fit_candidate`'s gradient-boosted trees with the "isotonic" calibration, the trees
    fitted with sample weights (one tree seed, no case-control sampling: the sizes here)."""
    from hearth.modelling.training.fit import (
        IsotonicCalibrated,
        isotonic_knots,
        make_estimator,
        min_block,
        raw_logit,
    )
    from hearth.modelling.training.sampling import calibration_mask
    from hearth.modelling.training.whole_rates import whole_rates

    cal = calibration_mask(pids, params.calibration_share)
    est = make_estimator("gradient_boosting", params, names)
    est.fit(whole_rates(X[~cal], names), y[~cal], sample_weight=weight[~cal])
    kx, ky = isotonic_knots(raw_logit(est, X[cal]), y[cal], min_block(int(cal.sum())))
    return IsotonicCalibrated(est, kx, ky, "isotonic")


def grid(
    work: Path,
    trains: list[str],
    scores: list[str],
    draws: int,
    others: list[Path],
    max_iter: int,
    seed: int,
    progress,
    arms: tuple[str, ...] = ("one",),
    older_weight: float = 0.5,
) -> list[dict]:
    from hearth.features.build import build_features
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import cap_recency, history_months, recency_cap
    from hearth.months import add_months
    from hearth.warehouse import connect

    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise ValueError(f"Unknown arm {', '.join(unknown)}; choose from {', '.join(ARMS)}.")
    truth = pl.read_parquet(work / "_truth" / "households.parquet")
    worlds = [work, *others]
    scored: dict[tuple[int, str], pl.DataFrame] = {}
    stacks = any(a != "one" for a in arms)
    first = add_months(min(trains), -12) if stacks else min(trains)
    names, cap = None, None
    for i, w in enumerate(worlds):
        with connect(w / "warehouse.duckdb", read_only=True) as con:
            for m in scores:
                if names is None:  # every feature and the longest recency, as --history full
                    h = history_months(con, first)
                    names, cap = load_catalogue().usable_names(h), recency_cap(h)
                scored[(i, m)] = cap_recency(build_features(con, m), cap)
    out = []
    years: dict[str, Year] = {}
    with connect(work / "warehouse.duckdb", read_only=True) as con:

        def year(t: str) -> Year:
            if t not in years:
                h = history_months(con, t)
                if load_catalogue().usable_names(h) != names or recency_cap(h) != cap:
                    raise ValueError(
                        f"Training at {t} has fewer features or a shorter recency than at "
                        f"{first}: give training months with the same history's features "
                        "(36 months before each, and before the older year's month with "
                        "--arms two)."
                    )
                years[t] = training_year(con, t, names, cap, truth, draws, seed)
            return years[t]

        for t in trains:
            newer = year(t)
            older = year(add_months(t, -12)) if stacks else None
            for label, (name, yy) in enumerate(newer.labels):
                for arm in arms:
                    t0 = time.perf_counter()
                    X, y, pids, w = stacked(
                        newer,
                        None if arm.startswith("one") else older,
                        label,
                        older_weight if arm == "two_weighted" else 1.0,
                    )
                    # one_large: one year, its trees sized as two years' crises size them
                    size = (
                        int(y.sum() + older.labels[label][1].sum()) if arm == "one_large" else None
                    )
                    model = _fit(X, y, pids, names, max_iter, w, size)
                    for i, wk in enumerate(worlds):
                        for m in scores:
                            if m < add_months(t, 12):  # the labels reach M: not a forecast
                                continue
                            s = scored[(i, m)]
                            x = s.select(names).to_numpy().astype(np.float32)
                            p = model.predict_proba(x)[:, 1]
                            frame = pl.DataFrame({"household_pid": s["household_pid"], "score": p})
                            q = expected_quality(wk / "_truth", frame, m)
                            out.append(
                                {
                                    "train": t,
                                    "arm": arm,
                                    "labels": name,
                                    "crises": int(yy.sum()),
                                    "training_rows": len(y),
                                    "training_crises": int(y.sum()),
                                    "scored_in": "own" if i == 0 else str(wk),
                                    "score_at": m,
                                    "ratio_to_oracle": q["precision_ratio_to_oracle"],
                                    "model_expected_precision": q["model_expected_precision"],
                                    "oracle_expected_precision": q["oracle_expected_precision"],
                                }
                            )
                    progress(
                        f"trained at {t} on {name} labels, {arm}: {time.perf_counter() - t0:.1f} s"
                    )
    return out


def training_year(con, t: str, names, cap, truth: pl.DataFrame, draws: int, seed: int) -> Year:
    """The rows at training month `t`: features, recorded labels, and `draws` label sets drawn
    from the truth's risk at `t`, the generator seeded by `seed` and the month (so a year's
    drawn outcomes are the same whichever model stacks them)."""
    from hearth.features.build import build_features, build_labels
    from hearth.features.design import cap_recency

    feats = build_features(con, t)
    y = build_labels(con, feats["household_pid"], t).to_numpy().astype(int)
    X = cap_recency(feats, cap).select(names).to_numpy().astype(np.float32)
    pids = feats["household_pid"].to_numpy()
    risk = (
        feats.select("household_pid")
        .join(truth.filter(pl.col("as_of") == t), on="household_pid", how="left")["p_crisis_12m"]
        .fill_null(0.0)
        .to_numpy()
    )
    rng = np.random.default_rng([seed, int(t.replace("-", ""))])
    labels = [("recorded", y)] + [(f"drawn_{d}", drawn_labels(risk, rng)) for d in range(draws)]
    return Year(t, X, pids, labels)


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--work", type=Path, required=True, help="A kept effect-0 arm's folder.")
    ap.add_argument("--train", required=True, help="Training months, comma-separated.")
    ap.add_argument("--score", required=True, help="Scoring months, comma-separated.")
    ap.add_argument("--draws", type=int, default=0, help="Fits on drawn labels per training month.")
    ap.add_argument("--also-score", default="", help="Other worlds' arm folders, comma-separated.")
    ap.add_argument("--max-iter", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0, help="Seeds the drawn labels.")
    ap.add_argument(
        "--arms",
        default="one",
        help=f"Training rows per model, comma-separated, of {', '.join(ARMS)} (see above).",
    )
    ap.add_argument(
        "--older-weight", type=float, default=0.5, help="The older year's weight, two_weighted."
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", file=sys.stderr, flush=True)

    from threadpoolctl import threadpool_limits

    others = [Path(p) for p in args.also_score.split(",") if p]
    households = pl.read_parquet(args.work / "_truth" / "households.parquet")
    with threadpool_limits(limits=1):
        rows = grid(
            args.work,
            sorted(args.train.split(",")),
            sorted(args.score.split(",")),
            args.draws,
            others,
            args.max_iter,
            args.seed,
            progress,
            tuple(args.arms.split(",")),
            args.older_weight,
        )
    result = {
        "stamp": datetime.now().strftime("%Y-%m-%dT%H%M%S"),
        "commit": _commit(),
        "work": str(args.work),
        "world": json.loads((args.work / "_truth" / "world.json").read_text()).get("seed"),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "seconds": round(time.perf_counter() - t0, 1),
        "truth": truth_by_month(households),
        "grid": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = args.out / f"feedback-drift-{result['stamp']}{tag}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    progress(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
