"""Recalibrating splink's probabilities, and measuring the linkage, on the records that carry
an exact key as well as tokens: their exact key says which candidate is right, for free.

splink's raw match probability is over-confident in the middle of its range, and the
probabilities of one record's candidates can sum past 1. The best candidate and the runners-up
are recalibrated **separately**. Dividing a record's probabilities by their sum is not done: it
made calibration worse where it was measured (issue 25).

Each group's fit is a score, then an isotonic regression of "this candidate is the record's
person" on the score, read between its points by straight lines (never as steps):

- runners-up: the score is splink's match weight (a monotone transform of the raw probability);
- best candidates: the score is a logistic regression's log-odds on the match weight, the
  margin over the record's runner-up (the weight's lead, capped at `MARGIN_CAP`, 0 when there is
  none) and whether there is no runner-up (`alone`). A best candidate far ahead of the next is
  right more often than one with the same weight beside a close second; on the kept
  100,000-household worlds this cut the Brier score of keyless records' best links by 10-30%
  against isotonic on the raw probability alone (docs/performance.md).

Isotonic steps read as steps (a raw value takes the last point at or below it) under-stated
every value between two points, and where labels are thin the points are far apart: the
measured gap in the middle tenths was up to twice that of the same fit read between points.

The calibration table "after" is measured out of fold (two halves by a hash of the record, each
recalibrated by a fit on the other), so it does not grade the fit on its own data.
"""

from __future__ import annotations

import numpy as np
import polars as pl

WHICH = ("best", "runner_up")
MIN_LABELS = 30  # fewer labelled candidates than this and the raw probability is kept
MIN_WRONG = 10  # fewer wrong (or right) best candidates than this: the score is the weight alone
MARGIN_CAP = 30.0  # a lead of 30 in match weight is as decisive as any larger one
THRESHOLDS = (0.5, 0.9, 0.99)
TENTHS = 10
FEATURES = ("weight", "margin", "alone")
SCORE_SCHEMA = {"which": pl.String, **{f"coef_{f}": pl.Float64 for f in ("intercept", *FEATURES)}}
STEP_SCHEMA = {"which": pl.String, "calibrated_from": pl.Float64, "calibrated": pl.Float64}


def with_features(candidates: pl.DataFrame) -> pl.DataFrame:
    """The candidates with what the score reads: `margin` (a candidate's weight less the next
    candidate's of the same record, capped at MARGIN_CAP; 0 for the last) and `alone` (1 when
    the record has no other candidate), sorted by record and rank. Mirrors
    sql/linkage/token_links.sql."""
    nxt = pl.col("weight").shift(-1).over("source", "record_id")
    return candidates.sort("source", "record_id", "rank").with_columns(
        margin=pl.when(nxt.is_null())
        .then(0.0)
        .otherwise(pl.min_horizontal(pl.col("weight") - nxt, pl.lit(MARGIN_CAP))),
        alone=(pl.col("rank").max().over("source", "record_id") == 1).cast(pl.Float64),
    )


def fit_points(score: np.ndarray, label: np.ndarray) -> list[tuple[float, float]]:
    """An isotonic fit of label on score, as its points (score, calibrated): between two points
    a score is read on the straight line joining them, beyond the ends it takes the end's value
    (sklearn's IsotonicRegression.predict)."""
    from sklearn.isotonic import IsotonicRegression  # sklearn

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(score, label.astype(float))
    return [(float(x), float(y)) for x, y in zip(iso.X_thresholds_, iso.y_thresholds_, strict=True)]


def apply_points(score: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    if not points:
        return score
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    return np.interp(score, xs, ys)


def fit_score(part: pl.DataFrame, which: str) -> dict[str, float]:
    """The score's coefficients for one group: log-odds of a logistic regression on FEATURES
    for best candidates with enough right and wrong labels, else the match weight itself."""
    coefs = {"coef_intercept": 0.0, "coef_weight": 1.0, "coef_margin": 0.0, "coef_alone": 0.0}
    y = part["person_label"].to_numpy().astype(int)
    if which != "best" or min(int(y.sum()), int(len(y) - y.sum())) < MIN_WRONG:
        return coefs
    from sklearn.linear_model import LogisticRegression  # sklearn

    x = part.select(FEATURES).to_numpy().astype(float)
    model = LogisticRegression(C=1.0, max_iter=5000).fit(x, y)
    coefs["coef_intercept"] = float(model.intercept_[0])
    for f, c in zip(FEATURES, model.coef_[0], strict=True):
        coefs[f"coef_{f}"] = float(c)
    return coefs


def score(frame: pl.DataFrame, coefs: dict[str, float]) -> np.ndarray:
    s = np.full(frame.height, coefs["coef_intercept"])
    for f in FEATURES:
        s += coefs[f"coef_{f}"] * frame[f].to_numpy().astype(float)
    return s


def _labelled(candidates: pl.DataFrame, which: str) -> pl.DataFrame:
    best = pl.col("rank") == 1
    return candidates.filter(
        pl.col("person_label").is_not_null() & (best if which == "best" else ~best)
    )


def _fit_group(part: pl.DataFrame, which: str) -> tuple[dict[str, float], list]:
    coefs = fit_score(part, which)
    return coefs, fit_points(score(part, coefs), part["person_label"].to_numpy())


def fit(candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per group with enough labels: the score's coefficients (table link_calibration_score)
    and the isotonic points on the score (table link_calibration: which, calibrated_from,
    calibrated); a group with too few labels gets neither (its raw probability is kept).
    `candidates` as with_features gives them."""
    scores, points = [], []
    for which in WHICH:
        part = _labelled(candidates, which)
        if part.height < MIN_LABELS:
            continue
        coefs, pts = _fit_group(part, which)
        scores.append({"which": which, **coefs})
        points += [{"which": which, "calibrated_from": x, "calibrated": y} for x, y in pts]
    return pl.DataFrame(scores, schema=SCORE_SCHEMA), pl.DataFrame(points, schema=STEP_SCHEMA)


def recalibrated(
    candidates: pl.DataFrame, scores: pl.DataFrame, points: pl.DataFrame
) -> np.ndarray:
    """Each candidate's recalibrated probability under a fit (what sql/linkage/token_links.sql
    computes in the warehouse): a group without a fit keeps its raw probability."""
    out = candidates["raw_probability"].to_numpy().astype(float).copy()
    is_best = (candidates["rank"] == 1).to_numpy()
    for which in WHICH:
        row = scores.filter(pl.col("which") == which)
        if row.height == 0:
            continue
        sel = is_best if which == "best" else ~is_best
        pts = points.filter(pl.col("which") == which).sort("calibrated_from")
        out[sel] = apply_points(
            score(candidates.filter(pl.Series(sel)), row.row(0, named=True)),
            list(zip(pts["calibrated_from"], pts["calibrated"], strict=True)),
        )
    return out


def _table(p: np.ndarray, y: np.ndarray) -> list[dict[str, object]]:
    """Per tenth of the probability range: candidates, mean probability, observed rate."""
    out = []
    tenth = np.minimum((p * TENTHS).astype(int), TENTHS - 1)
    for t in range(TENTHS):
        sel = tenth == t
        n = int(sel.sum())
        out.append(
            {
                "tenth": f"{t / TENTHS:.1f}-{(t + 1) / TENTHS:.1f}",
                "candidates": n,
                "mean_probability": round(float(p[sel].mean()), 4) if n else None,
                "observed_rate": round(float(y[sel].mean()), 4) if n else None,
            }
        )
    return out


def _error(table: list[dict[str, object]]) -> float | None:
    """The largest gap between mean probability and observed rate over tenths with 20 or
    more candidates (fewer say little)."""
    gaps = [
        abs(r["mean_probability"] - r["observed_rate"])  # type: ignore[operator]
        for r in table
        if r["candidates"] >= 20  # type: ignore[operator]
    ]
    return round(max(gaps), 4) if gaps else None


def calibration_tables(candidates: pl.DataFrame) -> dict[str, object]:
    """Before and after recalibration, per group, on labelled candidates (after: out of
    fold). `candidates` as with_features gives them."""
    out: dict[str, object] = {}
    for which in WHICH:
        part = _labelled(candidates, which)
        if part.height < 2 * MIN_LABELS:
            out[which] = {"labelled": part.height, "note": "too few labelled candidates"}
            continue
        raw = part["raw_probability"].to_numpy()
        y = part["person_label"].to_numpy().astype(float)
        fold = (part["record_id"].hash(7) % 2).to_numpy()
        after = np.empty_like(raw)
        for k in (0, 1):
            coefs, pts = _fit_group(part.filter(pl.Series(fold != k)), which)
            held = part.filter(pl.Series(fold == k))
            after[fold == k] = apply_points(score(held, coefs), pts)
        before_t, after_t = _table(raw, y), _table(after, y)
        out[which] = {
            "labelled": part.height,
            "before": before_t,
            "after": after_t,
            "max_error_before": _error(before_t),
            "max_error_after": _error(after_t),
        }
    return out


def precision_recall(best: pl.DataFrame, labelled: pl.DataFrame) -> dict[str, object]:
    """Per source, on the records whose exact key says who (person) or where (household) they
    are: best-link precision and recall at each threshold of link_probability. `best` holds
    rank-1 candidates; `labelled` every labelled record (those with no candidate at all are
    misses)."""
    out: dict[str, object] = {}
    for source in labelled["source"].unique().sort().to_list():
        rec = labelled.filter(pl.col("source") == source)
        b = best.filter(pl.col("source") == source)
        entry: dict[str, object] = {}
        for level, key, label in (
            ("person", "key_person", "person_label"),
            ("household", "key_household", "household_label"),
        ):
            n = rec.filter(pl.col(key).is_not_null()).height
            lab = b.filter(pl.col(label).is_not_null())
            if n == 0:
                continue
            per: dict[str, object] = {"labelled_records": n}
            for t in THRESHOLDS:
                linked = lab.filter(pl.col("link_probability") >= t)
                right = int(linked[label].sum())
                per[f"at_{t}"] = {
                    "precision": round(right / linked.height, 4) if linked.height else None,
                    "recall": round(right / n, 4),
                    "linked": linked.height,
                }
            entry[level] = per
        out[source] = entry
    return out


def cluster_sizes(best: pl.DataFrame, floor: float) -> dict[str, object]:
    """How many token-linked records each register person gathered (records without an exact
    key, linked at `floor` or above): a sudden change in the spread is drift to watch."""
    linked = best.filter(pl.col("needs_link") & (pl.col("link_probability") >= floor))
    sizes = linked.group_by("person_pid").len()["len"]
    if sizes.len() == 0:
        return {"people": 0}
    return {
        "people": sizes.len(),
        "mean": round(float(sizes.mean()), 3),  # type: ignore[arg-type]
        "p99": int(sizes.quantile(0.99) or 0),
        "max": int(sizes.max()),  # type: ignore[arg-type]
        "histogram": {
            label: int(((sizes >= lo) & (sizes <= hi)).sum())
            for label, lo, hi in (("1", 1, 1), ("2-4", 2, 4), ("5-9", 5, 9), ("10+", 10, 10**9))
        },
    }
