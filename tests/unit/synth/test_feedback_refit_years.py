"""benchmarks/feedback.py's `--refit-years 2` (TrainParams.refit_years in the closed loop):
each cycle's model learns from its own year with the year before stacked under it, each made
safe by the arm's rule, from the first cycle whose older year has every feature and the longest
recency; before it, one year. And a reference must have learnt from as many years."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.feedback import Settings, load_reference, main
from tests.unit.synth.test_feedback_target import _result


def test_two_years_once_the_older_year_has_the_features_and_each_arm_takes_them(tmp_path: Path):
    """59 months before the first cycle: its model trains at 47 months and the year before at
    35, one short of the longest recency, so one year; the second cycle's older year has 36."""
    path = main(
        ["--households", "600", "--seed", "5", "--cycles", "2", "--holdout-share", "0.2",
         "--capacity", "0.02", "--history", "59", "--arms", "naive,safe", "--refit-years", "2",
         "--work", str(tmp_path / "work"), "--out", str(tmp_path)]
    )  # fmt: skip
    result = json.loads(path.read_text())
    assert result["settings"]["refit_years"] == 2
    for arm in ("naive", "safe"):
        first, second = (c[arm] for c in result["cycles"])
        assert (first["training_years"], second["training_years"]) == (1, 2), arm
        own = first["training_households"] + first["held_out_copies_added"]
        assert first["training_rows"] == own, arm
        # the year before's households under the cycle's own: about as many again
        own = second["training_households"] + second["held_out_copies_added"]
        assert 1.8 * own < second["training_rows"] < 2.2 * own, arm


def test_a_reference_must_have_learnt_from_as_many_years(tmp_path: Path):
    s = Settings(1000, 7, 3, effect=-0.3, history=60, refit_years=2)
    load_reference(_result(tmp_path, replace(s, effect=0.0), "two.json"), s)
    with pytest.raises(ValueError, match="its refit_years differs"):
        load_reference(_result(tmp_path, replace(s, effect=0.0, refit_years=1), "one.json"), s)
    # a file from before the setting learnt from one year
    old = _result(tmp_path, replace(s, effect=0.0), "before.json")
    got = json.loads(old.read_text())
    del got["settings"]["refit_years"]
    old.write_text(json.dumps(got))
    with pytest.raises(ValueError, match="its refit_years differs"):
        load_reference(old, s)
    load_reference(old, replace(s, refit_years=1))
