"""The scoring step explains only the ranks the published outputs show by default; the rest stay
scored and ranked with null words, and are explained on demand from the kept model and the
scoring month's features with the same words eager explaining gives (issue 27: every row of
every published list explained; issue 28: the cost follows the list, not the population)."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from hearth.modelling.scoring.on_demand import (
    KeptScorer,
    Unexplainable,
    explain_missing,
    kept_scorer,
)
from hearth.modelling.scoring.score import (
    WORD_COLUMNS,
    explain_ranks,
    explained_through,
    score_households,
    scored,
)
from tests.support.fitted_world import fitted_world
from tests.support.role_world import CAP

N = 500
REACH = 130  # not a chunk boundary


@pytest.fixture(scope="module")
def world():
    model, names, frame = fitted_world(N, seed=17, label_seed=5)
    eager = score_households(model, names, frame, recency_cap=CAP)  # every rank explained
    return model, names, frame, eager


def test_only_the_reach_is_explained_and_the_rest_is_scored_and_ranked(world):
    model, names, frame, eager = world
    short = pl.concat(
        list(scored(model, names, frame, CAP, chunk_size=50, explain_to=REACH).chunks)
    )
    assert short.columns == eager.columns
    assert explained_through(short) == REACH
    assert explained_through(eager) == N
    # the explained ranks are the eager list's rows, byte for byte
    assert short.head(REACH).equals(eager.head(REACH))
    # beyond: rank, score, tier and areas as eagerly, every word null
    rest = short.slice(REACH)
    assert rest.drop(WORD_COLUMNS).equals(eager.slice(REACH).drop(WORD_COLUMNS))
    assert all(rest[c].null_count() == rest.height for c in WORD_COLUMNS)


def test_ranks_explained_on_demand_read_as_explained_eagerly(world):
    model, names, frame, eager = world
    short = pl.concat(list(scored(model, names, frame, CAP, explain_to=REACH).chunks))
    # the features in another order than the list's (each household's words are its own)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    assert not shuffled["household_pid"].equals(frame["household_pid"])
    upto = 400
    scorer = KeptScorer(model, names, CAP, shuffled)
    filled = explain_missing(short.head(upto), N, scorer)
    assert filled.equals(eager.head(upto))
    # a shuffled selection of ranks too (as a role's view with held-out gaps asks for them)
    wanted = short.slice(REACH, 200).sample(fraction=1.0, shuffle=True, seed=9)
    again = explain_ranks(
        model, names, shuffled, wanted.select("household_pid", "rank", "score"), N, CAP
    )
    assert again.equals(eager.slice(REACH, 200))


def test_a_household_missing_from_the_features_is_a_sentence(world):
    model, names, frame, _ = world
    short = pl.concat(list(scored(model, names, frame, CAP, explain_to=REACH).chunks))
    scorer = KeptScorer(model, names, CAP, frame.head(200))
    with pytest.raises(Unexplainable, match="not in the scoring month's features"):
        explain_missing(short.head(300), N, scorer)


class _Registry:
    """Stands for hearth.modelling.registry.client.Registry: one kept version, or none."""

    def __init__(self, model, names, keep: bool):
        self.model, self.names, self.keep = model, names, keep

    @staticmethod
    def version_uri(version: str) -> str:
        return f"models:/household_crisis_risk/{version}"

    def version(self, version: str):
        if not self.keep:
            raise LookupError(f"There is no version {version} of household_crisis_risk.")
        return SimpleNamespace(version=version, tags={"recency_cap": str(CAP)}, run_id="r7")

    def load_estimator(self, uri: str):
        assert uri.endswith("/7")  # the version that scored the list, not the champion
        return self.model

    def feature_names(self, mv):
        return self.names


def test_the_kept_model_and_month_or_a_sentence(world, tmp_path):
    model, names, frame, eager = world
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    short = pl.concat(list(scored(model, names, frame, CAP, explain_to=REACH).chunks)).head(300)
    pids = short.filter(pl.col("reason_1").is_null())["household_pid"].to_list()
    # the month's features gone: a sentence, not a traceback
    with pytest.raises(Unexplainable, match="features of 2026-01, .* no longer kept"):
        kept_scorer(_Registry(model, names, True), "7", warehouse, "2026-01", pids)
    (tmp_path / "features").mkdir()
    frame.with_columns(pl.lit("2026-01").alias("as_of")).write_parquet(
        tmp_path / "features" / "features_2026-01.parquet"
    )
    # the version gone from the registry: a sentence
    with pytest.raises(
        Unexplainable, match="Version 7 of the model, .* is no longer in the model registry"
    ):
        kept_scorer(_Registry(model, names, False), "7", warehouse, "2026-01", pids)
    with pytest.raises(Unexplainable, match="does not say which model version"):
        kept_scorer(_Registry(model, names, True), None, warehouse, "2026-01", pids)
    # a version of that number logged by another run (another registry): refused
    with pytest.raises(Unexplainable, match="not the model that scored the list of 2026-01"):
        kept_scorer(_Registry(model, names, True), "7", warehouse, "2026-01", pids, "r3")
    scorer = kept_scorer(_Registry(model, names, True), "7", warehouse, "2026-01", pids, "r7")
    assert scorer.features.height == len(pids)  # only the households asked for are read
    assert explain_missing(short, N, scorer).equals(eager.head(300))


def test_hearth_publish_top_beyond_the_reach_writes_every_row_explained(world, tmp_path):
    """`hearth publish --role fire --top 400` on a list explained to rank 130: the CLI's
    explainer fills the 270 rows beyond, so the role's file has words on every row."""
    import json

    from hearth.publish.outputs import write_ranked
    from hearth.publish.ranked import with_area_names
    from hearth.publish.role_files import publish_roles

    model, names, frame, eager = world
    short = pl.concat(list(scored(model, names, frame, CAP, explain_to=REACH).chunks))
    folder = tmp_path / "2026-01"
    folder.mkdir()
    write_ranked(folder, with_area_names(short))
    summary = {
        "as_of": "2026-01",
        "generated_at": "2026-02-01T09:00:00+00:00",
        "households_scored": N,
        "risk_tiers": {t: int((short["risk_tier"] == t).sum()) for t in short["risk_tier"]},
        "model": {"name": "household_crisis_risk", "version": "7"},
    }
    (folder / "run_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    asked: list[tuple[int, int, str]] = []

    def explain(rows, n, got):
        asked.append((rows.height, n, got["model"]["version"]))
        return explain_missing(rows, n, KeptScorer(model, names, CAP, frame))

    publish_roles(folder, ("fire",), 400)  # without the explainer: rows without words
    bare = pl.read_csv(folder / "roles" / "fire" / "ranked_households.csv")
    assert bare.height == 400 and bare["lead_agency"].null_count() == 400 - REACH
    publish_roles(folder, ("fire",), 400, explain)
    got = pl.read_csv(folder / "roles" / "fire" / "ranked_households.csv")
    assert asked == [(400, N, "7")]
    assert got.height == 400
    assert got["reason_1"].null_count() == 0 and got["lead_agency"].null_count() == 0
    # the words the role's file would have had from a list explained eagerly
    publish_roles_eager = tmp_path / "eager"
    publish_roles_eager.mkdir()
    write_ranked(publish_roles_eager, with_area_names(eager))
    (publish_roles_eager / "run_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    publish_roles(publish_roles_eager, ("fire",), 400)
    assert got.equals(pl.read_csv(publish_roles_eager / "roles" / "fire" / "ranked_households.csv"))
