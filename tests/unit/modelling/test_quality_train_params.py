"""`benchmarks/quality.py --train NAME=VALUE`: the recipe measured with one training parameter
changed (the before of a change that is on by default), each value read as its field's type."""

from __future__ import annotations

import pytest

from benchmarks.quality import train_params
from hearth.modelling.training.params import TrainParams


def test_train_settings_are_read_as_their_fields_types():
    got = train_params(["bagged_trees=false", "max_iter=20", "learning_rate=0.1"])
    assert got.bagged_trees is False and got.max_iter == 20 and got.learning_rate == 0.1
    assert train_params(["bagged_trees=TRUE"]).bagged_trees is True
    assert train_params([]) == TrainParams()


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("bagged_tree=false", "'bagged_tree' is not a TrainParams number, word or flag"),
        ("candidates=logistic", "'candidates' is not a TrainParams number, word or flag"),
        ("bagged_trees=no", "bagged_trees is true or false"),
    ],
)
def test_a_setting_it_cannot_apply_is_refused_in_a_sentence(setting, says):
    with pytest.raises(SystemExit, match=says):
        train_params([setting])
