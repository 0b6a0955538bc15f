"""The whole graph, materialised through Dagster on a small synthetic world in a temporary
HEARTH_HOME: what an officer's `hearth run` does."""

from __future__ import annotations

import json

import polars as pl
import pytest

from pipelines.launch import run_pipeline
from tests.conftest import FAST_TRAINING, SMALL_HOUSEHOLDS

pytestmark = pytest.mark.xdist_group("e2e")

COLUMNS = [
    "rank",
    "household_pid",
    "la_code",
    "ward_code",
    "score",
    "risk_tier",
    "reason_1",
    "reason_2",
    "reason_3",
    "lead_agency",
    "lead_why",
]


@pytest.fixture(scope="module")
def first_run(small_world, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_HOME", str(home))
    for var in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI"):
        mp.delenv(var, raising=False)
    lines: list[str] = []
    outcome = run_pipeline(small_world / "landing", train_config=FAST_TRAINING, say=lines.append)
    yield home, outcome, lines
    mp.undo()


def test_run_publishes_the_ranked_list(first_run):
    home, outcome, lines = first_run
    assert outcome.success, outcome.problems
    folder = home / "outputs" / "2026-01"
    assert outcome.output_folder == folder
    assert (home / "outputs" / "latest").resolve() == folder.resolve()
    csv = pl.read_csv(folder / "ranked_households.csv")
    assert csv.columns == COLUMNS
    assert csv.height == SMALL_HOUSEHOLDS
    assert csv["rank"].to_list() == list(range(1, csv.height + 1))
    assert (csv["score"].diff().drop_nulls() <= 1e-12).all()
    assert csv["household_pid"].str.contains(r"^[0-9a-f]{64}$").all()
    top = csv.head(50)
    assert top["reason_1"].null_count() == 0 and top["lead_agency"].null_count() == 0
    assert top["lead_why"].null_count() == 0
    assert set(csv["risk_tier"]) <= {"very high", "high", "raised", "usual"}
    assert csv.filter(pl.col("risk_tier") == "very high").height == SMALL_HOUSEHOLDS // 100
    # progress was shown for every stage
    text = "\n".join(lines)
    for step in (
        "health extract",
        "linked events",
        "feature sets",
        "champion model",
        "published outputs",
    ):
        assert f"done    {step}" in text


def test_run_summary_accounts_for_every_row(first_run, small_world):
    home, outcome, _ = first_run
    summary = json.loads((outcome.output_folder / "run_summary.json").read_text())
    assert summary["as_of"] == "2026-01" and summary["status"] == "published"
    assert summary["households_scored"] == SMALL_HOUSEHOLDS
    landed = {p.parent.parent.name for p in (small_world / "landing").glob("*/*/*")}
    assert set(summary["sources"]) == landed
    for name, s in summary["sources"].items():
        assert s["rows_received"] == s["rows_accepted"] + s["rows_quarantined"], name
        assert s["months"] == 36
    by_month = summary["extracts_by_month"]
    assert len(by_month) == 6 * 36 and summary["refused_extracts"] == []
    assert all(m["rows_received"] == m["rows_accepted"] + m["rows_quarantined"] for m in by_month)
    assert summary["freshness"]["expected_month"] == "2025-12"
    assert summary["freshness"]["stale_sources"] == []
    # the synthetic world's mess is caught: duplicates and missing keys are quarantined
    health = summary["sources"]["health"]["quarantined_by_rule"]
    assert health.get("duplicate_row", 0) > 0 and health.get("missing_value", 0) > 0
    for source in ("health", "social_care", "fire", "police"):
        link = summary["linkage"][source]
        assert link["events"] == link["linked"] + sum(link["unlinked_by_reason"].values())
        assert link["linkage_rate"] > 0.9
    model = summary["model"]
    assert model["name"] == "household_crisis_risk" and model["version"] == "1"
    assert 0 <= model["metrics"]["precision_at_1pct"] <= 1
    assert model["train_as_of"] == "2024-01" and model["valid_as_of"] == "2025-01"
    assert model["refit_as_of"] == "2025-01"


def test_champion_is_registered_and_loadable(first_run):
    home, _, _ = first_run
    from models.registry import load_champion

    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_HOME", str(home))
    try:
        model, names, champ = load_champion()
    finally:
        mp.undo()
    assert str(champ.version) == "1"
    assert len(names) > 100 and hasattr(model, "predict_proba")
    # the model that scores is the refit at T-12 (two years of history: 24-month windows);
    # the one judged at T-24 (one year: no 24-month window) is kept for the gate
    judged = json.loads(champ.tags["evaluation_feature_names"])
    assert champ.tags["refit_as_of"] == "2025-01" and champ.tags["recency_cap"] == "24"
    assert "breathing_records_24m" in names and "breathing_records_24m" not in judged
    assert champ.tags["evaluation_recency_cap"] == "12"


def test_second_run_is_idempotent_and_gated(first_run, small_world):
    home, outcome, _ = first_run
    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_HOME", str(home))
    try:
        again = run_pipeline(
            small_world / "landing", train_config=FAST_TRAINING, say=lambda _: None
        )
    finally:
        mp.undo()
    assert again.success, again.problems
    first = json.loads((home / "outputs" / "2026-01" / "run_summary.json").read_text())
    # the same files again: nothing double-counted
    assert (
        first["sources"]["health"]["rows_received"]
        == json.loads((again.output_folder / "run_summary.json").read_text())["sources"]["health"][
            "rows_received"
        ]
    )
    model = first["model"]
    # the same data and settings give the same precision, so version 2 ties and is promoted
    assert model["version"] == "2"
    assert "at least the champion's" in model["promotion"]
