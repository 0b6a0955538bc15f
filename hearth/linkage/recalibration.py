"""Recalibrating splink's probabilities, and measuring the linkage, on the records that carry
an exact key as well as tokens: their exact key says which candidate is right, for free.

splink's raw match probability is over-confident in the middle of its range, and the
probabilities of one record's candidates can sum past 1. The best candidate and the runners-up
are recalibrated **separately**, each by isotonic regression of "this candidate is the record's
person" on splink's match weight (the raw probability's log-odds), read on the straight line
between the fit's points (beyond its ends, the end's value): each block of the fit gives its
rate at both ends of its labels' span where that rate is known within `KNOWN_WITHIN`, and at
its centre only where it is not (`fit_points`). Dividing a record's probabilities by their sum
is not done: it made calibration worse where it was measured (issue 25).

Read as steps (a weight takes the value of the last point at or below it), the fit under-stated
every value between two points, and where labels are thin (the middle of the range rests on the
26-33 wrong best candidates among about 30,000 labelled ones at 100,000 households) the points
are far apart. With m estimated for each source's own recording (splink_model.py) and this
reading, every tenth of the kept 100,000-household worlds meets issue 25's target as the
benchmark judges it (hearth/linkage/README.md; docs/performance.md,
benchmarks/link_calibration.py, which also measures the rules tried and not kept).

The calibration table "after" is measured out of fold (two halves by a hash of the record, each
recalibrated by a fit on the other), so it does not grade the fit on its own data.
"""

from __future__ import annotations

import numpy as np
import polars as pl

WHICH = ("best", "runner_up")
MIN_LABELS = 30  # fewer labelled candidates than this and the raw probability is kept
THRESHOLDS = (0.5, 0.9, 0.99)
TENTHS = 10
# a block of the fit whose rate is known to within this (95%) is read flat across its labels;
# one known less well is read at its centre (fit_points). Issue 25's calibration target.
KNOWN_WITHIN = 0.05
POINT_SCHEMA = {"which": pl.String, "calibrated_from": pl.Float64, "calibrated": pl.Float64}


def fit_points(score: np.ndarray, label: np.ndarray) -> list[tuple[float, float]]:
    """An isotonic fit of label on score, as its points (score, calibrated); between two points
    a score is read on the straight line joining them, beyond the first and last it takes
    their value.

    Each block of the fit (labels pooled to one rate) gives its rate at both ends of its
    labels' span where that rate is known to within `KNOWN_WITHIN` (its Wilson 95% interval no
    wider than twice that), and only at its centre (the mean score of its labels) where it is
    not. Where labels are thin a block of a few labels spans a wide stretch of scores: read
    flat across it, it gave one rate to every candidate there (on a 100,000-household world
    26 keyless best candidates at 0.5, of whom 77% were right, beside a block at 0.93), so such
    a block is read at its centre, the line climbing from one block to the next (centred
    isotonic regression, Oron and Flournoy 2017). A block of hundreds of labels is read flat
    to its ends: read at its centre only, the line to a small block beyond it crossed hundreds
    of runners-up whose rate the big block had already measured (97 runners-up read at 0.15
    when 2% were right)."""
    from scipy.stats import binomtest  # scipy
    from sklearn.isotonic import IsotonicRegression  # sklearn

    order = np.argsort(score, kind="stable")
    x, y = np.asarray(score, dtype=float)[order], np.asarray(label, dtype=float)[order]
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(x, y).predict(x)
    starts = np.r_[0, np.flatnonzero(np.diff(fitted) != 0) + 1]
    points: list[tuple[float, float]] = []
    for a, b in zip(starts, np.r_[starts[1:], x.size], strict=True):
        rate = float(fitted[a])
        ci = binomtest(int(y[a:b].sum()), int(b - a)).proportion_ci(method="wilson")
        if ci.high - ci.low <= 2 * KNOWN_WITHIN:
            points += [(float(x[a]), rate), (float(x[b - 1]), rate)]
        else:
            points.append((float(x[a:b].mean()), rate))
    # a block of labels all at one score gives that score once
    return [p for i, p in enumerate(points) if i == 0 or p[0] > points[i - 1][0]]


def apply_points(score: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    """The fit read at each score: on the line between points, the end's value beyond them
    (one point: its value everywhere)."""
    if not points:
        return score
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    return np.interp(score, xs, ys)


def _labelled(candidates: pl.DataFrame, which: str) -> pl.DataFrame:
    best = pl.col("rank") == 1
    return candidates.filter(
        pl.col("person_label").is_not_null() & (best if which == "best" else ~best)
    )


def _fit_group(part: pl.DataFrame) -> list[tuple[float, float]]:
    return fit_points(part["weight"].to_numpy(), part["person_label"].to_numpy())


def fit(candidates: pl.DataFrame) -> pl.DataFrame:
    """The isotonic points on the match weight for best candidates and runners-up (table
    link_calibration: which, calibrated_from, calibrated); a group with too few labels gets
    none (its raw probability is kept)."""
    rows = []
    for which in WHICH:
        part = _labelled(candidates, which)
        if part.height < MIN_LABELS:
            continue
        rows += [
            {"which": which, "calibrated_from": x, "calibrated": y} for x, y in _fit_group(part)
        ]
    return pl.DataFrame(rows, schema=POINT_SCHEMA)


def recalibrated(candidates: pl.DataFrame, points: pl.DataFrame) -> np.ndarray:
    """Each candidate's recalibrated probability under a fit (what sql/linkage/token_links.sql
    computes in the warehouse): a group without a fit keeps its raw probability."""
    out = candidates["raw_probability"].to_numpy().astype(float).copy()
    is_best = (candidates["rank"] == 1).to_numpy()
    weight = candidates["weight"].to_numpy().astype(float)
    for which in WHICH:
        pts = points.filter(pl.col("which") == which).sort("calibrated_from")
        if pts.height == 0:
            continue
        sel = is_best if which == "best" else ~is_best
        out[sel] = apply_points(
            weight[sel], list(zip(pts["calibrated_from"], pts["calibrated"], strict=True))
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
    fold)."""
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
        weight = part["weight"].to_numpy()
        for k in (0, 1):
            pts = _fit_group(part.filter(pl.Series(fold != k)))
            after[fold == k] = apply_points(weight[fold == k], pts)
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
