"""The agencies' raw extracts (names, dates of birth, identifiers) are never written inside
HEARTH_HOME: `hearth synth` (the agencies' own identifiers by default) refuses a `--raw` folder
inside the home before writing anything, and without `--raw` makes them in a temporary folder
outside it, deleted once each agency's landing is made from its extract."""

from __future__ import annotations

import tempfile
from pathlib import Path

from typer.testing import CliRunner

from hearth.cli.app import app

BASE = ["synth", "--households", "200", "--months", "3", "--seed", "9"]


def _raw_temporaries() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("hearth-raw-*"))


def _private_temp(tmp_path: Path, monkeypatch) -> Path:
    """A temporary folder of this test's own: another worker's `hearth synth` makes and
    deletes its raw folder in the machine's shared one meanwhile."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    return private


def test_raw_extracts_inside_the_home_are_refused(hearth_home, tmp_path):
    where = ["--out", str(hearth_home / "landing"), "--truth", str(tmp_path / "_truth")]
    inside = CliRunner().invoke(app, [*BASE, *where, "--raw", str(hearth_home / "raw")])
    assert inside.exit_code != 0 and "would be inside HEARTH_HOME" in inside.output
    assert "Traceback" not in inside.output
    assert not (hearth_home / "raw").exists()
    assert not (hearth_home / "landing" / "police").exists()
    ok = CliRunner().invoke(app, [*BASE, *where, "--raw", str(tmp_path / "_raw")])
    assert ok.exit_code == 0, ok.output
    assert list((tmp_path / "_raw" / "police").rglob("*.csv"))


def test_without_raw_the_extracts_are_made_outside_the_home_and_deleted(
    hearth_home, tmp_path, monkeypatch
):
    _private_temp(tmp_path, monkeypatch)
    before = _raw_temporaries()
    assert before == set()
    where = ["--out", str(hearth_home / "landing"), "--truth", str(tmp_path / "_truth")]
    made = CliRunner().invoke(app, [*BASE, *where])
    assert made.exit_code == 0, made.output
    # the agencies' identifiers by default: police sent tokens, never a name
    police = next((hearth_home / "landing" / "police").rglob("*.csv")).read_text()
    assert "given_token" in police.splitlines()[0] and "surname" not in police
    assert "raw extracts were deleted" in " ".join(made.output.split())
    assert not (hearth_home / "_raw").exists() and _raw_temporaries() == before
    assert [p.name for p in hearth_home.iterdir()] == ["landing"]


def test_shared_keys_keep_the_earlier_world(hearth_home, tmp_path):
    out = tmp_path / "landing"
    made = CliRunner().invoke(
        app, [*BASE, "--shared-keys", "--out", str(out), "--truth", str(tmp_path / "_truth")]
    )
    assert made.exit_code == 0, made.output
    police = next((out / "police").rglob("*.csv")).read_text().splitlines()[0]
    assert "person_pid" in police and "given_token" not in police
