"""The registered model's input example identifies nobody: one row of medians, not households'
own rows (issue 22: the example is stored beside the model and shown in MLflow's UI)."""

from __future__ import annotations

import polars as pl

from models.run_log import input_example


def test_the_input_example_is_one_row_of_medians_and_no_household_s_row():
    frame = pl.DataFrame(
        {
            "household_pid": ["a" * 64, "b" * 64, "c" * 64, "d" * 64],
            "events_12m": [0, 3, 7, 12],
            "imd_decile": [1, 2, 9, 10],
            "recency_days": [None, 40.0, 400.0, None],
            "always_empty": pl.Series([None] * 4, dtype=pl.Float64),
        }
    )
    features = ["events_12m", "imd_decile", "recency_days", "always_empty"]
    example = input_example(frame, features)
    assert example.columns == features and example.height == 1
    assert example.row(0) == (5.0, 5.5, 220.0, 0.0)
    assert all(dtype == pl.Float64 for dtype in example.dtypes)
    own_rows = set(frame.select(pl.col(f).cast(pl.Float64) for f in features).rows())
    assert example.row(0) not in own_rows
