"""How far the scoring step explains a list: as far as the outputs published by default show a
household's words (the published top past its held-out households, the report's table), and
no further (hearth/publish/deliver.py: shown_by_default)."""

from __future__ import annotations

import polars as pl

from hearth.publish.deliver import shown_by_default
from hearth.publish.ranked import published_top
from hearth.publish.report import TOP_ROWS


def _ranking(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"household_pid": [f"h{i:05d}" for i in range(1, n + 1)], "rank": range(1, n + 1)}
    )


def test_the_published_top_past_its_held_out_households():
    ranking = _ranking(4000)
    # 30% of 4,000 = 1,200 listed; three of them held out: the list reaches rank 1,203
    held = {"h00007", "h00500", "h01200"}
    assert shown_by_default(ranking, held, 0.30) == 1203
    assert shown_by_default(ranking, set(), 0.30) == 1200
    # a held-out household below the reach changes nothing
    assert shown_by_default(ranking, {"h03000"}, 0.30) == 1200
    # every row the published top shows is within the reach
    marked = ranking.with_columns(pl.col("household_pid").is_in(list(held)).alias("held_out"))
    assert published_top(marked, 0.30)["rank"].max() == shown_by_default(ranking, held, 0.30)
    # a number of households as the top
    assert shown_by_default(ranking, held, 2000) == 2003


def test_the_reports_table_when_the_top_is_shorter():
    # the top 5% of 4,000 is 200; the report's table shows the first 500
    assert TOP_ROWS == 500
    assert shown_by_default(_ranking(4000), {"h00001"}, 0.05) == TOP_ROWS
    assert shown_by_default(_ranking(300), set(), 0.05) == 300  # a list shorter than the table
    assert shown_by_default(_ranking(0), set(), 0.05) == 0
