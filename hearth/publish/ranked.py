"""The ranked list: kept in the warehouse between scoring and publishing, and counted by area."""

from __future__ import annotations

import duckdb
import polars as pl

from hearth.warehouse import query, run_sql

HIGH_RISK_TIERS = ("very high", "high")


def store_scores(
    con: duckdb.DuckDBPyConnection, ranked: pl.DataFrame, as_of: str, version: str
) -> None:
    con.register(
        "scores_frame",
        ranked.with_columns(pl.lit(as_of).alias("as_of"), pl.lit(version).alias("model_version")),
    )
    try:
        run_sql(con, "publish/scores_store")
    finally:
        con.unregister("scores_frame")


def load_scores(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query(con, "publish/scores_load").pl()


def area_counts(ranked: pl.DataFrame) -> pl.DataFrame:
    """Households and high-risk households (very high and high tiers) per ward (raw counts)."""
    return (
        ranked.group_by("la_code", "ward_code")
        .agg(
            pl.len().alias("households"),
            pl.col("risk_tier").is_in(HIGH_RISK_TIERS).sum().alias("high_risk"),
        )
        .sort("la_code", "ward_code")
    )
