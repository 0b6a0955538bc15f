"""One asset at a time: each test materialises a single asset (with its asset checks) through
`dg.materialize` on a warehouse prepared by the assets upstream of it, in one HEARTH_HOME
shared by the module, and checks what that asset produced: its materialisation metadata, the
table or files it writes, and its checks' results.

The home is built lazily: `Stages.run(name)` materialises what `name` needs first (each
asset once per module), so any test can run alone. Every `dg.materialize` call is a run, and
a run commits its warehouse, outputs and @champion when it returns (hearth/operations/recovery.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from hearth.defs.features.assets import feature_sets
from hearth.defs.ingest.assets import build_ingest_assets
from hearth.defs.ingest.checks import BATCH_CHECKS
from hearth.defs.ingest.partitions import EMPTY_LANDING_START
from hearth.defs.linkage.assets import linkage_rate_reasonable, linked_events
from hearth.defs.modelling.assets import champion_model, household_scores
from hearth.defs.publish.assets import published_outputs
from hearth.defs.quality.checks import quality_gate
from hearth.defs.resources import MlflowResource, WarehouseResource, hearth_resources
from hearth.publish.report import TOP_ROWS
from hearth.sources import SOURCES
from tests.conftest import FAST_TRAINING, SMALL_HOUSEHOLDS
from tests.support.environment import clear_hearth

NEWEST = "2025-12"  # the small world's last extract month
AS_OF = "2026-01"  # the month after it: the run's default scoring date
CLOCK = "2026-01-20"  # the run's day (HEARTH_CLOCK): the newest month is in the past
# FAST_TRAINING, with two candidates and no value-of-sharing models: the asset's steps (judge,
# gate, refit, register, promote) all run, in a fraction of the time
TRAINING = {
    **FAST_TRAINING,
    "candidates": ["baseline", "logistic"],
    "value_of_sharing": False,
}
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

# a fixed start: the landing these tests fill is not there when the module is imported
ingest_assets = build_ingest_assets(EMPTY_LANDING_START)
INGEST = {a.key.to_user_string(): a for a in ingest_assets}


def resources() -> dict[str, object]:
    """The resources as `hearth run` has them: every path from HEARTH_HOME."""
    resources = hearth_resources()
    resources.pop("io_manager")
    return resources


class Stages:
    """One HEARTH_HOME with the small world's landing in it; each asset is materialised once,
    after what it depends on."""

    def __init__(self, home: Path, world_landing: Path, months: list[str]):
        self.home = home
        self.world_landing = world_landing
        self.months = months
        self.instance = dg.DagsterInstance.ephemeral()
        self.results: dict[str, dg.ExecuteInProcessResult] = {}

    # ---- the runs -------------------------------------------------------------------------

    def _materialize(self, assets, **kwargs) -> dg.ExecuteInProcessResult:
        result = dg.materialize(
            assets, resources=resources(), instance=self.instance, raise_on_error=False, **kwargs
        )
        assert result.success, [
            e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"
        ]
        return result

    def history(self) -> dg.ExecuteInProcessResult:
        """Every source's months before the newest, in one single-run backfill, before the
        newest has landed (a month before it that changes has every later month judged
        again: hearth/ingest/run.py)."""
        if "history" not in self.results:
            self.results["history"] = self._materialize(
                ingest_assets,
                tags={RANGE_START: self.months[0], RANGE_END: self.months[-2]},
            )
        return self.results["history"]

    def run(self, name: str) -> dg.ExecuteInProcessResult:
        if name in self.results:
            return self.results[name]
        if name in INGEST:
            self.history()
            # the newest month lands, and is loaded alone, with the source's GX expectations
            source = name.removesuffix("_extract")
            if (self.world_landing / source).is_dir():  # a source not started has no folder
                shutil.copytree(
                    self.world_landing / source / NEWEST, self.home / "landing" / source / NEWEST
                )
            # the quality gate runs the source's expectations (its spec for this asset alone)
            result = self._materialize(
                [INGEST[name], quality_gate], selection=[INGEST[name].key], partition_key=NEWEST
            )
        elif name == "linked_events":
            for source in SOURCES:
                self.run(f"{source}_extract")
            result = self._materialize([linked_events, linkage_rate_reasonable])
        elif name == "feature_sets":
            self.run("linked_events")
            result = self._materialize([feature_sets])
        elif name == "champion_model":
            self.run("feature_sets")
            result = self._materialize(
                [champion_model],
                run_config={"ops": {"champion_model": {"config": TRAINING}}},
            )
        elif name == "household_scores":
            self.run("champion_model")
            result = self._materialize([household_scores])
        elif name == "published_outputs":
            self.run("household_scores")
            result = self._materialize([published_outputs])
        else:
            raise KeyError(name)
        self.results[name] = result
        return result

    # ---- reading what a run left ----------------------------------------------------------

    def sql(self, text: str, *params) -> list[tuple]:
        with duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(text, list(params)).fetchall()

    def columns(self, table: str) -> list[str]:
        with duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True) as con:
            return con.table(table).columns  # the relational API: no name spliced into SQL

    def month_rows(self, table: str, month: str) -> int:
        """Rows of `table` that arrived in extract month `month`."""
        with duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True) as con:
            rel = con.table(table).filter(duckdb.ColumnExpression("_extract_month") == month)
            return rel.count("*").fetchall()[0][0]


@pytest.fixture(scope="module")
def stages(small_world, tmp_path_factory):
    home = tmp_path_factory.mktemp("assets_home")
    mp = pytest.MonkeyPatch()
    clear_hearth(mp, HEARTH_HOME=str(home), HEARTH_CLOCK=CLOCK)
    world = small_world / "landing"
    months = sorted({p.name for p in world.glob("*/*") if p.is_dir()})
    assert months[-1] == NEWEST and len(months) == 36
    shutil.copytree(
        world, home / "landing", ignore=lambda _, names: [n for n in names if n == NEWEST]
    )
    stages = Stages(home, world, months)
    yield stages
    stages.instance.dispose()
    mp.undo()


def materialization(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    """The one materialisation of `key` in the run, its metadata as plain values."""
    mats = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == key
    ]
    assert len(mats) == 1, key
    return {k: v.value for k, v in mats[0].metadata.items()}


def materialized(result: dg.ExecuteInProcessResult) -> list[str]:
    return sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events())


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# ---- ingest: one test per source, the newest month as a single partition ------------------


@pytest.mark.parametrize("source", [s for s in SOURCES if not SOURCES[s].starts_when_sent])
def test_extract_asset_loads_its_newest_month(stages, source):
    name = f"{source}_extract"
    result = stages.run(name)
    assert materialized(result) == [name]
    meta = materialization(result, name)
    assert meta["months_in_run"] == 1
    assert meta["files_loaded"] == 1 and meta["files_refused"] == 0
    assert meta["files_unchanged"] == 0
    assert meta["rows_received"] == meta["rows_accepted"] + meta["rows_quarantined"]
    assert meta["rows_accepted"] > 0
    assert f"| {NEWEST} |" in meta["by_month"] and "| loaded |" in meta["by_month"]

    # every batch check and the GX expectations, all passed
    evaluations = checks(result)
    assert set(evaluations) == set(BATCH_CHECKS) | {"expectations"}
    failed = {n: e.description for n, e in evaluations.items() if not e.passed}
    assert not failed
    present = evaluations["extract_present"].metadata
    assert present["status"].value == "current"
    assert present["expected_month"].value == NEWEST
    assert present["newest_month"].value == NEWEST

    # the warehouse: the month's accepted rows in raw_<source>, accounted for in ingest_log
    assert stages.month_rows(f"raw_{source}", NEWEST) == meta["rows_accepted"]
    log = stages.sql(
        "SELECT status, rows_received, rows_accepted, rows_quarantined FROM ingest_log "
        "WHERE source = ? AND extract_month = ?",
        source,
        NEWEST,
    )
    assert log == [
        ("loaded", meta["rows_received"], meta["rows_accepted"], meta["rows_quarantined"])
    ]
    (held,) = stages.sql(
        "SELECT count(*) FROM quarantine WHERE source = ? AND extract_month = ?", source, NEWEST
    )
    assert held[0] == meta["rows_quarantined"]
    # the months before it came from the history run, one row each in ingest_log
    (months,) = stages.sql(
        "SELECT count(DISTINCT extract_month) FROM ingest_log WHERE source = ?", source
    )
    assert months[0] == 36
    assert "_extract_month" in stages.columns(f"raw_{source}")


def test_a_source_not_started_yet_stops_nothing(stages):
    """The interventions (issue 26) start when their first extract lands: a world without them
    runs, every check of their asset passes and the present check says why."""
    result = stages.run("interventions_extract")
    assert materialized(result) == ["interventions_extract"]
    meta = materialization(result, "interventions_extract")
    assert meta["files_loaded"] == 0 and meta["rows_received"] == 0
    evaluations = checks(result)
    failed = {n: e.description for n, e in evaluations.items() if not e.passed}
    assert not failed
    assert evaluations["extract_present"].metadata["status"].value == "not_started"


# ---- linkage ------------------------------------------------------------------------------


def test_linked_events_links_every_event_source(stages):
    result = stages.run("linked_events")
    assert materialized(result) == ["linked_events"]
    meta = materialization(result, "linked_events")
    linkage = meta["linkage"]
    event_sources = {"health", "social_care", "fire", "police"}
    assert set(linkage) >= event_sources
    for source in event_sources:
        s = linkage[source]
        assert s["events"] == s["linked"] + sum(s["unlinked_by_reason"].values()), source
        assert meta[f"linkage_rate_{source}"] == s["linkage_rate"] > 0.9
    assert meta["events"] == sum(s["events"] for s in linkage.values())

    (rows,) = stages.sql("SELECT count(*) FROM linked_events")
    assert rows[0] == meta["events"]
    assert {"source", "arrival_month", "link_status", "link_probability"} <= set(
        stages.columns("linked_events")
    )
    # the small world shares its keys: no token linkage, every link has probability 1
    assert meta["token_linkage"] == "not needed: every record was linked by an exact key"
    (probabilities,) = stages.sql(
        "SELECT list(DISTINCT link_probability) FROM linked_events WHERE household_pid IS NOT NULL"
    )
    assert probabilities[0] == [1.0]
    (households,) = stages.sql("SELECT count(*) FROM households")
    assert households[0] > 0

    check = checks(result)["linkage_rate_reasonable"]
    assert check.passed, check.description
    assert check.description == "every source links at least 80% of its events"
    assert {f"rate_{s}" for s in event_sources} <= set(check.metadata)


# ---- features -----------------------------------------------------------------------------


def test_feature_sets_write_features_and_labels(stages):
    result = stages.run("feature_sets")
    assert materialized(result) == ["crisis_labels", "household_features"]
    assert not result.get_asset_check_evaluations()
    features = materialization(result, "household_features")
    labels = materialization(result, "crisis_labels")
    dates = {"score_as_of": AS_OF, "valid_as_of": "2025-01", "train_as_of": "2024-01"}
    for meta in (features, labels):
        assert {k: meta[k] for k in dates} == dates
    folder = stages.home / "features"
    for as_of in dates.values():
        frame = pl.read_parquet(folder / f"features_{as_of}.parquet")
        assert features[f"households_{as_of}"] == frame.height > 0
        assert frame["household_pid"].n_unique() == frame.height
        assert frame["as_of"].unique().to_list() == [as_of]
        assert frame.width > 100  # the catalogue's features
    assert features[f"households_{AS_OF}"] == SMALL_HOUSEHOLDS
    for as_of in (dates["train_as_of"], dates["valid_as_of"]):
        y = pl.read_parquet(folder / f"labels_{as_of}.parquet")
        assert y.columns == ["household_pid", "crisis_12m", "as_of"]
        assert y.height == features[f"households_{as_of}"]
        assert set(y["crisis_12m"].unique()) == {0, 1}
    assert not (folder / f"labels_{AS_OF}.parquet").exists()  # no future to label


# ---- modelling ----------------------------------------------------------------------------


def test_champion_model_registers_and_promotes_version_1(stages):
    result = stages.run("champion_model")
    assert materialized(result) == ["champion_model"]
    meta = materialization(result, "champion_model")
    assert meta["model"] == "household_crisis_risk"
    assert meta["version"] == "1" and meta["alias"] == "champion"
    assert meta["scoring_model_fitted_at"] == "2025-01"  # refit on the newest labelled year
    assert meta["candidate"] in TRAINING["candidates"]
    # the model finds crises: its top 1% holds more of them than households at large do
    assert meta["precision_at_1pct"] > 2 * meta["prevalence"]
    assert "promotion_reason" in meta

    # the alias moved when the run committed
    model, names, champ = MlflowResource().registry().load_champion()
    assert str(champ.version) == "1" and hasattr(model, "predict_proba")
    assert champ.tags["refit_as_of"] == "2025-01" and len(names) > 100


# ---- @champion moves only when the list it scores is published (issue 23) ------------------


def _train_then(stages, then: dg.AssetsDefinition, max_iter: int) -> dg.ExecuteInProcessResult:
    """champion_model and `then` after it, in one run, with no champion before it (so the new
    version is decided @champion whatever it scores) and settings unlike any earlier run's (an
    identical retrain registers nothing)."""
    stages.run("champion_model")
    MlflowResource().registry().delete_alias("champion")
    return dg.materialize(
        [champion_model, then],
        resources=resources(),
        instance=stages.instance,
        raise_on_error=False,
        run_config={"ops": {"champion_model": {"config": {**TRAINING, "max_iter": max_iter}}}},
    )


@dg.asset(deps=["champion_model"])
def _stops_after_training() -> None:
    raise dg.Failure(description="A later step stopped the run.")


@dg.asset(deps=["champion_model"])
def _looks_at_the_alias(
    warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """What anyone reading MLflow sees between training and the commit."""
    from hearth.operations.commit import staged

    decided = staged(warehouse.resolved()).get("champion") or {}
    return dg.MaterializeResult(
        metadata={
            "aliases": dg.MetadataValue.json(mlflow.registry().aliases()),
            "decided": dg.MetadataValue.json(decided),
        }
    )


def test_a_run_that_trains_then_stops_leaves_the_alias_as_it_was(stages):
    registry = MlflowResource().registry()
    try:
        result = _train_then(stages, _stops_after_training, 61)
        assert not result.success
        assert "champion_model" in materialized(result)  # it trained and registered a version
        assert registry.aliases().get("champion") is None  # and @champion did not move
        newest = max(int(v.version) for v in registry.versions())
        assert "hearth.interrupted" in registry.version(str(newest)).tags
    finally:
        registry.set_alias("champion", "1")


def test_the_alias_does_not_move_before_the_commit(stages):
    registry = MlflowResource().registry()
    try:
        result = _train_then(stages, _looks_at_the_alias, 62)
        assert result.success
        seen = materialization(result, "_looks_at_the_alias")
        decided = seen["decided"]
        assert decided["alias"] == "champion" and decided["previous"] is None
        assert "champion" not in seen["aliases"]  # decided, not yet applied
        assert registry.aliases()["champion"] == str(decided["version"])  # applied at commit
    finally:
        registry.set_alias("champion", "1")


def test_household_scores_ranks_every_household(stages):
    result = stages.run("household_scores")
    assert materialized(result) == ["household_scores"]
    meta = materialization(result, "household_scores")
    monitoring = {k: meta.pop(k) for k in list(meta) if k.startswith("monitoring.")}
    assert meta == {
        "as_of": AS_OF,
        "households_scored": SMALL_HOUSEHOLDS,
        # the report's table of the first 500 reaches past the published top 5% (100)
        "explained_to": min(TOP_ROWS, SMALL_HOUSEHOLDS),
        "model_version": 1,
        "holdout_households": 0,  # HEARTH_HOLDOUT_SHARE unset: nobody held out (issue 26)
        "holdout_share": 0.0,
    }
    # the first month kept: no last month to compare with, the shift from training measured
    assert set(monitoring) == {"monitoring.score_psi", "monitoring.features_large_shift"}
    assert stages.sql("SELECT DISTINCT as_of FROM score_history") == [(AS_OF,)]
    scores = pl.DataFrame(
        stages.sql("SELECT rank, score, risk_tier, as_of, model_version FROM household_scores"),
        schema=["rank", "score", "risk_tier", "as_of", "model_version"],
        orient="row",
    ).sort("rank")
    assert scores.height == SMALL_HOUSEHOLDS
    assert scores["rank"].to_list() == list(range(1, SMALL_HOUSEHOLDS + 1))
    assert (scores["score"].diff().drop_nulls() <= 1e-12).all()
    assert set(scores["as_of"]) == {AS_OF} and {str(v) for v in scores["model_version"]} == {"1"}
    assert set(scores["risk_tier"]) <= {"very high", "high", "raised", "usual"}
    assert {"household_pid", "reason_1", "lead_agency", "lead_why", "role_reasons"} <= set(
        stages.columns("household_scores")
    )
    # words as far as the outputs show by default; beyond, scored and ranked only
    words = stages.sql(
        "SELECT rank, reason_1 IS NOT NULL, role_reasons IS NOT NULL FROM household_scores"
    )
    explained = sorted(r for r, has, roles in words if has and roles)
    assert explained == list(range(1, meta["explained_to"] + 1))


# ---- publish ------------------------------------------------------------------------------


def test_published_outputs_swaps_in_the_folder_at_commit(stages):
    result = stages.run("published_outputs")
    assert materialized(result) == ["published_outputs"]
    meta = materialization(result, "published_outputs")
    folder = stages.home / "outputs" / AS_OF
    assert meta["folder"] == str(folder)
    assert meta["households"] == SMALL_HOUSEHOLDS and meta["as_of"] == AS_OF
    assert meta["published"] == "when the run commits (with the warehouse)"

    # the run's commit moved the prepared folder into place
    assert folder.is_dir()
    assert (stages.home / "outputs" / "latest").resolve() == folder.resolve()
    ranked = pl.read_parquet(folder / "ranked_households.parquet")
    assert ranked.height == SMALL_HOUSEHOLDS
    assert ranked["rank"].to_list() == list(range(1, SMALL_HOUSEHOLDS + 1))
    assert pl.read_csv(folder / "ranked_households.csv").height == SMALL_HOUSEHOLDS
    summary = json.loads((folder / "run_summary.json").read_text())
    assert summary["as_of"] == AS_OF and summary["households_scored"] == SMALL_HOUSEHOLDS
    # as far as the scoring step explained: the report's first 500 (the top 5% is 100)
    assert summary["households_explained"] == min(TOP_ROWS, SMALL_HOUSEHOLDS)
    assert summary["model"]["version"] == "1"
    for name in ("ranked_households.xlsx", "report.html"):
        assert (folder / name).is_file(), name
    # nothing prepared is left beside it
    assert [p.name for p in (stages.home / "outputs").iterdir() if p.name.startswith(".")] == []
