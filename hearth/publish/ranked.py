"""The ranked list as published: its public columns and their labels, the risk tiers' words,
the published top, and the list counted by area. The list itself, its tiers, `top_count` and
the `household_scores` table it is kept in between scoring and publishing are the scorer's
(hearth/modelling/scoring/ranking.py), imported here.

Rounding: a share of n households is the smallest number of households that is at least that
share, rounded up (ceil), never fewer than one: the top 1% of 1,999 households is 20 and the
top 5% is 100. A household of rank r is in the top share s when r <= top_count(s, n), that
is when fewer than s * n households are ranked above it; the risk tiers are cut the same way,
so the published top 5% is exactly the very high and high tiers."""

from __future__ import annotations

import os

import polars as pl

from hearth.modelling.scoring.ranking import (  # the scorer's, used by publish's callers too
    HIGH_RISK_TIERS as HIGH_RISK_TIERS,
)
from hearth.modelling.scoring.ranking import (
    OTHER_TIER as OTHER_TIER,
)
from hearth.modelling.scoring.ranking import (
    TIER_CUTS as TIER_CUTS,
)
from hearth.modelling.scoring.ranking import (
    TIERS as TIERS,
)
from hearth.modelling.scoring.ranking import (
    load_scores as load_scores,
)
from hearth.modelling.scoring.ranking import (
    risk_tiers as risk_tiers,
)
from hearth.modelling.scoring.ranking import (
    top_count,
)

PUBLIC_COLUMNS = [
    "rank",
    "household_pid",
    "la_name",
    "la_code",
    "ward_name",
    "ward_code",
    "lsoa_name",
    "lsoa_code",
    "score",
    "risk_tier",
    "reason_1",
    "reason_2",
    "reason_3",
    "lead_agency",
    "lead_why",
    "also_agencies",
]
COLUMN_LABELS = {
    "rank": "Rank",
    "household_pid": "Household (pseudonym)",
    "la_name": "Local authority",
    "la_code": "Local authority code",
    "ward_name": "Ward",
    "ward_code": "Ward code",
    "lsoa_name": "LSOA",
    "lsoa_code": "LSOA code",
    "score": "Chance of a crisis in 12 months",
    "risk_tier": "Risk tier",
    "reason_1": "Reason 1",
    "reason_2": "Reason 2",
    "reason_3": "Reason 3",
    "lead_agency": "Suggested lead agency",
    "lead_why": "Why this lead",
    # every other service whose lead rule holds for the household, each with its why
    "also_agencies": "Also for (and why)",
}

# The areas a household is in: (the lookup's area_type, the code column, its name column). The
# name is the area's name from the area names lookup (hearth/publish/areas.py), or the code
# itself when the lookup has none, so a name column is never empty where its code is not.
AREA_LEVELS = (
    ("LA", "la_code", "la_name"),
    ("WARD", "ward_code", "ward_name"),
    ("LSOA", "lsoa_code", "lsoa_name"),
)

# Each tier's colour, the one home for every output that shows a tier (the report's cards,
# chips and chart, the workbooks, the visit plans): (fill, text on it). One grey for "usual".
TIER_COLOURS = {
    "very high": ("#9b1c1c", "#ffffff"),
    "high": ("#f4a259", "#1f1f1f"),
    "raised": ("#fde68a", "#1f1f1f"),
    "usual": ("#d1d5db", "#1f1f1f"),
}
TIER_WORDS = {
    "very high": "the top 1% of households",
    "high": "the next 4% (to the top 5%)",
    "raised": "the next 15% (to the top 20%)",
    "usual": "everyone else",
}

DEFAULT_TOP = 0.05  # the very high and high tiers


def publish_top() -> float:
    """The published top: HEARTH_PUBLISH_TOP (a share such as 0.05, or a number such as 2000),
    default the top 5% of households."""
    raw = os.environ.get("HEARTH_PUBLISH_TOP", "").strip()
    if not raw:
        return DEFAULT_TOP
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"HEARTH_PUBLISH_TOP is {raw!r}; use a share such as 0.05 or a count such as 2000."
        ) from None
    if value <= 0:
        raise ValueError("HEARTH_PUBLISH_TOP must be above 0.")
    return value


def published_top(ranked: pl.DataFrame, top: float) -> pl.DataFrame:
    """The households of the published top. Those held out of this generation's list by the
    hold-out lottery (a `held_out` column: hearth/modelling/holdout.py) are left off and their
    places go to the next households, so the list still has `top` households."""
    k = top_count(top, ranked.height)
    if "held_out" in ranked.columns:
        return ranked.filter(~pl.col("held_out").fill_null(False)).sort("rank").head(k)
    return ranked.filter(pl.col("rank") <= k).sort("rank")


def with_area_names(
    ranked: pl.DataFrame, names: dict[str, dict[str, str]] | None = None
) -> pl.DataFrame:
    """`ranked` with a name column beside each area code column it has: the name from `names`
    (area_type -> code -> name) or, with no name, the code. A name column already there is
    kept unless `names` is given (a list published before names has them added as codes)."""
    out = []
    for level, code, name in AREA_LEVELS:
        if code not in ranked.columns or (names is None and name in ranked.columns):
            continue
        lookup = (names or {}).get(level) or {}
        code_col = pl.col(code).cast(pl.String)
        named = code_col.replace_strict(lookup, default=None, return_dtype=pl.String)
        out.append(pl.coalesce(named, code_col).alias(name))
    return ranked.with_columns(out) if out else ranked


def area_counts(ranked: pl.DataFrame) -> pl.DataFrame:
    """Households and high-risk households (very high and high tiers) per ward (raw counts),
    with the local authority's and the ward's names."""
    named = with_area_names(ranked)
    return (
        named.group_by("la_code", "ward_code")
        .agg(
            pl.col("la_name").first(),
            pl.col("ward_name").first(),
            pl.len().alias("households"),
            pl.col("risk_tier").is_in(HIGH_RISK_TIERS).sum().alias("high_risk"),
        )
        .sort("la_code", "ward_code")
        .select("la_code", "la_name", "ward_code", "ward_name", "households", "high_risk")
    )
