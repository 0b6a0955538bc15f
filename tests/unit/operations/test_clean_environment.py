"""The tests' clean environment (tests/support/environment.py) removes Hearth's variables and
nothing else: a subprocess that installs packages (the clean-venv pyfunc test) keeps the
machine's certificate, index and proxy settings, and a test's home is not another's warehouse."""

from __future__ import annotations

import os

import pytest

from tests.support.environment import clear_hearth, without_hearth

MACHINE = {
    "PATH": "/opt/bin:/usr/bin",
    "HOME": "/home/analyst",
    "SSL_CERT_FILE": "/etc/council/ca.pem",
    "REQUESTS_CA_BUNDLE": "/etc/council/ca.pem",
    "UV_INDEX_URL": "https://mirror.council.example/simple",
    "UV_NATIVE_TLS": "1",
    "PIP_CERT": "/etc/council/ca.pem",
    "HTTPS_PROXY": "http://proxy.council.example:3128",
    "NO_PROXY": "localhost",
}
HEARTHS = {
    "HEARTH_HOME": "/srv/hearth",
    "HEARTH_WAREHOUSE": "/srv/hearth/other.duckdb",
    "HEARTH_LANDING": "/srv/landing",
    "HEARTH_CLOCK": "2026-01-15",
    "DAGSTER_HOME": "/srv/dagster",
    "MLFLOW_TRACKING_URI": "http://mlflow.council.example",
}


def test_the_machines_settings_are_kept_and_only_hearths_removed():
    env = without_hearth({**MACHINE, **HEARTHS}, VIRTUAL_ENV="/tmp/clean")
    assert env == {**MACHINE, "VIRTUAL_ENV": "/tmp/clean"}


def test_named_extras_are_dropped_too():
    env = without_hearth({**MACHINE, "PYTHONPATH": "/checkout"}, drop=("PYTHONPATH",))
    assert env == MACHINE


def test_clearing_unsets_every_hearth_variable_of_the_process(monkeypatch):
    for name, value in {**HEARTHS, "SSL_CERT_FILE": "/etc/council/ca.pem"}.items():
        monkeypatch.setenv(name, value)
    mp = pytest.MonkeyPatch()
    try:
        clear_hearth(mp, HEARTH_HOME="/tmp/test-home")
        hearths = {k: v for k, v in os.environ.items() if k in HEARTHS or k.startswith("HEARTH_")}
        assert hearths == {"HEARTH_HOME": "/tmp/test-home"}
        assert os.environ["SSL_CERT_FILE"] == "/etc/council/ca.pem"
    finally:
        mp.undo()
    assert os.environ["HEARTH_WAREHOUSE"] == HEARTHS["HEARTH_WAREHOUSE"]  # undone with mp


def test_the_hearth_home_fixture_leaves_no_other_hearth_variable(hearth_home):
    left = {k for k in os.environ if k.startswith("HEARTH_") or k in HEARTHS}
    assert left == {"HEARTH_HOME"} and os.environ["HEARTH_HOME"] == str(hearth_home)
