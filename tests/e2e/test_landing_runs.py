"""The landing is the truth, end to end through `hearth run` (issue 13, points 1 and 3): a
mis-filed future month and files Hearth cannot read stop the run with sentences and leave the
published list as it was; once they are removed, the next run publishes the same list for the
same month — not a list for a month that has not begun."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from hearth.cli.launch import run_pipeline
from hearth.sources import landing_file_name
from tests.conftest import QUICK_TRAINING
from tests.e2e.test_quality_runs import snapshot
from tests.support.first_runs import LANDING_CLOCK, private_landing_first_run

pytestmark = pytest.mark.slow


@pytest.fixture
def first_run(tmp_path_factory, tmp_path, hearth_home) -> Path:
    """A private copy of the landing world's first run (1,000 households and 26 months, the
    shortest history a run trains on; shared with test_removal_runs.py)."""
    return private_landing_first_run(tmp_path_factory, tmp_path, hearth_home)


def test_a_future_folder_and_unread_files_never_take_over_the_list(
    first_run, hearth_home, monkeypatch
):
    monkeypatch.setenv("HEARTH_CLOCK", LANDING_CLOCK)
    monkeypatch.setenv("DAGSTER_HOME", str(hearth_home / "dagster"))
    landing = first_run  # one run has published from it (with QUICK_TRAINING, on that clock)
    outputs = hearth_home / "outputs"
    first_folder = (outputs / "latest").resolve()
    assert first_folder.name == "2026-01"
    before = snapshot(outputs)

    # police's December copied into a month that has not begun, a register month from the
    # future, a workbook beside fire's December and a folder that is not a month
    police_dec = landing / "police" / "2025-12" / landing_file_name("police", "2025-12")
    (landing / "police" / "2026-02").mkdir()
    shutil.copy(police_dec, landing / "police" / "2026-02" / "police_2026-02.csv")
    people_dec = landing / "people" / "2025-12" / landing_file_name("people", "2025-12")
    (landing / "people" / "2026-03").mkdir()
    shutil.copy(people_dec, landing / "people" / "2026-03" / "people_2026-03.parquet")
    (landing / "fire" / "2025-12" / "fire_2025-12_part2.xlsx").write_bytes(b"PK\x03\x04")
    (landing / "health" / "2025-8").mkdir()
    second = run_pipeline(landing, train_config=QUICK_TRAINING, say=lambda _: None)
    assert not second.success
    stopped = {p.split("]")[0].lstrip("[") for p in second.problems}
    assert stopped == {
        f"{s}_extract · all_files_read" for s in ("police", "people", "fire", "health")
    }
    text = " ".join(second.problems)
    assert "police/2026-02: not read; folder 2026-02 is after this run's month (2026-01)" in text
    assert "fire/2025-12/fire_2025-12_part2.xlsx: not read; it is an Excel workbook" in text
    assert "health/2025-8: not read; folder '2025-8' is not an extract month" in text
    assert snapshot(outputs) == before
    last = json.loads((hearth_home / "last_run.json").read_text())
    assert last["status"] == "stopped"
    assert {u["path"] for u in last["not_read"] if u["blocking"]} == {
        "police/2026-02",
        "people/2026-03",
        "fire/2025-12/fire_2025-12_part2.xlsx",
        "health/2025-8",
    }

    for p in ("police/2026-02", "people/2026-03", "health/2025-8"):
        shutil.rmtree(landing / p)
    (landing / "fire" / "2025-12" / "fire_2025-12_part2.xlsx").unlink()
    third = run_pipeline(landing, train_config=QUICK_TRAINING, say=lambda _: None)
    assert third.success, third.problems
    assert third.output_folder.name == "2026-01"
    assert sorted(p.name for p in outputs.iterdir() if not p.name.startswith(".")) == [
        "2026-01",
        "latest",
    ]
    ranked = pl.read_csv(third.output_folder / "ranked_households.csv")
    assert ranked["score"].n_unique() > ranked.height // 4
    summary = json.loads((third.output_folder / "run_summary.json").read_text())
    assert all(s["balanced"] for s in summary["sources"].values())
    assert summary["not_read"] == []
    assert _list(first_folder, before) == ranked.drop("score").to_dicts()


def _list(folder: Path, snap: dict) -> list[dict]:
    """The first run's ranked list (less scores, which a retrain may move in the last digit),
    from the snapshot taken before the second run."""
    key = f"{folder.name}/ranked_households.csv"
    import io

    return pl.read_csv(io.BytesIO(snap[key])).drop("score").to_dicts()
