"""The recalibration's fit (hearth/linkage/recalibration.py) on small frames, and the warehouse's
reading of it (sql/linkage/link_calibration.sql, token_links.sql) against the Python one: a
score from the match weight and the lead over the runner-up, then isotonic points read on the
straight line between them."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from hearth.linkage import recalibration
from hearth.warehouse import run_sql


def _frame(rows: list[tuple[str, int, float, bool | None]]) -> pl.DataFrame:
    """Candidates (record, rank, weight, person_label) with what link_candidates carries."""
    return pl.DataFrame(
        {
            "source": ["police"] * len(rows),
            "record_id": [r[0] for r in rows],
            "rank": [r[1] for r in rows],
            "weight": [r[2] for r in rows],
            "raw_probability": [1 / (1 + 2.0 ** -r[2]) for r in rows],
            "person_label": [r[3] for r in rows],
        },
        schema_overrides={"rank": pl.Int64, "person_label": pl.Boolean},
    )


def test_the_margin_is_the_lead_over_the_next_candidate_and_alone_has_none():
    frame = _frame(
        [("a", 2, 4.0, None), ("a", 1, 10.0, None), ("a", 3, 1.0, None), ("b", 1, 50.0, None)]
        + [("c", 1, 60.0, None), ("c", 2, 20.0, None)]
    )
    got = recalibration.with_features(frame)
    rows = {(r["record_id"], r["rank"]): r for r in got.iter_rows(named=True)}
    assert rows[("a", 1)]["margin"] == 6.0  # 10 - 4: the runner-up, not the third
    assert rows[("a", 2)]["margin"] == 3.0
    assert rows[("a", 3)]["margin"] == 0.0  # the last candidate leads no one
    assert rows[("a", 1)]["alone"] == 0.0
    assert rows[("b", 1)]["alone"] == 1.0 and rows[("b", 1)]["margin"] == 0.0
    assert rows[("c", 1)]["margin"] == recalibration.MARGIN_CAP  # 40 capped at 30


def _lead_world(n: int = 200) -> pl.DataFrame:
    """Every best candidate has match weight 8: those 12 ahead of their runner-up are right,
    those 1 ahead are wrong. The weight alone cannot tell them apart; the lead can."""
    rows: list[tuple[str, int, float, bool | None]] = []
    for i in range(n):
        lead = 12.0 if i % 2 == 0 else 1.0
        rows += [(f"r{i}", 1, 8.0, i % 2 == 0), (f"r{i}", 2, 8.0 - lead, False)]
    return recalibration.with_features(_frame(rows))


def test_the_best_candidates_score_reads_the_lead_over_the_runner_up():
    cands = _lead_world()
    scores, points = recalibration.fit(cands)
    p = recalibration.recalibrated(cands, scores, points)
    best = cands.with_columns(p=pl.Series(p)).filter(pl.col("rank") == 1)
    far = best.filter(pl.col("margin") == 12.0)["p"]
    close = best.filter(pl.col("margin") == 1.0)["p"]
    # the weight alone would give every best candidate the same 0.5
    assert far.min() > 0.99 and close.max() < 0.01
    # runners-up are fitted on their own, on the weight alone (none is right)
    runners = recalibration.recalibrated(cands, scores, points)[(cands["rank"] > 1).to_numpy()]
    assert runners.max() == pytest.approx(0.0)


def test_too_few_wrong_best_candidates_give_the_weight_alone_as_the_score():
    frame = recalibration.with_features(
        _frame([(f"r{i}", 1, float(i), i >= recalibration.MIN_WRONG - 1) for i in range(40)])
    )
    scores, _ = recalibration.fit(frame)
    best = scores.filter(pl.col("which") == "best").row(0, named=True)
    assert (best["coef_weight"], best["coef_margin"], best["coef_alone"]) == (1.0, 0.0, 0.0)
    enough = recalibration.with_features(
        _frame([(f"r{i}", 1, float(i), i >= recalibration.MIN_WRONG) for i in range(40)])
    )
    scores, _ = recalibration.fit(enough)
    assert scores.filter(pl.col("which") == "best")["coef_weight"][0] != 1.0


def test_points_are_read_on_the_line_between_them_never_as_steps():
    points = [(0.0, 0.2), (10.0, 0.6)]
    got = recalibration.apply_points(np.array([-5.0, 0.0, 2.5, 5.0, 10.0, 99.0]), points)
    # below the first and above the last: the end's value; between: the straight line
    assert got.tolist() == pytest.approx([0.2, 0.2, 0.3, 0.4, 0.6, 0.6])


def _warehouse_reading(
    cands: pl.DataFrame, scores: pl.DataFrame, points: pl.DataFrame
) -> np.ndarray:
    """link_probability as sql/linkage/token_links.sql computes it from a stored fit."""
    con = duckdb.connect()
    base = cands.drop("margin", "alone").with_columns(
        needs_link=pl.lit(True),
        household_pid=pl.lit("h"),
        link_probability=pl.lit(None, pl.Float64),
    )
    con.register("cands_in", base.to_arrow())
    con.execute("CREATE TABLE link_candidates AS SELECT * FROM cands_in")
    con.execute(
        "CREATE TABLE linked_events (source VARCHAR, record_id VARCHAR, household_pid VARCHAR, "
        "link_status VARCHAR, link_probability DOUBLE)"
    )
    con.register("link_calibration_score_fit", scores.to_arrow())
    con.register("link_calibration_fit", points.to_arrow())
    run_sql(con, "linkage/link_calibration")
    run_sql(con, "linkage/token_links", {"floor": 0.5, "margin_cap": recalibration.MARGIN_CAP})
    got = con.sql("SELECT source, record_id, rank, link_probability FROM link_candidates").pl()
    return cands.join(got, on=["source", "record_id", "rank"], maintain_order="left")[
        "link_probability"
    ].to_numpy()


def test_the_warehouse_reads_the_fit_as_python_does():
    rng = np.random.default_rng(3)
    rows: list[tuple[str, int, float, bool | None]] = []
    for i in range(600):
        k = int(rng.integers(1, 4))
        weights = sorted(rng.normal(5, 8, k), reverse=True)
        right = bool(rng.random() < 1 / (1 + np.exp(-weights[0] / 3)))
        rows += [
            (f"r{i:03d}", j + 1, float(w), right if j == 0 else False)
            for j, w in enumerate(weights)
        ]
    cands = recalibration.with_features(_frame(rows))
    # fitted on 400 records, read on the other 200: their scores fall between the fit's points
    # and beyond its ends, where reading as steps or dropping the ends would differ
    fitted_on = cands.filter(pl.col("record_id") < "r400")
    held = cands.filter(pl.col("record_id") >= "r400")
    fit = recalibration.fit(fitted_on)
    expected = recalibration.recalibrated(held, *fit)
    assert np.allclose(_warehouse_reading(held, *fit), expected)
    # the held records are not all at a fitted point: the line between points matters here
    best = held.filter(pl.col("rank") == 1)
    pts = fit[1].filter(pl.col("which") == "best")["calibrated_from"].to_numpy()
    s = recalibration.score(best, fit[0].filter(pl.col("which") == "best").row(0, named=True))
    assert (~np.isin(s, pts)).sum() > 50
    far = _lead_world()
    assert np.allclose(
        _warehouse_reading(far, *recalibration.fit(far)),
        recalibration.recalibrated(far, *recalibration.fit(far)),
    )
