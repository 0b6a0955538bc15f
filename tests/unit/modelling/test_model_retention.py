"""Retention in the model registry (models/retention.py) on a real SQLite MLflow store: a
version trained only on records past retention goes, with its run and its artifact folders;
the champion, the versions holding an alias and the newest stay."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from models.promotion import MlflowStore
from models.registry import Registry
from models.retention import data_window_end
from models.run_log import log_and_promote
from tests.unit.modelling.test_registry import NAMES, result_for
from tests.unit.modelling.test_registry import window as window  # noqa: F401 (fixture)


def _model(weights: tuple[float, float]) -> LogisticRegression:
    m = LogisticRegression()
    m.coef_, m.intercept_ = np.array([list(weights)]), np.array([-3.0])
    m.classes_ = np.array([0, 1])
    return m


def test_a_data_window_ends_with_its_newest_labels():
    assert data_window_end({"valid_as_of": "2019-01", "refit_as_of": "none"}) == "2020-01"
    assert data_window_end({"valid_as_of": "2019-01", "refit_as_of": "2020-06"}) == "2020-06"
    assert data_window_end({}) is None


def test_versions_past_retention_go_but_never_the_champion_or_the_newest(hearth_home, window):  # noqa: F811
    frame, y = window
    X = frame.select(NAMES).to_numpy()
    made = {}
    for valid, model in (
        ("2019-01", LogisticRegression().fit(X, y)),  # champion: the best, and old
        ("2019-06", _model((0.0, 1.0))),  # a challenger, old: loses its alias to the next
        ("2019-07", _model((0.1, 1.0))),  # old, no alias
        ("2025-01", _model((0.2, 1.0))),  # the newest
    ):
        result = dataclasses.replace(result_for(model, frame, y), valid_as_of=valid)
        out = log_and_promote(Registry(), result, frame, y, {}, fixed_k=100)
        made[valid] = out
    assert made["2019-01"].alias == "champion"
    registry = Registry()
    client = registry.client
    folders = {
        v: Path(client.get_run(o.run_id).info.artifact_uri.removeprefix("file://")).parent
        for v, o in made.items()
    }
    assert all(f.is_dir() for f in folders.values())

    gone = MlflowStore(registry).expire_versions("2021-01")

    assert sorted(gone) == sorted([made["2019-06"].version, made["2019-07"].version])
    left = {str(mv.version) for mv in registry.versions()}
    assert left == {made["2019-01"].version, made["2025-01"].version}
    for v in ("2019-06", "2019-07"):
        assert client.get_run(made[v].run_id).info.lifecycle_stage == "deleted"
        assert not folders[v].exists()
    assert folders["2019-01"].is_dir() and folders["2025-01"].is_dir()
    # the champion still loads and scores
    model, _, champ = Registry().load_champion()
    assert str(champ.version) == made["2019-01"].version
    # nothing more to delete the same day
    assert MlflowStore(Registry()).expire_versions("2021-01") == []
