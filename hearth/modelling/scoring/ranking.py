"""The ranked list as the scorer makes it: "the top share -> how many households"
(`top_count`, used by the tiers, the model metrics and monitoring, and the published top alike),
the risk tiers (their order and cuts), each role's reasons as kept in the hidden `role_reasons`
column, and the `household_scores` table the list is kept in between scoring and publishing.
Publish reads these (hearth/publish/ranked.py, roles.py); it owns only how they are shown.

Rounding: a share of n households is the smallest number of households that is at least that
share, rounded up (ceil), never fewer than one: the top 1% of 1,999 households is 20 and the
top 5% is 100. A household of rank r is in the top share s when r <= top_count(s, n), that
is when fewer than s * n households are ranked above it; the risk tiers are cut the same way,
so the published top 5% is exactly the very high and high tiers."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import duckdb
import polars as pl

from hearth.warehouse import query, run_sql

# Tiers by rank share: agencies plan visits by capacity, so tiers follow the ranking. Each tier
# holds the households in its top share not in a tier before it; the rest are OTHER_TIER.
TIER_CUTS = (("very high", 0.01), ("high", 0.05), ("raised", 0.20))
OTHER_TIER = "usual"
TIERS = (*(t for t, _ in TIER_CUTS), OTHER_TIER)  # highest first
HIGH_RISK_TIERS = ("very high", "high")  # the top 5%: the published top by default
ROLE_REASONS = "role_reasons"  # hidden column: each role's reasons and lead why, as JSON


def top_count(top: float, n: int) -> int:
    """Households in the top of a list of `n`: a share of all (0 < top < 1), rounded up and at
    least one, or a number of households (top >= 1), at most `n`."""
    if top <= 0:
        raise ValueError("the top must be a share above 0 or a number of households")
    if not n:
        return 0
    if top < 1:
        # the smallest k with k / n >= top, worked in the same float steps as a rank share
        k = min(n, math.ceil(top * n))
        while k > 0 and (k - 1) / n >= top:
            k -= 1
        while k < n and k / n < top:
            k += 1
        return max(1, k)
    return int(min(top, n))


def risk_tiers(ranks: Iterable[int], n: int) -> list[str]:
    """The risk tier of each rank (1 = highest) in a list of `n` households."""
    cuts = [(t, top_count(share, n)) for t, share in TIER_CUTS]
    return [next((t for t, k in cuts if r <= k), OTHER_TIER) for r in ranks]


def explained_through(ranked: pl.DataFrame) -> int:
    """How far a scored list (or its top) is explained: ranks 1 to the number returned all
    have their words (an explained household always has a first reason, the "nothing on
    record" one at least); the first rank with none is the next. The scoring step explains as
    far as the published outputs show by default (hearth/modelling/scoring/score.py)."""
    missing = ranked.filter(pl.col("reason_1").is_null())["rank"]
    if missing.len():
        return int(missing.min()) - 1
    return int(ranked["rank"].max() or 0)


RoleWords = tuple[list[tuple[str, str]], tuple[str, str | None]]  # reasons, (lead, why)


def encode_role_reasons(
    by_role: dict[str, RoleWords], also: dict[str, list[tuple[str, str | None]]] | None = None
) -> str:
    """One household's reasons per role, [(text, feature), ...], with the lead and its why and
    the other services with a part ("also", [(lead, why), ...]) as the role may read them, as
    the JSON kept in the `ROLE_REASONS` column."""
    also = also or {}
    return json.dumps(
        {
            r: {
                "reasons": [list(x) for x in rs],
                "lead": lead,
                "lead_why": why,
                "also": [list(a) for a in also.get(r, [])],
            }
            for r, (rs, (lead, why)) in by_role.items()
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


STORE_ROWS = 50_000  # households written to the warehouse at a time


def store_scores(
    con: duckdb.DuckDBPyConnection,
    ranked: pl.DataFrame | Iterable[pl.DataFrame],
    as_of: str,
    version: str,
) -> int:
    """Keep the ranked list in `household_scores`, replacing the last one, in one transaction
    (a list cut short by an error is never kept). `ranked` may come in pieces in rank order
    (`score.scored(...).chunks`): each is written as it comes, so the whole list with its
    words is never in memory at once. Returns the households kept."""
    pieces = [ranked] if isinstance(ranked, pl.DataFrame) else ranked
    kept, batch, rows, written = 0, [], 0, False
    con.execute("BEGIN TRANSACTION")
    try:
        for piece in pieces:
            batch.append(piece)
            rows += piece.height
            if rows >= STORE_ROWS:
                kept += _write_scores(con, batch, as_of, version, first=not written)
                batch, rows, written = [], 0, True
        if batch:
            kept += _write_scores(con, batch, as_of, version, first=not written)
        elif not written:
            raise ValueError("There is no ranked list to keep: the scorer gave no households.")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return kept


def _write_scores(
    con: duckdb.DuckDBPyConnection,
    batch: list[pl.DataFrame],
    as_of: str,
    version: str,
    first: bool,
) -> int:
    frame = pl.concat(batch)
    con.register(
        "scores_frame",
        frame.with_columns(pl.lit(as_of).alias("as_of"), pl.lit(version).alias("model_version")),
    )
    try:
        run_sql(con, "modelling/scores_store" if first else "modelling/scores_append")
    finally:
        con.unregister("scores_frame")
    return frame.height


def load_scores(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query(con, "modelling/scores_load").pl()
