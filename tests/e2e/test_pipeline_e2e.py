"""The whole graph, materialised through Dagster on a small synthetic world in a temporary
HEARTH_HOME: what an officer's `hearth run` does."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from hearth.cli.launch import run_pipeline
from tests.conftest import FAST_TRAINING, SMALL_HOUSEHOLDS
from tests.support.disk import on_disk
from tests.support.environment import without_hearth
from tests.support.first_runs import private_small_world_first_run

COLUMNS = [
    "rank",
    "household_pid",
    "la_name",
    "la_code",
    "ward_name",
    "ward_code",
    "lsoa_name",
    "lsoa_code",
    "score",
    "risk_tier",
    "reason_1",
    "reason_2",
    "reason_3",
    "lead_agency",
    "lead_why",
    "also_agencies",
]


# Session-scoped: under xdist other modules' tests run between these in the same worker, which
# would tear a module-scoped run down and make it again. The run is the small world's first run,
# made once per session and shared with test_deliverables_e2e.py (tests/support/first_runs.py);
# this file works on its own copy of the home and the landing it ran on. Each test that runs
# Hearth again points it at the copy for itself.
@pytest.fixture(scope="session")
def first_run(small_world, tmp_path_factory):
    made = private_small_world_first_run(
        tmp_path_factory, small_world, tmp_path_factory.mktemp("e2e")
    )
    return made.home, made.outcome, made.lines, made.landing


def test_run_publishes_the_ranked_list(first_run):
    home, outcome, lines, _ = first_run
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
    # the main list is the commissioners' view: a lead chosen by records they may not read
    # (clinical detail, police risk levels) is "another agency", with no why
    led = top.filter(pl.col("lead_agency") != "another agency")
    assert led["lead_why"].null_count() == 0 and led.height > 0
    assert set(csv["risk_tier"]) <= {"very high", "high", "raised", "usual"}
    # the synthetic world's area names lookup names every area: no code stands in for a name
    assert (csv["la_name"] != csv["la_code"]).all() and (csv["ward_name"] != csv["ward_code"]).all()
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


def test_run_summary_accounts_for_every_row(first_run):
    home, outcome, _, landing = first_run
    summary = json.loads((outcome.output_folder / "run_summary.json").read_text())
    assert summary["as_of"] == "2026-01" and summary["status"] == "published"
    assert summary["households_scored"] == SMALL_HOUSEHOLDS
    landed = {p.parent.parent.name for p in landing.glob("*/*/*")}
    assert set(summary["sources"]) == landed
    for name, s in summary["sources"].items():
        assert s["rows_received"] == s["rows_accepted"] + s["rows_quarantined"], name
        assert s["months"] == 36
    by_month = summary["extracts_by_month"]
    assert len(by_month) == 6 * 36 and summary["refused_extracts"] == []
    assert all(m["rows_received"] == m["rows_accepted"] + m["rows_quarantined"] for m in by_month)
    names = summary["area_names"]
    assert names["status"] == "used" and names["codes_shown_as_code"] == 0
    assert names["rows_received"] == names["rows_used"] and names["rows_not_used_by_rule"] == {}
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
    # the model finds crises: its top 1% holds more of them than households at large do
    assert model["metrics"]["precision_at_1pct"] > 2 * model["metrics"]["prevalence"]
    assert model["train_as_of"] == "2024-01" and model["valid_as_of"] == "2025-01"
    assert model["refit_as_of"] == "2025-01"


def test_champion_is_registered_and_loadable(first_run):
    home, _, _, _ = first_run
    from hearth.modelling.registry.client import Registry

    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_HOME", str(home))
    try:
        registry = Registry()
        model, names, champ = registry.load_champion()
        judged = registry.feature_names(champ, judged=True)
    finally:
        mp.undo()
    assert str(champ.version) == "1"
    assert len(names) > 100 and hasattr(model, "predict_proba")
    # the model that scores is the refit at T-12 (two years of history: it reads the 3-year
    # window as a rate, per 2 years, in place of the 2-year count, hearth/features/windows.py);
    # the one judged at T-24 (one year: neither) is kept for the gate
    assert champ.tags["refit_as_of"] == "2025-01" and champ.tags["recency_cap"] == "24"
    assert "breathing_records_36m" in names and "breathing_records_24m" not in names
    assert not {"breathing_records_36m", "breathing_records_24m"} & set(judged)
    assert champ.tags["evaluation_recency_cap"] == "12"


def _uv() -> str | None:
    import shutil
    import sys

    from hearth.settings import PROJECT_ROOT

    for root in (PROJECT_ROOT, Path(sys.prefix).resolve().parent):
        if (root / ".tools" / "bin" / "uv").is_file():
            return str(root / ".tools" / "bin" / "uv")
    return shutil.which("uv")


def _clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment (its network and certificate settings included) without
    Hearth's own variables or the Hearth venv's."""
    import os

    drop = ("DAGSTER_HOME", "MLFLOW_TRACKING_URI", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_") and k not in drop}
    return env | extra


@pytest.mark.slow
def test_a_clean_venv_loads_the_champion_and_the_judged_model(first_run, tmp_path):
    """No Hearth source: a new venv with only the model's logged requirements loads
    models:/household_crisis_risk@champion from the home's store, and its predict on the
    stored features is the published list's score; the model the card's numbers come from
    (the version's `evaluation_model_uri`) loads there too and predicts what it predicts in
    Hearth."""
    import os
    import subprocess
    import sys

    home, outcome, _, _ = first_run
    assert outcome.success
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (make installs it in .tools/)")
    from hearth.modelling.registry.client import Registry

    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_HOME", str(home))
    try:
        registry = Registry()
        champ = registry.champion()
        reqs = registry.client.download_artifacts(
            champ.run_id, "model/requirements.txt", str(tmp_path)
        )
        uri = registry.uri
        judged_uri = champ.tags["evaluation_model_uri"]
        judged_here = registry.mlflow.pyfunc.load_model(judged_uri)  # at the home's store
    finally:
        mp.undo()
    valid_features = home / "features" / "features_2025-01.parquet"
    frame = pl.read_parquet(valid_features).to_pandas()
    expected_judged = judged_here.predict(frame)
    # the venv on disk beside uv's cache, which links packages instead of copying them
    # (tests/support/disk.py)
    with on_disk("clean-venv") as disk:
        venv = disk / "clean"
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        # the machine's environment less Hearth's: its certificate, index and proxy settings are
        # what uv needs to reach the registry
        path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
        env = without_hearth(VIRTUAL_ENV=str(venv), PATH=path)
        install = [uv, "pip", "install", "-q", "-r", reqs]
        if subprocess.run([*install, "--offline"], env=env, capture_output=True).returncode:
            subprocess.run(install, env=env, check=True)  # not all in uv's cache: fetch them
        features = home / "features" / "features_2026-01.parquet"
        out, judged_out = tmp_path / "predicted.json", tmp_path / "judged.json"
        code = (
            "import importlib.util as u, json, sys, mlflow, pandas as pd\n"
            "assert u.find_spec('hearth') is None\n"
            f"mlflow.set_tracking_uri({uri!r})\n"
            "def read(path):\n"
            "    frame = pd.read_parquet(path)\n"
            "    return frame.astype({c: 'float64' for c in frame.columns if c != 'household_pid'"
            " and frame[c].dtype.kind in 'iuf'})\n"
            "m = mlflow.pyfunc.load_model('models:/household_crisis_risk@champion')\n"
            f"frame = read({str(features)!r})\n"
            f"json.dump(dict(zip(frame['household_pid'], m.predict(frame).tolist())), "
            f"open({str(out)!r}, 'w'))\n"
            f"j = mlflow.pyfunc.load_model({judged_uri!r})\n"
            f"frame = read({str(valid_features)!r})\n"
            f"json.dump(j.predict(frame).tolist(), open({str(judged_out)!r}, 'w'))\n"
        )
        run = subprocess.run(
            [str(venv / "bin" / "python"), "-I", "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=without_hearth(HOME=str(tmp_path)),  # -I: no PYTHONPATH, no user site
        )
        assert run.returncode == 0, run.stderr[-3000:]
    predicted = json.loads(out.read_text())
    published = pl.read_parquet(home / "outputs" / "2026-01" / "ranked_households.parquet")
    assert len(predicted) == published.height == SMALL_HOUSEHOLDS
    for pid, score in zip(published["household_pid"], published["score"], strict=True):
        assert predicted[pid] == pytest.approx(score, rel=1e-12, abs=1e-15)
    judged = json.loads(judged_out.read_text())
    assert judged == pytest.approx(expected_judged.tolist(), rel=1e-12, abs=1e-15)
    assert len(set(judged)) > 1  # a model that ranks, not a constant


def test_second_run_is_idempotent_and_gated(first_run):
    home, outcome, _, landing = first_run
    mp = pytest.MonkeyPatch()
    mp.setenv("HEARTH_HOME", str(home))
    try:
        again = run_pipeline(landing, train_config=FAST_TRAINING, say=lambda _: None)
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
    # the same data and settings: no second, identical version; version 1 stays champion
    assert model["version"] == "1"
    # and the run says so at its end (hearth run prints it)
    assert again.model["version"] == "1" and again.model["alias"] == "champion"
    assert "no new version was registered" in again.model["promotion_reason"]
    assert (
        json.loads((again.output_folder / "run_summary.json").read_text())["model"]["version"]
        == "1"
    )
