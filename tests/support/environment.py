"""Hearth's own environment variables, and an environment without them.

A test that points Hearth at a home of its own, or starts a process that must not see the
machine's Hearth, removes Hearth's variables and nothing else: the machine's certificate, package
index and proxy settings (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, UV_*, PIP_*, HTTPS_PROXY, ...) are
kept, so a test that installs packages works on a machine whose network needs them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pytest

# Besides every HEARTH_* variable: the Dagster home and MLflow store Hearth sets and reads.
HEARTH_OTHERS = ("DAGSTER_HOME", "MLFLOW_TRACKING_URI")


def is_hearths(name: str) -> bool:
    return name.startswith("HEARTH_") or name in HEARTH_OTHERS


def without_hearth(
    base: Mapping[str, str] | None = None, drop: Iterable[str] = (), **extra: str
) -> dict[str, str]:
    """`base` (default os.environ) less Hearth's variables and `drop`, plus `extra`."""
    dropped = set(drop)
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not is_hearths(k) and k not in dropped
    }
    return env | extra


def clear_hearth(mp: pytest.MonkeyPatch, **extra: str) -> None:
    """Unset every Hearth variable of this process through `mp` (undone with it), then set
    `extra` (HEARTH_HOME=..., HEARTH_CLOCK=...)."""
    for name in [k for k in os.environ if is_hearths(k)]:
        mp.delenv(name, raising=False)
    for name, value in extra.items():
        mp.setenv(name, value)
