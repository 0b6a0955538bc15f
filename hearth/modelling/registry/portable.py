"""The registered model as anyone can use it: an MLflow pyfunc whose `predict` returns each
household's chance of a crisis in the next 12 months (the list's `score`), not a 0/1 label.

`HouseholdRisk` wraps the fitted estimator with its feature names and "months since" cap, so
a caller hands it the household features as Hearth stores them (HEARTH_HOME/features/, any
numeric dtype, extra columns ignored) and gets what Hearth publishes. It is pickled *by value*
(`portable_pickle`): its own class and every Hearth class inside the estimator (the contact-count
baseline, the logistic transform) travel in the pickle, so loading needs only the logged
requirements (scikit-learn, numpy, pandas, cloudpickle, mlflow), never Hearth's source."""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

# Modules of this project: pickled by value, since a clean environment cannot import them.
OWN_PACKAGES = ("hearth",)
RECENCY_SUFFIX = "_months_since"  # hearth/features/design.py:cap_recency caps these columns


class HouseholdRisk(PythonModel):
    """predict(frame) -> the probability of a crisis for each row, as float64."""

    def __init__(self, estimator, feature_names: list[str], recency_cap: int):
        self.estimator = estimator
        self.feature_names = list(feature_names)
        self.recency_cap = int(recency_cap)

    def matrix(self, frame) -> np.ndarray:
        """The estimator's input: the features in order, "months since" capped as at training
        (beyond the cap reads cap + 1), as float32 like Hearth's own scoring."""
        missing = [n for n in self.feature_names if n not in frame.columns]
        if missing:
            raise ValueError(
                f"The input has no column {missing[0]!r} ({len(missing)} of the model's "
                f"{len(self.feature_names)} features are missing); pass the household features "
                "as Hearth stores them."
            )
        X = np.array(frame[self.feature_names].to_numpy(dtype=np.float64), dtype=np.float64)
        capped = [i for i, n in enumerate(self.feature_names) if n.endswith(RECENCY_SUFFIX)]
        if capped:
            X[:, capped] = np.minimum(X[:, capped], self.recency_cap + 1)
        return X.astype(np.float32)

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return self.estimator.predict_proba(self.matrix(model_input))[:, 1].astype(np.float64)


def own_modules(data: bytes) -> set[str]:
    """The project's modules that a pickle refers to by name (found by loading it here, where
    they can be imported, and noting every class and function it looks up)."""
    found: set[str] = set()

    class _Spy(pickle.Unpickler):
        def find_class(self, module, name):
            found.add(module)
            return super().find_class(module, name)

    _Spy(io.BytesIO(data)).load()
    return {m for m in found if m.split(".")[0] in OWN_PACKAGES}


@contextmanager
def pickled_by_value(obj) -> Iterator[bytes]:
    """While inside, every project module that `obj` uses is pickled by value (so MLflow's own
    cloudpickle of the model needs no Hearth source to load); yields the portable pickle.
    RuntimeError if a module is still referred to by name."""
    import cloudpickle  # cloudpickle

    registered: list = []
    try:
        for _ in range(20):
            data = cloudpickle.dumps(obj, protocol=pickle.DEFAULT_PROTOCOL)
            own = own_modules(data)
            if not own:
                break
            for name in sorted(own):
                module = sys.modules.get(name) or importlib.import_module(name)
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
        else:
            raise RuntimeError("The model still refers to Hearth's modules by name.")
        yield data
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)
