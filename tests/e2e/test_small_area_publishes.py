"""Issue 27: on a fresh 1,500-household world (seed 3) the first run published nothing, because
the chosen model's precision at 1% (4 of 15 households) did not strictly beat counting
contacts' (4 of 15). The gate now judges "better than counting contacts" with its uncertainty
and, when no learned model is better beyond chance, publishes the contact-count ranking and
says so in every output. One whole run, with the default training settings a council gets, on
seed 6: since the trees draw half the features per split (dadecc5) the ensemble leads counting
contacts beyond chance on seed 3, while on seeds 6, 7 and 8 no learned model does (checked)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from hearth.cli.launch import run_pipeline

pytestmark = pytest.mark.slow
HOUSEHOLDS = 1_500


@pytest.fixture(scope="module")
def small_area_run(tmp_path_factory):
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("small_area")
    synthesise(root / "landing", root / "_truth", households=HOUSEHOLDS, seed=6)
    home = root / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_HOME", str(home))
    for var in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI"):
        mp.delenv(var, raising=False)
    lines: list[str] = []
    try:
        outcome = run_pipeline(root / "landing", say=lines.append)
    finally:
        mp.undo()
    return home, outcome, lines


def test_a_small_area_gets_a_list_and_every_output_says_how_it_was_ranked(small_area_run):
    from openpyxl import load_workbook

    home, outcome, lines = small_area_run
    assert outcome.success, outcome.problems
    folder = home / "outputs" / "2026-01"
    ranked = pl.read_parquet(folder / "ranked_households.parquet")
    assert ranked.height == HOUSEHOLDS and ranked["score"].n_unique() > 1
    summary = json.loads((folder / "run_summary.json").read_text())
    model = summary["model"]
    said = model.get("contact_count")
    # on this world no learned model leads counting contacts beyond chance: the contact-count
    # ranking publishes
    assert model["candidate"] == "baseline" and said, model
    assert model["alias"] == "champion"  # the first version, by the unchanged promotion rule
    report = (folder / "report.html").read_text(encoding="utf-8")
    card = (folder / "model" / "model_card.md").read_text(encoding="utf-8")
    cover = load_workbook(folder / "ranked_households.xlsx", read_only=True)["About this list"]
    cover_text = " ".join(str(c) for row in cover.iter_rows(values_only=True) for c in row if c)
    for where, text in (("report", report), ("card", card), ("cover", cover_text)):
        assert "contact-count ranking" in text, where
    assert "The contact-count ranking.</strong>" in report
    assert said.startswith("No learned model (logistic regression, gradient-boosted trees, ")
    assert "counting each household's agency contacts beyond chance" in said
    assert said in cover_text and said in card
    assert any(said in line for line in lines), lines[-20:]  # the run's own progress
    # the card shows the calibration of the model that publishes, by band of the list
    assert "## Calibration" in card and "| top 1% |" in card
    assert "Chosen: the " in card
