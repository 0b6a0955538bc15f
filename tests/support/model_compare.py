"""Two fitted models compared value for value, and a partnership home's registered version read
back from MLflow.

A registered model's pickle (MLflow's python_model.pkl) is not the same bytes twice even for the
very same model: cloudpickle gives each class it pickles by value (Hearth's, hearth/modelling/
registry/portable.py) a fresh random id, and pickle's memo follows which objects are shared
in memory (a model read back from a file shares fewer strings than one just fitted). So the
model itself is compared: every array by its dtype, shape and bytes, every other attribute by
equality (or, for an object whose equality is its identity, by its pickled state), all the way
down."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def differences(a, b, where: str = "model") -> list[str]:
    """Where `a` and `b` differ (empty: the same model, bit for bit in every array)."""
    if type(a).__name__ != type(b).__name__:
        return [f"{where}: {type(a).__name__} against {type(b).__name__}"]
    if isinstance(a, np.ndarray):
        same = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
        return [] if same else [where]
    if isinstance(a, dict):
        if list(a) != list(b):
            return [f"{where}: its keys"]
        return [d for k in a for d in differences(a[k], b[k], f"{where}[{k!r}]")]
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return [f"{where}: its length"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{i}]")
        ]
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return differences(vars(a), vars(b), f"{where}.")
    if isinstance(a, float) and np.isnan(a):
        return [] if np.isnan(b) else [where]
    if a == b:
        return []
    # a leaf with no attributes of its own to compare and no equality but identity (a random
    # generator, scikit-learn's compiled loss): by its pickled state
    return [] if pickle.dumps(a) == pickle.dumps(b) else [where]


def registered_model(home: Path, version: str = "1"):
    """The registered version's pyfunc model (Hearth's HouseholdRisk: the estimator, its
    features, its recency cap) from the home's MLflow store."""
    import mlflow

    from hearth.modelling.registry.client import Registry

    registry = Registry(f"sqlite:///{home / 'mlflow.db'}")
    source = registry.client.get_model_version(registry.name, version).source
    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=source,
        dst_path=str(home.parent / f"model-{version}"),
        tracking_uri=registry.uri,
    )
    return pickle.loads((Path(folder) / "python_model.pkl").read_bytes())  # noqa: S301 (our own)
