"""`--train-config` of `hearth run` and `hearth partnership run` (hearth/cli/launch.py:
train_settings_or_fail): a file that cannot be used is refused before any work, in one sentence
naming the file and the setting, exit code 2; the value is never repeated (a setting's value
could be anything a user pasted)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hearth.cli.app import app
from tests.unit.operations.test_run_input import _files, _landing

SECRET = "9434765919"  # shaped like an NHS number: must never be echoed


@pytest.mark.parametrize("command", [["run"], ["partnership", "run"]])
@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"max_iter: 50\nmax_itre: {SECRET}\n", "unknown training setting 'max_itre'"),
        (f"max_iter: 'x{SECRET}'\n", "training setting 'max_iter'"),
        (f"- {SECRET}\n", "must hold settings as name: value pairs"),
        ("max_iter: [1\n", "Could not read training settings"),
    ],
    ids=["unknown", "wrong-type", "not-a-mapping", "not-yaml"],
)
def test_a_bad_training_settings_file_is_refused_in_one_sentence(tmp_path, command, text, words):
    landing = _landing(tmp_path, ["2024-01", "2024-02"])
    config = tmp_path / "train.yaml"
    config.write_text(text)
    before = _files(tmp_path)
    result = CliRunner().invoke(
        app,
        [*command, "--landing", str(landing), "--train-config", str(config)],
        env={"COLUMNS": "400"},
    )
    out = result.output
    assert result.exit_code == 2, out
    assert words in out and str(config) in out
    assert SECRET not in out
    assert "Traceback" not in out
    assert len(out.strip().splitlines()) == 1
    assert _files(tmp_path) == before  # refused before any work


def test_a_good_training_settings_file_is_read(tmp_path):
    from hearth.cli.launch import read_train_settings

    config = tmp_path / "train.json"
    config.write_text('{"max_iter": 40, "calibration": "isotonic"}')
    assert read_train_settings(config) == {"max_iter": 40, "calibration": "isotonic"}
