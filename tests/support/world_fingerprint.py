"""A synthetic world's files held to an earlier main's, robust to the CPU: the truth's
probabilities are computed with exp/log, whose last bits differ between machines (numpy's SIMD
paths; a digest of an Intel machine's files failed on an AMD EPYC one at the same code), so
values that are not floats are held exactly (sha256) and each float column, and a JSON file's
floats, by its sum, sum of squares and position-weighted sum to a relative 1e-9."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest


def _sums(values) -> list[float]:
    x = np.asarray(values, dtype=np.float64)
    w = np.arange(1, len(x) + 1, dtype=np.float64)  # a reordering moves this one
    return [float(x.sum()), float((x * x).sum()), float((x * w).sum())]


def _split_json(value, floats: list[float], rest: list[str], path: str = "") -> None:
    if isinstance(value, dict):
        for k in sorted(value):
            _split_json(value[k], floats, rest, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _split_json(v, floats, rest, f"{path}/{i}")
    elif isinstance(value, float):
        floats.append(value)
    else:
        rest.append(f"{path}={value!r}")


def fingerprint(root: Path, skip: frozenset[str] = frozenset()) -> dict[str, object]:
    """Every file under `root` (but those named in `skip`): its non-float values exactly, its
    floats by `_sums`; any other file by its bytes."""
    fp: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name in skip:
            continue
        rel = str(p.relative_to(root))
        if p.suffix == ".parquet":
            df = pl.read_parquet(p)
            fp[f"{rel}:columns"] = hashlib.sha256(str(df.schema).encode()).hexdigest()
            for c, dtype in df.schema.items():
                if dtype.is_float():
                    fp[f"{rel}:{c}"] = _sums(df[c].fill_null(float("nan")).to_numpy())
                else:
                    text = "\n".join(map(str, df[c].to_list()))
                    fp[f"{rel}:{c}"] = hashlib.sha256(text.encode()).hexdigest()
        elif p.suffix == ".json":
            floats: list[float] = []
            rest: list[str] = []
            _split_json(json.loads(p.read_text()), floats, rest)
            fp[f"{rel}:values"] = hashlib.sha256("\n".join(rest).encode()).hexdigest()
            fp[f"{rel}:floats"] = _sums(floats)
        else:
            fp[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return fp


def assert_same_world(root: Path, kept: Path, skip: frozenset[str] = frozenset()) -> None:
    """`root`'s files are those fingerprinted in `kept` (a JSON of `fingerprint`)."""
    got = fingerprint(root, skip)
    want = json.loads(kept.read_text())
    assert got.keys() == want.keys()
    for key, value in want.items():
        expected = pytest.approx(value, rel=1e-9) if isinstance(value, list) else value
        assert got[key] == expected, key
