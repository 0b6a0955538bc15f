"""For whom the list works less well: capacity metrics by group, each with its 95% interval and
the count behind it.

The list is cut once for everyone (the top 5% of households overall, as agencies would use
it); then within each group we ask what share of its households that had a crisis were on the
list (recall, "found", out of its crises) and what share of its listed households had one
(precision, out of its listed households). Each share carries a 95% Wilson score interval.

The rule, the same in the model card, MLflow and the report (`RULE`):
- a group with fewer than `MIN_CRISES` crises is "too few to judge": no ratio, no flag;
- the best-served group is the judged group with the highest recall;
- each group's recall is divided by the best-served group's, and that ratio carries a 95%
  interval built from the two Wilson intervals (the MOVER method of Donner and Zou, 2012:
  `ratio_interval`);
- a group is flagged only when the gap is clear of its interval: the top of the ratio's
  interval is below `FLAG_BELOW` (four fifths). A group whose ratio is below four fifths but
  whose interval reaches it is "no clear gap": the data cannot tell it from chance."""

from __future__ import annotations

import math
import re

import numpy as np
import polars as pl

from hearth.modelling.evaluation.metrics import k_for, top_k_mask

FLAG_BELOW = 0.8
MIN_CRISES = 20
Z95 = 1.959963984540054  # the 97.5th centile of the standard normal
SHARE = 0.05

RULE = (
    f"The list is cut once for everyone at {SHARE:.0%} of households. Each group's recall (the "
    "share of its crises that were on the list) and precision (the share of its listed "
    "households that had a crisis) carry a 95% Wilson interval and the count behind them. A "
    f"group with fewer than {MIN_CRISES} crises is too few to judge. Each judged group's "
    "recall is compared with the best-served group's as a ratio with its own 95% interval; a "
    f"group is flagged only when the whole interval is below {FLAG_BELOW:.2f} (four fifths): a "
    "gap clear of chance, not just a lower point estimate."
)
QUINTILE_NOTE = (
    "Deprivation is the Index of Multiple Deprivation of the household's area: the most "
    "deprived fifth is IMD deciles 1 and 2 (quintile 1), the least deprived fifth deciles 9 and 10 "
    "(quintile 5)."
)

TOO_FEW = "too few to judge"
CLEAR_GAP = "flagged: recall clearly below four fifths of the best-served group's"
NO_CLEAR_GAP = "no clear gap"
BEST = "best-served group"

GROUPING_WORDS = {
    "deprivation_quintile": "deprivation of the area",
    "age_band": "age of the oldest resident",
    "ethnic_group": "ethnic group of the oldest resident",
    "single_occupant": "living alone",
}
QUINTILE_WORDS = {
    1: "most deprived fifth",
    2: "second most deprived fifth",
    3: "middle fifth",
    4: "second least deprived fifth",
    5: "least deprived fifth",
}
ETHNIC_WORDS = {
    "WHITE": "White",
    "MIXED": "mixed or multiple ethnic groups",
    "ASIAN": "Asian or Asian British",
    "BLACK": "Black, Black British, Caribbean or African",
    "OTHER": "other ethnic group",
    "NOT_STATED": "not stated",
}
AGE_BANDS = ((35, "oldest resident under 35"), (65, "oldest resident 35 to 64"))
AGE_BANDS += ((75, "oldest resident 65 to 74"),)
OLDEST = "oldest resident 75 or over"
NOT_KNOWN = "not known"


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of successes / n; (nan, nan) when n is 0."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio_interval(
    p1: float, lu1: tuple[float, float], p2: float, lu2: tuple[float, float]
) -> tuple[float, float]:
    """The 95% interval of p1 / p2 for two independent shares from their Wilson intervals
    (MOVER-R: Donner and Zou, 2012). (nan, nan) when p2 is 0."""
    (l1, u1), (l2, u2) = lu1, lu2
    if not p2 > 0:
        return float("nan"), float("nan")
    pp = p1 * p2
    low_den = u2 * (2 * p2 - u2)
    high_den = l2 * (2 * p2 - l2)
    low = (pp - math.sqrt(max(0.0, pp * pp - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2)))) / low_den
    high = (
        (pp + math.sqrt(max(0.0, pp * pp - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2)))) / high_den
        if high_den > 0
        else float("inf")
    )
    return max(0.0, low), high


def age_band(oldest_age: pl.Expr) -> pl.Expr:
    expr = pl.when(oldest_age.is_null()).then(pl.lit(NOT_KNOWN))
    for upper, words in AGE_BANDS:
        expr = expr.when(oldest_age < upper).then(pl.lit(words))
    return expr.otherwise(pl.lit(OLDEST))


def _quintile(imd_decile: pl.Expr) -> pl.Expr:
    q = ((imd_decile + 1) // 2).cast(pl.Int64)
    return q.replace_strict(QUINTILE_WORDS, default=NOT_KNOWN, return_dtype=pl.String)


def group_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The groups we report on, in words, from the scored households' register details."""
    return frame.select(
        _quintile(pl.col("imd_decile")).alias("deprivation_quintile"),
        age_band(pl.col("oldest_age")).alias("age_band"),
        pl.col("ethnic_group").fill_null("NOT_STATED").replace(ETHNIC_WORDS).alias("ethnic_group"),
        pl.when(pl.col("lives_alone").is_null())
        .then(pl.lit(NOT_KNOWN))
        .when(pl.col("lives_alone") > 0)
        .then(pl.lit("lives alone"))
        .otherwise(pl.lit("lives with others"))
        .alias("single_occupant"),
    )


def _order(grouping: str, group: str) -> tuple[int, str]:
    """Groups in their natural order (most deprived first, youngest first), then by name."""
    known = {
        "deprivation_quintile": list(QUINTILE_WORDS.values()),
        "age_band": [w for _, w in AGE_BANDS] + [OLDEST],
        "ethnic_group": list(ETHNIC_WORDS.values()),
        "single_occupant": ["lives alone", "lives with others"],
    }.get(grouping, [])
    return (known.index(group) if group in known else len(known), group)


def _group_counts(groups: pl.Series, y: np.ndarray, listed: np.ndarray) -> list[dict]:
    counts = (
        pl.DataFrame({"group": groups, "crisis": y, "listed": listed})
        .group_by("group")
        .agg(
            pl.len().alias("households"),
            pl.col("crisis").sum().alias("crises"),
            pl.col("listed").sum().alias("listed"),
            (pl.col("crisis") * pl.col("listed")).sum().alias("found"),
        )
    )
    return [
        {k: (int(v) if k != "group" else str(v)) for k, v in r.items()}
        for r in counts.rows(named=True)
    ]


def judge(rows: list[dict]) -> list[dict]:
    """Intervals, the ratio to the best-served group and the verdict for one grouping's rows
    (each with households, crises, listed and found)."""
    for r in rows:
        r["precision"] = r["found"] / r["listed"] if r["listed"] else float("nan")
        r["precision_low"], r["precision_high"] = wilson(r["found"], r["listed"])
        r["recall"] = r["found"] / r["crises"] if r["crises"] else float("nan")
        r["recall_low"], r["recall_high"] = wilson(r["found"], r["crises"])
        r["judged"] = r["crises"] >= MIN_CRISES
    judged = [r for r in rows if r["judged"]]
    best = max(judged, key=lambda r: (r["recall"], r["crises"]), default=None)
    for r in rows:
        r["recall_ratio_to_best"] = r["ratio_low"] = r["ratio_high"] = float("nan")
        r["flag"] = False
        if not r["judged"]:
            r["verdict"] = TOO_FEW
            continue
        assert best is not None
        if best["recall"] > 0:
            r["recall_ratio_to_best"] = r["recall"] / best["recall"]
            if r is not best:
                r["ratio_low"], r["ratio_high"] = ratio_interval(
                    r["recall"],
                    (r["recall_low"], r["recall_high"]),
                    best["recall"],
                    (best["recall_low"], best["recall_high"]),
                )
                r["flag"] = r["ratio_high"] < FLAG_BELOW
        r["verdict"] = BEST if r is best else (CLEAR_GAP if r["flag"] else NO_CLEAR_GAP)
    return rows


# The table's counts of households, and the shares worked from them: what a delivered copy
# suppresses (hearth/publish/model_files.py reads these names from here).
COUNTS = ("households", "crises", "listed", "found")
SHARES = (
    "precision",
    "precision_low",
    "precision_high",
    "recall",
    "recall_low",
    "recall_high",
    "recall_ratio_to_best",
    "ratio_low",
    "ratio_high",
)
COLUMNS = [
    "grouping",
    "grouping_words",
    "group",
    *COUNTS,
    *SHARES,
    "judged",
    "flag",
    "verdict",
]


def fairness_table(
    y: np.ndarray,
    scores: np.ndarray,
    household_pid: np.ndarray,
    groups: pl.DataFrame,
    share: float = SHARE,
) -> pl.DataFrame:
    """One row per (grouping, group): households, crises, listed households and crises found at
    the capacity `share` of all households; precision and recall with their Wilson intervals;
    recall's ratio to the best-served group; whether it is judged, flagged, and the verdict."""
    listed = top_k_mask(scores, household_pid, k_for(share, len(y))).astype(np.int64)
    crisis = np.asarray(y).astype(np.int64)
    out = []
    for grouping in groups.columns:
        rows = judge(_group_counts(groups[grouping], crisis, listed))
        rows.sort(key=lambda r: _order(grouping, r["group"]))
        words = GROUPING_WORDS.get(grouping, grouping.replace("_", " "))
        out += [{"grouping": grouping, "grouping_words": words, **r} for r in rows]
    if not out:
        return pl.DataFrame()
    return pl.DataFrame(out).select(COLUMNS)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def fairness_metrics(table: pl.DataFrame) -> dict[str, float]:
    """The table as MLflow metrics: per judged group its recall and precision with intervals,
    the ratio and the flag (1 or 0); per too-small group only `judged` 0 (its shares would
    stand for a handful of households); and how many groups were judged and flagged."""
    out: dict[str, float] = {}
    if not table.height:
        return out
    for r in table.iter_rows(named=True):
        key = f"fairness.{_slug(r['grouping'])}.{_slug(r['group'])}"
        out[f"{key}.judged"] = float(r["judged"])
        if not r["judged"]:
            continue
        for name in ("recall", "recall_low", "recall_high", "recall_ratio_to_best"):
            out[f"{key}.{name}"] = float(r[name])
        for name in ("ratio_low", "ratio_high"):
            out[f"{key}.{name}"] = float(r[name])
        for name in ("precision", "precision_low", "precision_high"):
            out[f"{key}.{name}"] = float(r[name])
        out[f"{key}.flag"] = float(r["flag"])
    out["fairness.groups_judged"] = float(table["judged"].sum())
    out["fairness.groups_too_few_to_judge"] = float((~table["judged"]).sum())
    out["fairness.groups_flagged"] = float(table["flag"].sum())
    return {k: v for k, v in out.items() if np.isfinite(v)}
