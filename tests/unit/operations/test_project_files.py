"""The files Hearth reads at run time besides its Python (sql/, data_contracts/, expectations/,
deploy/, dagster.yaml, pyproject.toml) have one home, hearth/settings.py, that finds them in a
checkout and inside an installed wheel; the wheel's mapping ships every one of them."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from hearth import settings

CHECKOUT = Path(__file__).resolve().parents[3]


def _pyproject() -> dict:
    return tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_wheel_ships_every_project_file_inside_the_package():
    wheel = _pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]
    mapping = wheel["hooks"]["custom"]["force-include"]  # hatch_build.py adds them
    assert set(mapping) == set(settings.PROJECT_FILES)
    for name, target in mapping.items():
        assert target == f"hearth/{settings.PACKAGED_PROJECT}/{name}"
        assert (CHECKOUT / name).exists(), name
    assert {"hearth", "pipelines", "models"} <= set(wheel["packages"])


def test_dagster_project_names_its_code_location():
    tool = _pyproject()["tool"]
    assert tool["dg"]["project"]["code_location_name"] == settings.CODE_LOCATION == "hearth"
    assert tool["dagster"]["code_location_name"] == settings.CODE_LOCATION
    assert tool["dagster"]["module_name"] == settings.DEFINITIONS_MODULE


def test_hearth_ui_registers_the_location_under_the_project_s_name(monkeypatch, tmp_path):
    """Dagster warns on every load when the name a location is registered under differs from
    the project's code_location_name: `hearth ui` gives both servers the project's name."""
    from hearth.cli import ui

    started: list[list[str]] = []

    def fake_start(name, cmd, url, ready_path, log, env):
        started.append(cmd)
        if len(started) == 2:
            raise KeyboardInterrupt  # stop before anything is launched

    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    monkeypatch.setattr(ui, "start", fake_start)
    monkeypatch.setattr(ui, "stop", lambda servers: None)
    ui.ui_command(dagster_port=3999)
    webserver, daemon = started
    # a workspace file, not `-l`: dagster-webserver's `-l` is its URL path prefix
    # (the webserver is dagster-webserver's own command behind the Host allowlist)
    w = webserver.index("-w")
    assert webserver[1:3] == ["-m", "hearth.cli.ui_hosts"] and daemon[1:3] == ["run", "-w"]
    assert webserver[w + 1] == daemon[3]
    assert "-l" not in webserver and "-l" not in daemon
    import yaml

    workspace = yaml.safe_load(Path(webserver[w + 1]).read_text())
    assert workspace == {
        "load_from": [
            {"python_module": {"module_name": "pipelines.definitions", "location_name": "hearth"}}
        ]
    }


def test_code_location_is_hearth_in_a_checkout_of_any_name(tmp_path):
    import dagster as dg

    other = tmp_path / "not-called-hearth"
    other.mkdir()
    shutil.copyfile(CHECKOUT / "pyproject.toml", other / "pyproject.toml")
    tree = dg.ComponentTree.for_project(path_within_project=other)
    assert tree.code_location_name == "hearth"


def test_project_root_is_the_checkout_without_a_packaged_copy():
    assert settings.project_root() == CHECKOUT
    assert settings.project_path("sql/warehouse/session.sql").is_file()
    assert settings.SQL_DIR == CHECKOUT / "sql"


def test_project_root_prefers_the_copy_inside_an_installed_package(tmp_path, monkeypatch):
    packaged = tmp_path / "hearth" / settings.PACKAGED_PROJECT
    (packaged / "sql").mkdir(parents=True)
    (packaged / "pyproject.toml").write_text("[project]\nname = 'hearth'\n")
    monkeypatch.setattr(settings.resources, "files", lambda name: tmp_path / name)
    assert settings.project_root() == packaged.resolve()
    assert settings.project_path("sql") == packaged.resolve() / "sql"
    with pytest.raises(FileNotFoundError, match=r"Hearth's dagster.yaml is not in .*incomplete"):
        settings.project_path("dagster.yaml")


def test_project_path_takes_only_what_hearth_ships():
    with pytest.raises(ValueError, match="docs/operations.md is not one of the files"):
        settings.project_path("docs/operations.md")


# A path climbing from a module to the checkout's top folder: it does not exist when installed.
_CLIMB = re.compile(r"__file__\)?(\.resolve\(\))?\.(parents\s*\[|parent\.parent)")


def test_no_module_but_settings_builds_paths_from_the_checkout():
    found = []
    for root in ("hearth", "pipelines", "models"):
        for path in (CHECKOUT / root).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.relative_to(CHECKOUT).as_posix() == "hearth/settings.py":
                continue
            if _CLIMB.search(text):
                found.append(path.relative_to(CHECKOUT).as_posix())
    assert found == []


def test_the_climb_pattern_catches_both_forms():
    assert _CLIMB.search("ROOT = Path(__file__).resolve().parents[1]")
    assert _CLIMB.search("root=Path(__file__).parent.parent")
    assert not _CLIMB.search('RULES = Path(__file__).with_name("lead_agency.yaml")')
