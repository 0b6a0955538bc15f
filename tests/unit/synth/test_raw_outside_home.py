"""The agencies' raw extracts (names, dates of birth, identifiers) are never written inside
HEARTH_HOME: with the landing in its default place there (`HEARTH_HOME/landing`), `_raw` beside
it would be, so `hearth synth --agency-identifiers` refuses before writing anything."""

from __future__ import annotations

from typer.testing import CliRunner

from hearth.cli.app import app

BASE = ["synth", "--households", "200", "--months", "3", "--seed", "9", "--agency-identifiers"]


def test_raw_extracts_inside_the_home_are_refused(hearth_home, tmp_path):
    where = ["--out", str(hearth_home / "landing"), "--truth", str(tmp_path / "_truth")]
    beside = CliRunner().invoke(app, [*BASE, *where])
    assert beside.exit_code != 0
    assert "would be inside HEARTH_HOME" in beside.output and "--raw" in beside.output
    inside = CliRunner().invoke(app, [*BASE, *where, "--raw", str(hearth_home / "raw")])
    assert inside.exit_code != 0 and "would be inside HEARTH_HOME" in inside.output
    assert not (hearth_home / "_raw").exists() and not (hearth_home / "raw").exists()
    assert not (hearth_home / "landing" / "police").exists()
    ok = CliRunner().invoke(app, [*BASE, *where, "--raw", str(tmp_path / "_raw")])
    assert ok.exit_code == 0, ok.output
    assert list((tmp_path / "_raw" / "police").rglob("*.csv"))
