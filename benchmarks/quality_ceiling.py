"""Where the ratio to the oracle goes: the information the features carry against what the
model learns of it (issue 27: 0.93 of the oracle at 100,000 households, not 0.95). Run by hand
on a world `benchmarks/quality.py --build-only` built (one at a time, `nice -n 5`):

    .venv/bin/python -m benchmarks.quality --households 100000 --seed 241 --realistic \
        --build-only --work /tmp/qc-world
    .venv/bin/python -m benchmarks.quality_ceiling --households 100000 --seed 241 --realistic \
        --work /tmp/qc-world --experiments ceiling,ceiling_all,true_target,labels

Each experiment ranks the households at the scoring date T and is compared with the oracle as
`benchmarks/quality.py` compares the recipe (expected precision at 1%, ratio to the oracle's):

- `ceiling`: the information ceiling of the features the recipe's model uses (those usable with
  the refit date's 24 months of history, "months since" capped at 24). A large gradient-boosted
  regression (no monotone constraints) fitted at T on the oracle's own probability, the TRUE
  one, as its target: two halves of the households by pseudonym, each scored by the model fitted
  on the other half. The best any model of these features could rank, up to the regression's
  own error (reported beside it: its fit on the half it saw).
- `ceiling_all`: the same with every feature T's 36 months of history allow (36-month windows,
  "months since" capped at 36): what the history a model cannot be trained on is worth.
- `true_target`: the recipe's trees and the large regression fitted at T-12 (the refit's date)
  on the true probability at T-12 instead of the crises that followed, scoring T: the recipe
  without label noise, the same households and features.
- `labels`: the recipe's trees as the refit fits them (cross-fitted, iterations kept by the
  out-of-fold log-loss), on the crises after T-12, scoring T (the recipe's ranking).
- `curve`: the recipe's trees on a quarter and a half of the training households (by
  pseudonym) beside all of them: the learning curve, with labels and with the true target.
- `knobs`: the recipe's trees with one capacity knob changed at a time (`KNOBS`), fitted as
  the refit fits them.
- `recipe:<knob>`: the refit as the recipe fits it (`fit_candidate` at T-12) with one `KNOBS`
  entry changed (`base`: none), scoring T: the ratio and the top 1%'s calibration `quality.py`
  reports when the trees publish (e.g. `recipe:seeds_3`, the trees averaged over 3 fits).
- `staged:<knob>`: one fit of the recipe's trees on every household at T-12 (a `KNOBS` entry
  changed, or `iter_300`), the ratio at T after every 25 iterations: the curve the out-of-fold
  stopping picks one point of.
- `seeds:<k>`: k fits of the recipe's trees on every household at T-12, random states 0..k-1
  (with `max_features` below 1 each split reads another subset of the features), the ratio at T
  of each and of the log-odds average of the first 2..k, after every 5 iterations from 50.
- `stretch`: the recipe's trees as the refit fits them, scoring T as the recipe does and with
  the longest window the refit uses (24 months on a 36-month world) read over all T's history
  (as it is, scaled to 24 months, and with "months since" up to 36 read as 24).
- `third_year`: the recipe's trees calibrated as the refit is (`fit_candidate`), scoring T as
  the recipe does and with the 3-year rate weighing its third year (the records 25-36 months
  old) by 0.75, 0.5, 0.25 and 0: (c24 + w c3) x 24 / (24 + 12 w), for `crisis_records_36m` alone
  and for every rate column. At T-12 (24 months of history) the window holds no third year, so
  the trees are the recipe's whatever w is; the ranking and the top 1%'s calibration at T are
  what such a window would give.
- `recency`: besides the recipe's features, each theme's records over all the history there is
  (with its months of history), the count per year, and the crises the same way.
- `typed[:own|all]`: one model per crisis type (the agency that records it: health's emergency
  admissions, fire's dwelling fires, police's high-risk domestic abuse, social care's child
  protection plans and children looked after; sql/features/crises_by_type.sql), each the
  recipe's trees on its own 0/1 label at T-12 (cross-fitted, stopped by its own out-of-fold
  log-loss; sized by its own crises, or with `all` by every crisis as the recipe's are), the
  household's raw risk 1 - prod(1 - p_k) ("product") or the sum of the p_k ("sum"), then the
  recipe's calibration (the isotonic map fitted on the combined out-of-fold risk), scoring T.
- `poisson[:binary]`: the recipe's trees' settings with a Poisson loss on the count of crises
  in the 12 months after T-12 in place of the 0/1 label, cross-fitted on the recipe's folds,
  the count of iterations kept by the out-of-fold log-loss of 1 - exp(-mu) against the label
  (the recipe's rule) or by the Poisson deviance, then the recipe's calibration of
  1 - exp(-mu), scoring T. `binary`: the same loss on the 0/1 label (what the count adds, not
  the loss's shape).
- `blend`: the recipe's trees (label) and the Poisson trees (count), each alone and their
  log-odds averaged, each calibrated as the recipe is, scoring T.

The truth is read only to score (and as `ceiling`'s and `true_target`'s target, which is what
they measure); nothing here enters the product. Writes
benchmarks/results/quality-ceiling-<date>-<households>-seed<seed>[-realistic].json (runs of
more experiments on one world add up)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import expected_quality

# The large regression of `ceiling`: far more capacity than the recipe's trees, which a
# noise-free target can support.
BIG = {
    "max_iter": 300,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 50,
    "l2_regularization": 0.0,
}
# One capacity knob of the recipe's trees at a time (TrainParams fields).
KNOBS = {
    "leaves_31": {"max_leaf_nodes": 31, "crises_per_leaf": 0},
    "leaves_63": {"max_leaf_nodes": 63, "crises_per_leaf": 0, "min_samples_leaf": 100},
    "min_leaf_50": {"min_samples_leaf": 50, "crises_per_leaf": 0},
    "lr_0.1": {"learning_rate": 0.1},
    "iter_400": {"max_iter": 400},
    "lr_0.025_iter_400": {"learning_rate": 0.025, "max_iter": 400},
    "no_l2": {"l2_regularization": 0.0},
    "iter_300": {"max_iter": 300},
    "leaves_31_iter_300": {"max_leaf_nodes": 31, "crises_per_leaf": 0, "max_iter": 300},
    "max_features_0.3": {"max_features": 0.3, "max_iter": 300},
    "max_features_0.5": {"max_features": 0.5, "max_iter": 300},
    "no_monotone": {"monotone": False, "max_iter": 300},
    "l2_10": {"l2_regularization": 10.0, "max_iter": 300},
    "l2_30": {"l2_regularization": 30.0, "max_iter": 300},
    "l2_100": {"l2_regularization": 100.0, "max_iter": 300},
    "l2_300": {"l2_regularization": 300.0, "max_iter": 300},
    "min_leaf_500": {"min_samples_leaf": 500, "crises_per_leaf": 0, "max_iter": 300},
    "min_leaf_1000": {"min_samples_leaf": 1000, "crises_per_leaf": 0, "max_iter": 300},
    "leaves_31_l2_30_leaf_500": {
        "max_leaf_nodes": 31,
        "crises_per_leaf": 0,
        "l2_regularization": 30.0,
        "min_samples_leaf": 500,
        "max_iter": 300,
    },
    "leaves_7": {"max_leaf_nodes": 7, "crises_per_leaf": 0, "max_iter": 300},
    "leaves_4": {"max_leaf_nodes": 4, "crises_per_leaf": 0, "max_iter": 300},
    "leaves_2": {"max_leaf_nodes": 2, "crises_per_leaf": 0, "max_iter": 600},
    "seeds_3": {"tree_seeds": 3},
    "seeds_5": {"tree_seeds": 5},
}


def _truth_at(truth: Path, as_of: str, pids: pl.Series) -> np.ndarray:
    t = pl.read_parquet(truth / "households.parquet").filter(pl.col("as_of") == as_of)
    j = pl.DataFrame({"household_pid": pids}).join(
        t.select("household_pid", "p_crisis_12m"), on="household_pid", how="left"
    )
    return j["p_crisis_12m"].fill_null(0.0).to_numpy()


def _big_regression(X: np.ndarray, target: np.ndarray, monotone=None):
    from sklearn.ensemble import HistGradientBoostingRegressor

    # log-odds of the true probability: the top of the list spread out as a ranking needs
    p = np.clip(target, 1e-6, 1 - 1e-6)
    est = HistGradientBoostingRegressor(
        **BIG, early_stopping=False, random_state=0, monotonic_cst=monotone
    )
    return est.fit(X, np.log(p) - np.log1p(-p))


def _halves(pids: np.ndarray) -> np.ndarray:
    from hearth.modelling.training.sampling import household_folds

    return household_folds(pids, 2)


def _quality(truth: Path, frame: pl.DataFrame, scores: np.ndarray, as_of: str) -> dict:
    q = expected_quality(
        truth, frame.select("household_pid").with_columns(pl.Series("score", scores)), as_of
    )
    return {
        "precision_ratio_to_oracle": round(q["precision_ratio_to_oracle"], 4),
        "model_expected_precision": round(q["model_expected_precision"], 4),
        "oracle_expected_precision": round(q["oracle_expected_precision"], 4),
    }


def _recipe_trees(X, y, pids, names, params, rows=None):
    """The recipe's trees as the refit fits them (ranking only: the calibration keeps the
    order), sized to the crises they learn from."""
    from hearth.modelling.training.fit import raw_fits

    if rows is not None:
        X, y, pids = X[rows], y[rows], pids[rows]
    sized = params.sized(int(y.sum()), len(y))
    got = raw_fits(["gradient_boosting"], X, y, pids, names, sized, "crossfit")
    return got["gradient_boosting"].model, sized


def _recipe_regression(X, target, names, params, rows=None):
    """The recipe's trees' shape (sized to the crises the same households had), fitted on the
    true probability's log-odds, as many iterations as the recipe allows."""

    p = np.clip(target, 1e-6, 1 - 1e-6)
    z = np.log(p) - np.log1p(-p)
    if rows is not None:
        X, z = X[rows], z[rows]
    return _recipes_trees_as_regressor(params, names).fit(X, z)


def _recipes_trees_as_regressor(params, names: list[str], loss: str = "squared_error"):
    """The recipe's trees' settings (fit.py's make_estimator) with a regression's `loss`."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from hearth.modelling.training.fit import make_estimator

    trees = make_estimator("gradient_boosting", params, names).get_params()
    shared = HistGradientBoostingRegressor().get_params().keys() - {"loss", "scoring"}
    kept = {k: trees[k] for k in shared if k in trees}
    return HistGradientBoostingRegressor(loss=loss, **kept)


def _history_columns(frame: pl.DataFrame, cat, history: int) -> tuple[pl.DataFrame, list[str]]:
    """Each theme's records over all `history` months there is, per year of history (the
    3-year window is kept per 2 years over them: `rate_scale`)."""
    from hearth.features.windows import rate_scale

    exprs = []
    for f in cat.features:
        if f.kind == "count" and f.window == 36 and f.members:
            count = pl.col(f.name) / rate_scale(36, history)
            exprs.append((count * 12.0 / min(history, 36)).alias(f"{f.key}_per_year_all"))
    frame = frame.with_columns(exprs)
    return frame, [e.meta.output_name() for e in exprs]


def _third_year(raw: pl.DataFrame, name: str, history: int, w: float) -> pl.Series:
    """The 3-year rate `name` with its records 25-36 months old weighed by `w`, per 2 years of
    the months it weighs: (c24 + w c3) x 24 / (24 + w (h - 24)) with h months of history (up to
    36); the stored rate for w 1, the 2-year count for w 0, and the same number as stored at
    any date with 2 years of history or less."""
    from hearth.features.windows import RATE_PER, rate_scale

    months = min(history, 36)
    c36 = pl.Series(raw[name]) / rate_scale(36, history)
    c24 = pl.Series(raw[name.replace("_36m", f"_{RATE_PER}m")])
    third = (c36 - c24).clip(lower_bound=0)
    weighed = (c24 + w * third) * RATE_PER / (RATE_PER + w * max(0, months - RATE_PER))
    return weighed.cast(pl.Float32).alias(name)


def _crises_by_type(con, as_of: str, pids: np.ndarray) -> dict[str, np.ndarray]:
    """Each household's crises of each type (the agency that records them) in the 12 months from
    `as_of`, in the order of `pids`: sql/features/crises_by_type.sql."""
    from hearth.features.build import as_of_params
    from hearth.warehouse import query

    got = query(con, "features/crises_by_type", as_of_params(as_of)).pl()
    frame = pl.DataFrame({"household_pid": pids})
    out = {}
    for kind in sorted(got["crisis_type"].unique().to_list()):
        rows = got.filter(pl.col("crisis_type") == kind).select("household_pid", "crises")
        j = frame.join(rows, on="household_pid", how="left", maintain_order="left")
        out[kind] = j["crises"].fill_null(0).to_numpy().astype(np.int64)
    return out


def _either(ps: list[np.ndarray], how: str) -> np.ndarray:
    """The household's raw log-odds (before the calibration) from each crisis type's
    probability: "product", any of them, 1 - prod(1 - p_k); "sum", their sum's log (the same
    order for rare crises, what a sum of hazards says)."""
    p = np.clip(np.column_stack(ps).astype(np.float64), 1e-12, 1 - 1e-12)
    if how == "sum":
        return np.log(p.sum(axis=1))
    none = np.sum(np.log1p(-p), axis=1)  # log P(no crisis of any type)
    return np.log(-np.expm1(none)) - none


def _typed_fits(X, counts, y, pids, names, params, size_by: str) -> list:
    """The recipe's trees on each crisis type's own label (cross-fitted, stopped by their own
    out-of-fold log-loss as the refit is): a `RawFit` per type. `size_by` "own": each type's
    trees sized to its own crises; "all": to every crisis, as the recipe's trees are."""
    from hearth.modelling.training.fit import raw_fits

    fits = []
    for kind, c in counts.items():
        yk = (c > 0).astype(int)
        crises = int(yk.sum()) if size_by == "own" else int(y.sum())
        sized = params.sized(crises, len(yk))
        raw = raw_fits(["gradient_boosting"], X, yk, pids, names, sized, "crossfit")
        fits.append((kind, yk, sized, raw["gradient_boosting"]))
    return fits


def _poisson_fits(X, count, y, pids, names, params) -> dict:
    """The recipe's trees' settings with a Poisson loss on the count of crises in the 12 months,
    cross-fitted on the recipe's folds and sample: each fold model grown to `max_iter` on the
    other folds scores its own after every iteration; the count kept is the one with the lowest
    out-of-fold log-loss of 1 - exp(-mu) against the 0/1 label (the recipe's rule, "log_loss")
    or the lowest Poisson deviance of mu against the count ("deviance"). Returns, for each rule,
    (kept count, out-of-fold raw log-odds, the model fitted on every household cut to it)."""

    from hearth.modelling.training.fit import LOGIT_MAX
    from hearth.modelling.training.sampling import fitting_sample, household_folds
    from hearth.modelling.training.tree_seeds import cut
    from hearth.modelling.training.whole_rates import whole_rates

    sized = params.sized(int(y.sum()), len(y))

    def make():
        return _recipes_trees_as_regressor(sized, names, "poisson")

    folds = household_folds(pids, sized.crossfit_folds)
    sample = fitting_sample(pids, y, sized.max_negatives, np.ones(len(y), dtype=bool))
    rows = whole_rates(X.copy(), names)  # the trees' training rows, as fit_trees rounds them
    oof = np.zeros((len(y), sized.max_iter), dtype=np.float64)
    for f in np.unique(folds):
        held = folds == f
        m = make().fit(rows[sample & ~held], count[sample & ~held])
        for i, mu in enumerate(m.staged_predict(X[held])):
            oof[held, i] = mu
    judged = sample
    mu = np.clip(oof[judged], 1e-12, None)
    yj, cj = y[judged][:, None], count[judged][:, None]
    p_log = np.log(-np.expm1(-mu))  # log P(a crisis) = log(1 - exp(-mu))
    log_loss = np.sum(-yj * p_log + (1 - yj) * mu, axis=0)
    deviance = np.sum(mu - cj * np.log(mu), axis=0)
    final = make().fit(rows[sample], count[sample])
    out = {}
    for rule, loss in (("log_loss", log_loss), ("deviance", deviance)):
        best = int(np.argmin(loss)) + 1
        m = np.clip(oof[:, best - 1], 1e-12, None)
        z = np.clip(np.log(-np.expm1(-m)) + m, -LOGIT_MAX, LOGIT_MAX)
        out[rule] = (best, z, cut(final, best))
    return out | {"sized": sized}


def _mu_logit(model, X) -> np.ndarray:
    """log-odds of 1 - exp(-mu) for a Poisson model's mean count mu."""
    mu = np.clip(model.predict(X), 1e-12, None)
    return np.log(-np.expm1(-mu)) + mu


def run(work: Path, experiments: list[str]) -> list[dict]:
    from hearth.features.build import load_window
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import Design, cap_recency, recency_cap
    from hearth.features.windows import rate_scale
    from hearth.modelling.training.fit import inner_estimator
    from hearth.modelling.training.params import TrainParams
    from hearth.modelling.training.selection import labelled_window
    from hearth.warehouse import connect

    cat = load_catalogue()
    truth = work / "_truth"
    with connect(work / "bench.duckdb", read_only=True) as con:
        from hearth.features.design import history_months

        design = Design.for_run(con, None)
        h12 = history_months(con, design.valid_as_of)
        h0 = history_months(con, design.score_as_of)
        latest = labelled_window(con, design.valid_as_of, recency_cap(h12))
        raw_latest, _ = load_window(con, design.valid_as_of)
        score_raw, _ = load_window(con, design.score_as_of)
        if any(e.startswith(("typed", "poisson", "blend")) for e in experiments):
            by_type = _crises_by_type(con, design.valid_as_of, latest.frame["household_pid"])
    T, T12 = design.score_as_of, design.valid_as_of
    names = cat.usable_names(h12)
    cap = recency_cap(h12)
    score = cap_recency(score_raw, cap)
    X_T = score.select(names).to_numpy().astype(np.float32)
    X_12 = latest.X(names)
    y12, pids12 = latest.y, latest.pids
    p_T = _truth_at(truth, T, score["household_pid"])
    p_12 = _truth_at(truth, T12, latest.frame["household_pid"])
    params = TrainParams()
    out: list[dict] = []

    def record(row: dict) -> None:
        row = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
        print(json.dumps(row), flush=True)
        out.append(row)

    def ceiling(label: str, frame: pl.DataFrame, cols: list[str], as_of: str, p: np.ndarray):
        X = frame.select(cols).to_numpy().astype(np.float32)
        half = _halves(frame["household_pid"].to_numpy())
        s = np.zeros(len(p))
        t, cpu = time.perf_counter(), time.process_time()
        seen = {}
        for h in (0, 1):
            est = _big_regression(X[half != h], p[half != h])
            s[half == h] = est.predict(X[half == h])
            if h == 0:  # how well it fits what it saw (its own error at the top)
                seen = _quality(
                    truth,
                    frame.filter(pl.Series(half != h)),
                    est.predict(X[half != h]),
                    as_of,
                )
        record(
            {
                "experiment": label,
                "as_of": as_of,
                **_quality(truth, frame, s, as_of),
                "in_sample_ratio": seen["precision_ratio_to_oracle"],
                "features": len(cols),
                "households": len(p),
                "fit_seconds": time.perf_counter() - t,
                "fit_cpu_seconds": time.process_time() - cpu,
                "model": BIG,
            }
        )

    def calibrated(oof_logit: np.ndarray, logit_at_t: np.ndarray) -> dict:
        """The recipe's calibration (the isotonic map fitted on the training households'
        out-of-fold raw log-odds at T-12) applied to the raw log-odds at T: what `quality.py`
        reports of the scores (ranking against the oracle, the top 1%, the Brier score)."""
        from benchmarks.quality import calibration
        from hearth.modelling.training.fit import IsotonicCalibrated, isotonic_knots, min_block

        kx, ky = isotonic_knots(oof_logit, y12, min_block(len(y12)))
        s = IsotonicCalibrated(None, kx, ky).calibrate(logit_at_t)
        cal = calibration(
            truth, score.select("household_pid").with_columns(pl.Series("score", s)), T
        )
        return {
            **_quality(truth, score, s, T),
            "top_score_ratio_to_truth": cal["top_score_ratio_to_truth"],
            "brier_ratio_to_oracle": cal["brier_ratio_to_oracle"],
        }

    for exp in experiments:
        t, cpu = time.perf_counter(), time.process_time()
        if exp == "ceiling":
            ceiling("ceiling: the recipe's features, true target at T", score, names, T, p_T)
        elif exp == "ceiling_all":
            all_names = cat.usable_names(h0)
            frame = cap_recency(score_raw, recency_cap(h0))
            ceiling(
                "ceiling_all: every feature of T's history, true target", frame, all_names, T, p_T
            )
        elif exp == "ceiling_recency":
            frame, extra = _history_columns(cap_recency(score_raw, cap), cat, h0)
            ceiling(
                "ceiling_recency: the recipe's features and each theme per year of all history",
                frame,
                names + extra,
                T,
                p_T,
            )
        elif exp == "true_target":
            est = _big_regression(X_12, p_12)
            record(
                {
                    "experiment": "true_target: the large regression on the true p at T-12",
                    **_quality(truth, score, est.predict(X_T), T),
                    "fit_cpu_seconds": time.process_time() - cpu,
                }
            )
            sized = params.sized(int(y12.sum()), len(y12))
            est = _recipe_regression(X_12, p_12, names, sized)
            record(
                {
                    "experiment": "true_target: the recipe's trees (monotone, sized, 150 "
                    "iterations) on the true p at T-12",
                    **_quality(truth, score, est.predict(X_T), T),
                    "tree_leaves": sized.max_leaf_nodes,
                    "fit_cpu_seconds": time.process_time() - cpu,
                }
            )
        elif exp == "labels":
            est, sized = _recipe_trees(X_12, y12, pids12, names, params)
            record(
                {
                    "experiment": "labels: the recipe's trees on the crises after T-12",
                    **_quality(truth, score, est.predict_proba(X_T)[:, 1], T),
                    "tree_leaves": sized.max_leaf_nodes,
                    "boosting_iterations": int(est.n_iter_),
                    "fit_cpu_seconds": time.process_time() - cpu,
                }
            )
        elif exp == "curve":
            from hearth.modelling.training.sampling import household_folds

            quarter = household_folds(pids12, 4)
            for share, rows in (
                (0.25, quarter == 0),
                (0.5, quarter <= 1),
            ):
                cpu = time.process_time()
                est, sized = _recipe_trees(X_12, y12, pids12, names, params, rows)
                record(
                    {
                        "experiment": f"curve: labels, {share:.0%} of the training households",
                        **_quality(truth, score, est.predict_proba(X_T)[:, 1], T),
                        "crises_in_training": int(y12[rows].sum()),
                        "tree_leaves": sized.max_leaf_nodes,
                        "boosting_iterations": int(est.n_iter_),
                        "fit_cpu_seconds": time.process_time() - cpu,
                    }
                )
                reg = _recipe_regression(X_12, p_12, names, sized, rows)
                record(
                    {
                        "experiment": f"curve: true target, {share:.0%} of the training "
                        "households (the recipe's trees, sized as with labels)",
                        **_quality(truth, score, reg.predict(X_T), T),
                    }
                )
        elif exp.startswith("knob:"):
            knob = exp.split(":", 1)[1]
            changed = replace(params, **KNOBS[knob])
            est, sized = _recipe_trees(X_12, y12, pids12, names, changed)
            record(
                {
                    "experiment": f"knob {knob}: {KNOBS[knob]}",
                    **_quality(truth, score, est.predict_proba(X_T)[:, 1], T),
                    "tree_leaves": sized.max_leaf_nodes,
                    "min_samples_leaf": sized.min_samples_leaf,
                    "boosting_iterations": int(est.n_iter_),
                    "fit_cpu_seconds": time.process_time() - cpu,
                }
            )
        elif exp.startswith("recipe:"):
            # the refit as the recipe makes it (`fit_candidate` at T-12: the trees cross-fitted,
            # stopped and calibrated) with a knob changed ("base": none): the ranking and the
            # top 1%'s calibration `benchmarks/quality.py` reports when the trees publish
            from benchmarks.quality import calibration
            from hearth.modelling.training.fit import fit_candidate
            from hearth.modelling.training.tree_seeds import iterations

            knob = exp.split(":", 1)[1]
            changed = replace(params, **KNOBS.get(knob, {}))
            sized = changed.sized(int(y12.sum()), len(y12))
            model = fit_candidate("gradient_boosting", X_12, y12, pids12, names, sized)
            fit_cpu = time.process_time() - cpu
            s = model.predict_proba(X_T)[:, 1]
            cal = calibration(
                truth, score.select("household_pid").with_columns(pl.Series("score", s)), T
            )
            record(
                {
                    "experiment": f"recipe {knob}: {KNOBS.get(knob, {})} the refit at T-12 as "
                    "the recipe fits it (cross-fitted, stopped, calibrated), scoring T",
                    **_quality(truth, score, s, T),
                    "top_score_ratio_to_truth": cal["top_score_ratio_to_truth"],
                    "brier_ratio_to_oracle": cal["brier_ratio_to_oracle"],
                    "boosting_iterations": iterations(inner_estimator(model)),
                    "tree_seeds": sized.tree_seeds,
                    "fit_cpu_seconds": fit_cpu,
                }
            )
        elif exp.startswith("typed"):
            # one model per crisis type, each the recipe's trees on its own label, the
            # household's risk any of them (1 - prod(1 - p_k)) or their sum, then the recipe's
            # calibration (the isotonic map on the out-of-fold combined log-odds), scoring T
            from hearth.modelling.training.fit import raw_logit

            size_by = exp.split(":", 1)[1] if ":" in exp else "own"
            either = np.column_stack(list(by_type.values())).sum(axis=1) > 0
            if not np.array_equal(either.astype(int), y12):
                raise SystemExit("The crises by type do not add up to the labels at T-12.")
            fits = _typed_fits(X_12, by_type, y12, pids12, names, params, size_by)
            fit_cpu = time.process_time() - cpu
            at_t = [1 / (1 + np.exp(-raw_logit(raw.model, X_T))) for _, _, _, raw in fits]
            oof = [1 / (1 + np.exp(-raw.logit)) for _, _, _, raw in fits]
            for how in ("product", "sum"):
                record(
                    {
                        "experiment": f"typed ({how}, trees sized by {size_by} crises): the "
                        "recipe's trees on each crisis type's label at T-12, the household's "
                        "risk from theirs, the recipe's calibration, scoring T",
                        **calibrated(_either(oof, how), _either(at_t, how)),
                        "types": {
                            kind: {
                                "crises": int(yk.sum()),
                                "tree_leaves": sized.max_leaf_nodes,
                                "boosting_iterations": int(raw.model.n_iter_),
                                "alone": _quality(truth, score, at_t[i], T)[
                                    "precision_ratio_to_oracle"
                                ],
                            }
                            for i, (kind, yk, sized, raw) in enumerate(fits)
                        },
                        "fit_cpu_seconds": fit_cpu,
                    }
                )
        elif exp in ("poisson", "poisson:binary"):
            # the count of crises in the 12 months (Poisson loss) in place of the 0/1 label,
            # 1 - exp(-mu) before the recipe's calibration, scoring T ("poisson:binary": the
            # same loss on the 0/1 label, to tell the count's information from the loss's shape)
            count = np.column_stack(list(by_type.values())).sum(axis=1)
            if not np.array_equal((count > 0).astype(int), y12):
                raise SystemExit("The crises counted do not add up to the labels at T-12.")
            target = "0/1 label" if exp == "poisson:binary" else "count of crises"
            if exp == "poisson:binary":
                count = y12.astype(np.int64)
            got = _poisson_fits(X_12, count, y12, pids12, names, params)
            fit_cpu = time.process_time() - cpu
            for rule in ("log_loss", "deviance"):
                best, z, model = got[rule]
                record(
                    {
                        "experiment": f"poisson (stopped by {rule}): the recipe's trees with a "
                        f"Poisson loss on the {target} after T-12, 1 - exp(-mu), the "
                        "recipe's calibration, scoring T",
                        **calibrated(z, _mu_logit(model, X_T)),
                        "boosting_iterations": best,
                        "crises": int(count.sum()),
                        "households_with_crises": int(y12.sum()),
                        "tree_leaves": got["sized"].max_leaf_nodes,
                        "fit_cpu_seconds": fit_cpu,
                    }
                )
        elif exp == "blend":
            # the recipe's trees on the 0/1 label and the Poisson trees on the count, their
            # log-odds averaged (as the ensemble averages its members), out of fold for the
            # recipe's calibration and at T: is the count's information beside the label's?
            from hearth.modelling.training.fit import raw_fits, raw_logit

            count = np.column_stack(list(by_type.values())).sum(axis=1)
            sized = params.sized(int(y12.sum()), len(y12))
            raw = raw_fits(["gradient_boosting"], X_12, y12, pids12, names, sized, "crossfit")
            raw = raw["gradient_boosting"]
            best, z, model = _poisson_fits(X_12, count, y12, pids12, names, params)["log_loss"]
            fit_cpu = time.process_time() - cpu
            trees_t, counts_t = raw_logit(raw.model, X_T), _mu_logit(model, X_T)
            for label, oof, at_t in (
                ("the recipe's trees alone", raw.logit, trees_t),
                ("the Poisson trees alone", z, counts_t),
                ("their log-odds averaged", (raw.logit + z) / 2, (trees_t + counts_t) / 2),
            ):
                record(
                    {
                        "experiment": f"blend ({label}): the recipe's trees on the 0/1 label and "
                        "the Poisson trees on the count of crises after T-12, the recipe's "
                        "calibration, scoring T",
                        **calibrated(oof, at_t),
                        "boosting_iterations": [int(raw.model.n_iter_), best],
                        "fit_cpu_seconds": fit_cpu,
                    }
                )
        elif exp.startswith("staged:"):
            # one fit of the recipe's trees (a knob changed, or "base"), ranked at T after each
            # number of iterations: the curve the out-of-fold stopping picks a point of
            knob = exp.split(":", 1)[1]
            changed = replace(params, **KNOBS.get(knob, {}))
            sized = changed.sized(int(y12.sum()), len(y12))
            from hearth.modelling.training.fit import make_estimator

            est = make_estimator("gradient_boosting", sized, names)
            est.fit(X_12, y12)
            curve = {}
            for i, s in enumerate(est.staged_predict_proba(X_T), start=1):
                if i % 25 == 0 or i == est.n_iter_ or (i < 50 and i % 5 == 0):
                    curve[i] = _quality(truth, score, s[:, 1], T)["precision_ratio_to_oracle"]
            record(
                {
                    "experiment": f"staged {knob}: {KNOBS.get(knob, {})} one fit on every "
                    "household at T-12, the ratio at T after each 25 iterations",
                    "ratio_by_iterations": curve,
                    "tree_leaves": sized.max_leaf_nodes,
                    "min_samples_leaf": sized.min_samples_leaf,
                    "fit_cpu_seconds": time.process_time() - cpu,
                }
            )
        elif exp.startswith("seeds:"):
            # k fits of the recipe's trees on every household at T-12 that differ only in
            # their random state (which half of the features each split may read), the ratio
            # at T of each and of the log-odds average of the first m, after each count of
            # iterations: what averaging seeds is worth against one fit's noise
            k = int(exp.split(":", 1)[1])
            sized = params.sized(int(y12.sum()), len(y12))
            from hearth.modelling.training.fit import make_estimator
            from hearth.modelling.training.whole_rates import whole_rates

            rows = whole_rates(X_12.copy(), names)
            counts = [c for c in range(5, sized.max_iter + 1, 5) if c >= 50 or c % 25 == 0]
            total: dict[int, np.ndarray] = {}
            for s in range(k):
                cpu = time.process_time()
                est = make_estimator("gradient_boosting", replace(sized, seed=s), names)
                est.fit(rows, y12)
                fit_cpu = time.process_time() - cpu
                own, mean = {}, {}
                for i, z in enumerate(est.staged_decision_function(X_T), start=1):
                    if i in counts:
                        total[i] = total.get(i, 0.0) + z.astype(np.float64)
                        own[i] = _quality(truth, score, z, T)["precision_ratio_to_oracle"]
                        if s:
                            got = _quality(truth, score, total[i] / (s + 1), T)
                            mean[i] = got["precision_ratio_to_oracle"]
                record(
                    {
                        "experiment": f"seeds: the recipe's trees (random state {s}) on every "
                        "household at T-12, the ratio at T after each count of iterations; "
                        f"and the log-odds average of random states 0-{s}",
                        "ratio_by_iterations": own,
                        "average_ratio_by_iterations": mean,
                        "random_state": s,
                        "tree_leaves": sized.max_leaf_nodes,
                        "max_features": sized.max_features,
                        "fit_cpu_seconds": fit_cpu,
                    }
                )
        elif exp == "stretch":
            # the recipe's trees as fitted at T-12 (24 months of history: the longest window
            # is all of it), scoring T with the longest window read as all T's history
            est, sized = _recipe_trees(X_12, y12, pids12, names, params)
            longest = max(w for w in cat.windows if w <= h12)
            for how in ("as the recipe", "all", "all per longest", "all, recency"):
                frame = score
                if how != "as the recipe":
                    swap = []
                    for n in names:
                        f = cat.by_name(n)
                        if f.kind == "count" and f.window == longest:
                            # the 3-year window is kept per 2 years (`rate_scale`): its count
                            full = pl.col(n.replace(f"_{longest}m", f"_{max(cat.windows)}m"))
                            full = full / rate_scale(max(cat.windows), h0)
                            scale = longest / h0 if how == "all per longest" else 1.0
                            swap.append((full * scale).alias(n))
                    if how == "all, recency":
                        for n in names:
                            if cat.by_name(n).kind == "recency":
                                raw = score_raw[n]
                                swap.append(
                                    pl.when(pl.Series(raw <= h0))
                                    .then(pl.col(n).clip(upper_bound=cap))
                                    .otherwise(pl.col(n))
                                    .alias(n)
                                )
                    frame = score.with_columns(swap)
                s = est.predict_proba(frame.select(names).to_numpy().astype(np.float32))[:, 1]
                record(
                    {
                        "experiment": f"stretch ({how}): the recipe's trees on the crises after "
                        "T-12, the longest window at T read over all T's history",
                        **_quality(truth, score, s, T),
                        "boosting_iterations": int(est.n_iter_),
                        "fit_cpu_seconds": time.process_time() - cpu,
                    }
                )
        elif exp == "third_year":
            from benchmarks.quality import calibration
            from hearth.modelling.training.fit import fit_candidate
            from hearth.modelling.training.whole_rates import rate_columns

            sized = params.sized(int(y12.sum()), len(y12))
            model = fit_candidate("gradient_boosting", X_12, y12, pids12, names, sized)
            rates = [names[i] for i in rate_columns(names)]
            for scope, cols in (("crises", ["crisis_records_36m"]), ("every rate", rates)):
                for w in (1.0, 0.75, 0.5, 0.25, 0.0):
                    if w == 1.0 and scope != "crises":
                        continue  # the recipe's reading, recorded once
                    frame = score.with_columns(_third_year(score_raw, c, h0, w) for c in cols)
                    s = model.predict_proba(frame.select(names).to_numpy().astype(np.float32))
                    got = score.select("household_pid").with_columns(pl.Series("score", s[:, 1]))
                    cal = calibration(truth, got, T)
                    record(
                        {
                            "experiment": f"third_year ({scope}, w {w}): the recipe's calibrated "
                            "trees, the 3-year rate at T weighing its third year by w",
                            **_quality(truth, score, s[:, 1], T),
                            "top_score_ratio_to_truth": cal["top_score_ratio_to_truth"],
                            "bands_score_to_truth": cal["bands_score_to_truth"],
                            "brier_ratio_to_oracle": cal["brier_ratio_to_oracle"],
                            "boosting_iterations": int(inner_estimator(model).n_iter_),
                            "fit_cpu_seconds": time.process_time() - cpu,
                        }
                    )
        elif exp == "recency":
            f12, extra = _history_columns(cap_recency(raw_latest, cap), cat, h12)
            fT, _ = _history_columns(score, cat, h0)
            cols = names + extra
            Xa = f12.select(cols).to_numpy().astype(np.float32)
            est, sized = _recipe_trees(Xa, y12, pids12, cols, params)
            s = est.predict_proba(fT.select(cols).to_numpy().astype(np.float32))[:, 1]
            record(
                {
                    "experiment": "recency: labels, the recipe's features and each theme per "
                    "year of all the history there is",
                    **_quality(truth, score, s, T),
                    "boosting_iterations": int(est.n_iter_),
                    "fit_cpu_seconds": time.process_time() - cpu,
                }
            )
        else:
            raise SystemExit(f"Unknown experiment {exp!r}.")
        print(f"  ({exp}: {time.perf_counter() - t:.0f} s)", flush=True)
    return out


def main() -> None:
    from benchmarks.quality_variants import bench_main

    bench_main(__doc__, 100_000, 241, "experiments", "ceiling,ceiling_all,true_target,labels", run)


if __name__ == "__main__":
    main()
