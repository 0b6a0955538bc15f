"""What makes two trainings the same (hearth/modelling/registry/run_log.py): the digest of every
window a training read, its settings, its training code and feature catalogue, and the library
versions. A retrain with the same fingerprint registers no new version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import polars as pl

import hearth.modelling
from hearth.settings import SQL_DIR


@dataclass(frozen=True)
class Fingerprint:
    """A digest of everything a training depends on, and one per window it read."""

    digest: str
    windows: dict[str, str] = field(default_factory=dict)  # context -> digest


def frame_digest(frame: pl.DataFrame, y: np.ndarray | None = None) -> str:
    """The content of a window (its columns, every row's values, its labels)."""
    h = hashlib.sha256(json.dumps(frame.columns).encode())
    h.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    if y is not None:
        h.update(np.asarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()[:32]


def training_fingerprint(
    windows: dict[str, tuple[pl.DataFrame, np.ndarray]], params
) -> Fingerprint:
    """Same windows, same settings, same library versions: the same training."""

    import sklearn  # sklearn

    try:
        hearth_version = version("hearth")
    except PackageNotFoundError:  # a checkout that is not installed
        hearth_version = "checkout"
    digests = {context: frame_digest(frame, y) for context, (frame, y) in windows.items()}
    setting = json.dumps(
        {
            "windows": digests,
            "code": code_digest(),
            "params": repr(params),
            "hearth": hearth_version,
            "scikit-learn": sklearn.__version__,
            "polars": pl.__version__,
        },
        sort_keys=True,
    )
    return Fingerprint(hashlib.sha256(setting.encode()).hexdigest()[:32], digests)


def code_digest() -> str:
    """The training code and the feature catalogue as they are now: a changed recipe is
    another training even on the same data (a checkout's version number does not move)."""

    h = hashlib.sha256()
    modelling = Path(hearth.modelling.__file__).parent  # all its sub-packages
    files = sorted(modelling.rglob("*.py")) + sorted(modelling.rglob("*.yaml"))
    for path in [*files, SQL_DIR / "features" / "catalogue.yaml"]:
        inside = path.is_relative_to(modelling)
        name = path.relative_to(modelling).as_posix() if inside else path.name
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"")
    return h.hexdigest()[:32]
