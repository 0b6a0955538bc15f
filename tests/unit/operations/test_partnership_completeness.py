"""The partnership model's completeness rule (hearth/operations/partnership_model.py): retrained
only when every authority's features for the month are present, or, when the partnership
declares a minimum share, when the authorities present hold at least that share of its
households; an authority whose step stopped in the run is not in, whatever its files say."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hearth import settings
from hearth.features.design import Design
from hearth.operations.partnership_model import (
    completeness,
    features_missing,
    judge_completeness,
)

HOUSEHOLDS = {"E06000901": 500, "E06000902": 300, "E06000903": 200}


def test_every_authority_present_holds_and_one_missing_does_not():
    every = completeness(HOUSEHOLDS, dict.fromkeys(HOUSEHOLDS), "2026-01")
    assert every.holds and every.included == sorted(HOUSEHOLDS) and every.share == 1.0
    late = {**dict.fromkeys(HOUSEHOLDS), "E06000903": "its extract is late"}
    rule = completeness(HOUSEHOLDS, late, "2026-01")
    assert not rule.holds
    assert rule.included == ["E06000901", "E06000902"]
    assert rule.missing == {"E06000903": "its extract is late"}
    assert "E06000903 is not in: its extract is late" in rule.sentence()
    assert "does not hold" in rule.sentence()


def test_a_declared_minimum_share_of_households_is_weighed_by_households():
    late = {**dict.fromkeys(HOUSEHOLDS), "E06000903": "late"}  # 800 of 1,000 present
    assert completeness(HOUSEHOLDS, late, "2026-01", min_share=0.8).holds
    assert not completeness(HOUSEHOLDS, late, "2026-01", min_share=0.81).holds
    big_late = {**dict.fromkeys(HOUSEHOLDS), "E06000901": "late"}  # 500 of 1,000
    assert not completeness(HOUSEHOLDS, big_late, "2026-01", min_share=0.8).holds


def test_an_authority_not_looked_at_or_no_month_is_not_complete():
    partial = {"E06000901": None, "E06000902": None}  # E06000903 never looked at
    rule = completeness(HOUSEHOLDS, partial, "2026-01")
    assert not rule.holds and "E06000903" in rule.missing
    assert not completeness(HOUSEHOLDS, dict.fromkeys(HOUSEHOLDS), None).holds
    with pytest.raises(ValueError, match="fraction"):
        completeness(HOUSEHOLDS, dict.fromkeys(HOUSEHOLDS), "2026-01", min_share=1.5)


def _features(home: Path, month: str, skip: str | None = None) -> None:
    design = Design.for_scoring(month)
    folder = home / "features"
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame({"household_pid": ["h1"], "as_of": [month]})
    names = [f"features_{d}" for d in (design.train_as_of, design.valid_as_of, month)]
    names += [f"labels_{d}" for d in (design.train_as_of, design.valid_as_of)]
    for name in names:
        if name != skip:
            frame.write_parquet(folder / f"{name}.parquet")


def test_features_for_the_month_must_all_be_built(tmp_path):
    _features(tmp_path, "2026-01")
    assert features_missing(tmp_path, "2026-01", "2026-01") is None
    assert "score at 2025-12" in features_missing(tmp_path, "2026-01", "2025-12")
    assert "no warehouse" in features_missing(tmp_path, "2026-01", None)
    other = tmp_path / "other"
    _features(other, "2026-01", skip="labels_2025-01")
    assert "labels_2025-01.parquet" in features_missing(other, "2026-01", "2026-01")


def test_a_stopped_authority_is_out_whatever_its_files_say(hearth_home):
    for code in HOUSEHOLDS:
        landing = settings.authority_home(code) / "landing" / "addresses" / "2025-12"
        landing.mkdir(parents=True)
        pl.DataFrame(
            {"household_pid": [f"{code}-{i}" for i in range(HOUSEHOLDS[code])]}
        ).write_parquet(landing / "addresses.parquet")
    rule = judge_completeness(HOUSEHOLDS, {"E06000902": "its run stopped"})
    assert rule.missing["E06000902"] == "its run stopped"
    # no authority has a warehouse: there is no month, and nothing is complete
    assert rule.month is None and not rule.holds
    assert rule.share == 0.0
