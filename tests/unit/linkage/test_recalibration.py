"""The recalibration's fit (hearth/linkage/recalibration.py) on small frames, and the warehouse's
reading of it (sql/linkage/link_calibration.sql, token_links.sql) against the Python one:
isotonic points on splink's match weight (a block known within 0.05 at its ends, one known less
well at its centre), read on the straight line between them."""

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


def test_points_are_read_on_the_line_between_them_never_as_steps():
    points = [(0.0, 0.2), (10.0, 0.6)]
    got = recalibration.apply_points(np.array([-5.0, 0.0, 2.5, 5.0, 10.0, 99.0]), points)
    # below the first and above the last: the end's value; between: the straight line
    assert got.tolist() == pytest.approx([0.2, 0.2, 0.3, 0.4, 0.6, 0.6])


def test_a_best_candidate_between_two_fitted_weights_takes_the_line_between_them():
    # labelled best candidates at weight 0 are right a fifth of the time, at weight 10 always:
    # an unlabelled one at weight 5 is worth 0.6, not the 0.2 a step would give it
    rows = [(f"a{i}", 1, 0.0, i % 5 == 0) for i in range(50)]
    rows += [(f"b{i}", 1, 10.0, True) for i in range(50)]
    points = recalibration.fit(_frame(rows))
    at = _frame([("new", 1, 5.0, None), ("low", 1, -3.0, None), ("high", 1, 30.0, None)])
    assert recalibration.recalibrated(at, points).tolist() == pytest.approx([0.6, 0.2, 1.0])


def test_a_block_of_few_labels_is_read_at_its_centre_not_flat_across_it():
    # 40 wrong labels at weight 0, 40 right at 10, and between them a block of two labels (one
    # right) at weights 1 and 9: the isotonic fit pools those two to 0.5. Read flat across the
    # block, a candidate at 8 would take 0.5 though it sits next to the sure ones; centred, the
    # block's 0.5 is read at its centre (5) and the line climbs to 1.0 at 10.
    rows = [(f"a{i}", 1, 0.0, False) for i in range(40)]
    rows += [("m1", 1, 1.0, True), ("m9", 1, 9.0, False)]
    rows += [(f"b{i}", 1, 10.0, True) for i in range(40)]
    points = recalibration.fit(_frame(rows))
    assert points["calibrated_from"].to_list() == pytest.approx([0.0, 5.0, 10.0])
    at = _frame([("x", 1, 8.0, None), ("y", 1, 2.5, None), ("z", 1, 5.0, None)])
    assert recalibration.recalibrated(at, points).tolist() == pytest.approx([0.8, 0.25, 0.5])


def test_a_block_whose_rate_is_known_is_read_flat_to_its_ends():
    # 400 runners-up between weights 0 and 10, 8 of them right (at the lowest weights, so the
    # fit pools all 400 to 0.02, known within 0.05), and two right ones at 19 and 21. A runner-up
    # at 9 is among the 400 and takes their 0.02; read at the big block's centre (5) only, the
    # line to the small block's centre (20) would have given it 0.28.
    weights = np.linspace(0.0, 10.0, 400)
    rows = [(f"r{i:03d}", 2, float(w), i < 8) for i, w in enumerate(weights)]
    rows += [("s19", 2, 19.0, True), ("s21", 2, 21.0, True)]
    points = recalibration.fit(_frame(rows))
    assert points["calibrated_from"].to_list() == pytest.approx([0.0, 10.0, 20.0])
    at = _frame([("x", 2, 9.0, None), ("y", 2, 15.0, None)])
    assert recalibration.recalibrated(at, points).tolist() == pytest.approx([0.02, 0.51])


def _warehouse_reading(cands: pl.DataFrame, points: pl.DataFrame) -> np.ndarray:
    """link_probability as sql/linkage/token_links.sql computes it from a stored fit."""
    con = duckdb.connect()
    base = cands.with_columns(
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
    con.register("link_calibration_fit", points.to_arrow())
    run_sql(con, "linkage/link_calibration")
    run_sql(con, "linkage/token_links", {"floor": 0.5})
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
    cands = _frame(rows)
    # fitted on 400 records, read on the other 200: their weights fall between the fit's points
    # and beyond its ends, where reading as steps or dropping the ends would differ
    points = recalibration.fit(cands.filter(pl.col("record_id") < "r400"))
    beyond = _frame([("x1", 1, -100.0, None), ("x1", 2, -200.0, None), ("x2", 1, 100.0, None)])
    held = pl.concat([cands.filter(pl.col("record_id") >= "r400"), beyond])
    expected = recalibration.recalibrated(held, points)
    assert np.allclose(_warehouse_reading(held, points), expected)
    fitted_at = points["calibrated_from"].to_numpy()
    assert (~np.isin(held["weight"].to_numpy(), fitted_at)).sum() > 100
    # a group with too few labels keeps its raw probability, in both readings
    best_only = recalibration.fit(cands.filter(pl.col("rank") == 1))
    runners = held.filter(pl.col("rank") > 1)
    assert np.allclose(_warehouse_reading(runners, best_only), runners["raw_probability"])
    assert np.allclose(recalibration.recalibrated(runners, best_only), runners["raw_probability"])


def test_a_group_needs_min_labels_to_be_fitted():
    n = recalibration.MIN_LABELS
    rows = [(f"r{i}", 1, float(i), i % 2 == 0) for i in range(n)]
    assert set(recalibration.fit(_frame(rows))["which"]) == {"best"}
    assert recalibration.fit(_frame(rows[:-1])).height == 0  # one fewer: raw kept
