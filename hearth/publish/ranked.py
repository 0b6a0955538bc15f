"""Keeping the ranked list in the warehouse between scoring and publishing."""

from __future__ import annotations

import duckdb
import polars as pl

from hearth.warehouse import query, run_sql


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
