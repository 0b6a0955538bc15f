"""Bad input to `hearth run`, `hearth synth` and `hearth demo` is refused before any work, in
one sentence and within seconds: a month that is not a month, an as-of month no run could use
(after the newest extract, or too early to train), a household count below two."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.features.design import as_of_refusal

SECONDS = 10  # the checks read only the argument and the landing's folder names


def _landing(root: Path, months: list[str]) -> Path:
    for m in months:
        f = root / "landing" / "fire" / m / f"fire_{m}.csv"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("a\n1\n")
    return root / "landing"


def _invoke(args: list[str]):
    started = time.perf_counter()
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    return result, time.perf_counter() - started


@pytest.mark.parametrize(
    ("as_of", "sentence"),
    [
        ("2026/01", "'2026/01' is not a month: write it as YYYY-MM, e.g. 2026-01."),
        ("Jan-2026", "'Jan-2026' is not a month: write it as YYYY-MM"),
        ("2026-1", "'2026-1' is not a month"),
        ("2026-13", "'2026-13' has no month 13: months run 01 to 12."),
        ("2026-00", "'2026-00' has no month 00"),
        (
            "2030-01",
            "The as-of month 2030-01 is 49 months after the newest extract, 2025-12: a run "
            "scores at the month after the newest extract (2026-01) or earlier.",
        ),
        ("2026-02", "2026-02 is 2 months after the newest extract, 2025-12"),
        ("2025-01", "the earliest as-of month they allow is 2025-02"),
    ],
)
def test_a_bad_as_of_is_refused_in_seconds_with_a_sentence(hearth_home, as_of, sentence):
    landing = _landing(hearth_home, ["2023-01", "2024-06", "2025-12"])
    result, took = _invoke(["run", "--landing", str(landing), "--as-of", as_of])
    assert result.exit_code == 2, result.output
    assert took < SECONDS
    assert sentence in result.output
    assert "Traceback" not in result.output and "Running Hearth" not in result.output
    # nothing was started: no Dagster instance, no warehouse
    assert not (hearth_home / "dagster").exists()
    assert not (hearth_home / "warehouse.duckdb").exists()


def test_the_as_of_bounds_are_exact():
    """From 25 months after the first landed month (24 to the training date, one month of
    history before it) to the month after the newest."""
    assert as_of_refusal("2026-01", "2023-01", "2025-12") is None
    assert as_of_refusal("2025-02", "2023-01", "2025-12") is None
    assert as_of_refusal("2025-12", "2023-01", "2025-12") is None
    assert "2 months after the newest" in as_of_refusal("2026-02", "2023-01", "2025-12")
    assert "too early" in as_of_refusal("2025-01", "2023-01", "2025-12")


@pytest.mark.parametrize("command", ["demo", "synth"])
def test_a_household_count_below_two_is_refused_before_any_work(hearth_home, command):
    args = [command, "--households", "-5"]
    if command == "synth":
        args += ["--out", str(hearth_home / "l"), "--truth", str(hearth_home / "t")]
    result, took = _invoke(args)
    assert result.exit_code == 2 and took < SECONDS
    assert "--households" in result.output and "Traceback" not in result.output
    assert not (hearth_home / "landing").exists() and not (hearth_home / "l").exists()


@pytest.mark.parametrize("end", ["2025/12", "2025-13", "Dec-2025"])
def test_synth_refuses_an_end_that_is_not_a_month(hearth_home, end):
    out = hearth_home / "l"
    result, took = _invoke(
        ["synth", "--out", str(out), "--truth", str(hearth_home / "t")]
        + [
            "--end",
            end,
        ]
    )
    assert result.exit_code == 2 and took < SECONDS
    assert f"The last extract month (--end) {end!r}" in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", ["publish", "plan"])
def test_a_published_month_that_is_not_a_month_is_refused(hearth_home, command):
    args = [command, "--as-of", "2026/01"]
    if command == "plan":
        args += ["--capacity", str(hearth_home / "capacity.yaml")]
    result, took = _invoke(args)
    assert result.exit_code == 2 and took < SECONDS
    assert "The published month (--as-of) '2026/01' is not a month" in result.output


def test_synth_refuses_an_unknown_mechanism_before_any_work(hearth_home):
    out = hearth_home / "l"
    args = ["synth", "--out", str(out), "--truth", str(hearth_home / "t")]
    result, took = _invoke([*args, "--mechanism", "seasonality", "--mechanism", "weather"])
    assert result.exit_code == 2 and took < SECONDS
    assert "Unknown world mechanism weather: choose from drawn_table" in result.output
    assert "Traceback" not in result.output and not out.exists()
