"""feature_importance.csv as the registry writes it (hearth/modelling/registry/run_log.py
`_importance`), for every candidate that can be chosen (issue 27, point 7: it was all zeros for
all 299 features whenever the ensemble was chosen). The crises of the world follow breathing
problems and domestic abuse: the file must rank a feature of those first and weigh more than a
couple of features, whichever candidate publishes."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl
import pytest

from hearth.features.catalogue import load_catalogue
from hearth.modelling.registry.run_log import _importance
from hearth.modelling.training.fit import fit_candidate
from hearth.modelling.training.params import TrainParams
from tests.unit.modelling.test_selection import SMALL
from tests.unit.modelling.test_training import window

SIGNAL = ("breathing", "respiratory", "domestic_abuse", "crisis", "agencies", "police")


@pytest.fixture(scope="module")
def area():
    cat = load_catalogue()
    names = cat.usable_names(12)
    return names, window("2024-01", 1, n=2500), window("2025-01", 2, n=2500)


@pytest.mark.parametrize(
    ("kind", "calibration"),
    [
        ("baseline", "crossfit"),
        ("logistic", "crossfit"),
        ("gradient_boosting", "crossfit"),
        ("ensemble", "crossfit"),
        ("ensemble", "sigmoid"),
    ],
)
def test_the_importance_file_is_right_for_every_candidate(area, kind, calibration, tmp_path):
    names, train, valid = area
    params = TrainParams(**{**vars(SMALL), "calibration": calibration})
    model = fit_candidate(kind, train.X(names), train.y, train.pids, names, params)
    result = SimpleNamespace(model=model, feature_names=names, recency_cap=12)
    path = _importance(result, valid.frame, tmp_path)
    assert path is not None and path.name == "feature_importance.csv", path
    table = pl.read_csv(path)
    assert table.columns == ["feature", "mean_abs_contribution"]
    assert sorted(table["feature"].to_list()) == sorted(names)  # every feature, once
    weights = table["mean_abs_contribution"]
    assert weights.is_finite().all() and (weights >= 0).all()
    assert (weights > 0).sum() >= 2, kind  # never all zeros
    assert weights.to_list() == sorted(weights.to_list(), reverse=True)  # strongest first
    top = table["feature"][0]
    if kind == "baseline":  # counting contacts weighs every 12-month count alike
        assert top.endswith("_12m"), top
    else:
        assert any(w in top for w in SIGNAL), (kind, top)
