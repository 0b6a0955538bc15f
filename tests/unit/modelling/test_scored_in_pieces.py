"""The ranked list worked out and kept a chunk at a time (so a million households' words are
never in memory at once) is the list worked out whole: the same rows, ranks, tiers and words
whatever the chunk size, and the warehouse keeps it whole or not at all."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from hearth.modelling.scoring.ranking import load_scores, store_scores
from hearth.modelling.scoring.score import SCORE_COLUMNS, score_households, scored
from tests.support.fitted_world import fitted_world
from tests.support.role_world import CAP

N = 600


@pytest.fixture(scope="module")
def world():
    return fitted_world(N, seed=11, label_seed=3)


def test_the_list_in_chunks_is_the_list_whole(world):
    model, names, frame = world
    whole = score_households(model, names, frame, recency_cap=CAP)
    seen: list[tuple[int, int]] = []
    pieces = scored(
        model, names, frame, CAP, progress=lambda d, t: seen.append((d, t)), chunk_size=97
    )
    chunks = list(pieces.chunks)
    assert [c.height for c in chunks] == [97] * 6 + [N - 6 * 97]
    assert seen[-1] == (N, N) and len(seen) == len(chunks)
    assert pl.concat(chunks).equals(whole)
    assert whole.columns == list(SCORE_COLUMNS)
    assert whole["rank"].to_list() == list(range(1, N + 1))
    # each row's score is its own household's, whichever chunk it fell in
    own = dict(
        zip(
            frame["household_pid"],
            model.predict_proba(frame.select(names).to_numpy().astype(np.float32))[:, 1],
            strict=True,
        )
    )
    assert all(own[p] == s for p, s in whole.select("household_pid", "score").iter_rows())
    # the ranking handed to the gate, the hold-out and monitoring is the list's
    assert pieces.ranking.equals(whole.select("household_pid", "rank", "score"))


def test_the_warehouse_keeps_the_list_whole_or_not_at_all(world, monkeypatch):
    import hearth.modelling.scoring.ranking as ranking

    model, names, frame = world
    monkeypatch.setattr(ranking, "STORE_ROWS", 150)  # several writes for one list
    con = duckdb.connect()
    whole = score_households(model, names, frame, recency_cap=CAP)
    kept = store_scores(con, scored(model, names, frame, CAP, chunk_size=64).chunks, "2026-01", "3")
    assert kept == N
    assert load_scores(con).equals(whole)
    assert con.sql("SELECT DISTINCT as_of, model_version FROM household_scores").fetchall() == [
        ("2026-01", "3")
    ]

    def broken():  # the scorer stops part of the way through the next month's list
        yield whole.head(200)
        yield whole.slice(200, 200)
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        store_scores(con, broken(), "2026-02", "4")
    # last month's list, whole: no half of the new one
    assert load_scores(con).equals(whole)
    assert con.sql("SELECT DISTINCT as_of FROM household_scores").fetchall() == [("2026-01",)]
