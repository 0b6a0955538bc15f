"""Nothing leaves the machine: Dagster's and MLflow's usage telemetry is off for every `hearth`
command, whenever the Dagster definitions load (dagster dev, dg, code servers and the runs they
start), and for `dagster`/`dg` commands run from the project folder."""

from __future__ import annotations

import tomllib

import pytest
import yaml
from typer.testing import CliRunner

from hearth import settings
from hearth.cli.app import app


@pytest.fixture
def telemetry_on(monkeypatch):
    """Each switch set the other way first (put back as it was after the test)."""
    for name in settings.TELEMETRY_OFF:
        monkeypatch.setenv(name, "false")


def _switches() -> dict[str, str | None]:
    import os

    return {name: os.environ.get(name) for name in settings.TELEMETRY_OFF}


def test_the_switches_cover_dagster_and_mlflow():
    assert settings.TELEMETRY_OFF == {
        "DAGSTER_DISABLE_TELEMETRY": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",  # MLflow reads DO_NOT_TRACK only when it is "true"
    }


def test_every_hearth_command_switches_telemetry_off(hearth_home, telemetry_on):
    # a command that stops at once on its argument still ran the app's callback first
    result = CliRunner().invoke(app, ["quarantine", "list", "--month", "2026/01"])
    assert result.exit_code == 2
    assert _switches() == settings.TELEMETRY_OFF


def test_loading_the_dagster_definitions_switches_telemetry_off(telemetry_on):
    from pipelines.definitions import defs

    defs()
    assert _switches() == settings.TELEMETRY_OFF


def test_dagster_and_dg_commands_run_from_the_project_send_nothing():
    """`dagster dev` without DAGSTER_HOME reads ./dagster.yaml and ./.env; dg reads
    pyproject.toml."""
    from dotenv import dotenv_values  # what Dagster reads ./.env with

    root = settings.PROJECT_ROOT
    assert dotenv_values(root / ".env") == settings.TELEMETRY_OFF
    shipped = yaml.safe_load((root / "dagster.yaml").read_text(encoding="utf-8"))
    assert shipped["telemetry"] == {"enabled": False}
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["dg"]["cli"]["telemetry"] == {"enabled": False}
