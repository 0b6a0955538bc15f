"""A small household feature world with a quick gradient-boosted model fitted on it, for the
scoring tests (what a list is scored and explained with)."""

from __future__ import annotations

import numpy as np
import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.modelling.training.fit import make_estimator
from hearth.modelling.training.params import TrainParams
from tests.support.role_world import feature_world


def fitted_world(n: int, seed: int, label_seed: int) -> tuple[object, list[str], pl.DataFrame]:
    """(model, its feature names, the frame): `n` households of `feature_world(n, seed)`, crises
    drawn (`label_seed`) from their crisis and anti-social behaviour records."""
    cat = load_catalogue()
    frame = feature_world(n, seed=seed)
    names = [f.name for f in cat.features if f.kind in ("household", "derived", "recency")]
    rng = np.random.default_rng(label_seed)
    logit = (-3 + 0.8 * frame["crisis_records_12m"] + 0.6 * frame["asb_12m"]).to_numpy()
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = make_estimator("gradient_boosting", TrainParams(max_iter=20), names)
    model.fit(frame.select(names).to_numpy(), y)
    return model, names, frame
