"""Areas that record at their own rates (sql/features/catalogue.yaml `recording`,
hearth/features/build.py: recording_columns): each agency's records of a household in all,
and their mean over its ward and its authority, worked out from the data; never a reason, and
free of monotone constraints."""

from __future__ import annotations

import polars as pl
import pytest

from hearth.features.build import recording_columns
from hearth.features.catalogue import build_catalogue, load_catalogue
from hearth.features.wording import readable_by
from hearth.settings import SQL_DIR


def _frame(cat) -> pl.DataFrame:
    """Four households in two wards of one authority; health records only, the rest none."""
    zero = [0.0] * 4
    counts = {f.name: zero for f in cat.features if f.kind == "count" and not f.members}
    counts |= {
        "ae_fall_12m": [1.0, 3.0, 0.0, 0.0],
        "copd_register_12m": [1.0, 0.0, 0.5, 0.0],
        "ae_fall_24m": [9.0, 9.0, 9.0, 9.0],  # a 2-year window: not in the 12 months
        "breathing_records_12m": [5.0, 5.0, 5.0, 5.0],  # a theme: would count twice
    }
    ids = {"ward_code": ["W1", "W1", "W2", "W2"], "la_code": ["L1"] * 4}
    return pl.DataFrame(ids | counts)


def test_each_agencys_records_and_their_area_means():
    cat = load_catalogue()
    got = recording_columns(cat, _frame(cat))
    assert got["health_records_12m"].to_list() == [2.0, 3.0, 0.5, 0.0]
    assert got["ward_health_records_12m"].to_list() == [2.5, 2.5, 0.25, 0.25]
    assert got["authority_health_records_12m"].to_list() == [1.375] * 4
    assert got["police_records_12m"].to_list() == [0.0] * 4
    assert got["ward_police_records_12m"].to_list() == [0.0] * 4


def test_they_are_never_a_reason_nor_constrained():
    cat = load_catalogue()
    names = [n for n, _, _ in cat.recording]
    assert len(names) == 12  # four agencies: own, ward, authority
    for n in names:
        f = cat.by_name(n)
        assert f.monotone == 0
        assert not any(readable_by(cat, n, role) for role in (None, *cat.roles))
    assert cat.by_name("ward_police_records_12m").describe(1.25) == (
        "the ward's households average 1.2 police records in the last 12 months"
    )


def test_an_area_the_features_are_not_kept_beside_is_refused_in_a_sentence():
    import yaml

    raw = yaml.safe_load((SQL_DIR / "features" / "catalogue.yaml").read_text())
    raw["recording"]["areas"] = {"street": "street_name"}
    with pytest.raises(ValueError, match="recording area street is column 'street_name'"):
        build_catalogue(raw)
    raw["recording"] = {"window": 24, "areas": {"ward": "ward_code"}}
    with pytest.raises(ValueError, match="recording window must be 12"):
        build_catalogue(raw)
