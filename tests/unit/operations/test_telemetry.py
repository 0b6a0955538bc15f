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


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.delenv("DG_CLI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def _dg_reads(path) -> dict:
    """The user settings as dg reads them (dagster_shared, which dg's telemetry check calls)."""
    from dagster_shared.utils.config import get_dg_config_path, load_config

    assert get_dg_config_path() == path  # the file Hearth writes is the one dg reads
    return load_config(path)


def test_dg_user_settings_switch_its_telemetry_off(config_home, monkeypatch):
    """`dg` ignores pyproject.toml's [tool.dg.cli] and ./.env for telemetry: only its user
    settings file (or $DAGSTER_HOME/dagster.yaml) can stop it queueing events in ~/.dagster."""
    path = settings.dg_telemetry_off()
    assert path == config_home / "dg.toml"
    assert _dg_reads(path)["cli"]["telemetry"]["enabled"] is False
    # DG_CLI_CONFIG names another file: that one is written
    monkeypatch.setenv("DG_CLI_CONFIG", str(config_home / "elsewhere.toml"))
    named = settings.dg_telemetry_off()
    assert named == config_home / "elsewhere.toml"
    assert _dg_reads(named)["cli"]["telemetry"]["enabled"] is False


def test_dg_user_settings_keep_what_the_user_had(config_home):
    config_home.mkdir()
    path = config_home / "dg.toml"
    path.write_text("[cli]\nverbose = true\n\n[cli.telemetry]\n", encoding="utf-8")
    settings.dg_telemetry_off()
    got = _dg_reads(path)["cli"]
    assert got == {"verbose": True, "telemetry": {"enabled": False}}
    # a choice the user made themselves is theirs
    path.write_text("[cli.telemetry]\nenabled = true\n", encoding="utf-8")
    settings.dg_telemetry_off()
    assert _dg_reads(path)["cli"]["telemetry"]["enabled"] is True


def test_every_hearth_command_switches_dg_telemetry_off(hearth_home, config_home):
    result = CliRunner().invoke(app, ["quarantine", "list", "--month", "2026/01"])
    assert result.exit_code == 2
    assert _dg_reads(config_home / "dg.toml")["cli"]["telemetry"]["enabled"] is False


def test_make_install_switches_dg_telemetry_off():
    makefile = (settings.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "settings.dg_telemetry_off()" in makefile
