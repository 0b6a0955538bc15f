"""Each source's records are scored with m estimated on that source's own recording (issue 25;
hearth/linkage/splink_model.py, BY_SOURCE): police hear names and write old surnames and
addresses far more often than a GP record holds them, and with one pooled m (dominated by the
cleaner exact-keyed sources) a police record's true match lost too much weight for each
disagreement. A world big enough that police and social care each pass MIN_SOURCE_RECORDS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hearth.linkage import splink_model
from hearth.linkage.link import link
from hearth.linkage.model_store import ModelStore
from hearth.warehouse import connect

HOUSEHOLDS = 2_500

# each record's best weight per candidate person from the pairs now in link_pairs
PAIR_WEIGHTS = """
SELECT r.source, r.record_id, g.person_pid, max(p.match_weight) AS weight
FROM link_pairs p
JOIN link_records r ON r.unique_id IN (p.unique_id_l, p.unique_id_r)
JOIN link_register g ON g.unique_id IN (p.unique_id_l, p.unique_id_r)
GROUP BY ALL
"""


@pytest.fixture(scope="module")
def linked(tmp_path_factory) -> dict:
    from mlflow import MlflowClient

    from hearth.ingest.run import ingest_source, landing_months
    from hearth.sources import SOURCES
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("by_source")
    synthesise(
        root / "landing",
        root / "truth",
        households=HOUSEHOLDS,
        seed=17,
        months=12,
        identifiers="agency",
        raw=root / "_raw",
    )
    uri = f"sqlite:///{root / 'mlflow.db'}"
    # the registry too: MLflow's default registry is whatever an earlier test set process-wide
    store = ModelStore(MlflowClient(tracking_uri=uri, registry_uri=uri), root / "mlartifacts")
    db = root / "w.duckdb"
    with connect(db) as con:
        found = landing_months(root / "landing")
        for s in SOURCES:
            ingest_source(con, root / "landing", s, found)
        link(con, store)
        records = dict(con.sql("SELECT source, count(*) FROM link_records GROUP BY ALL").fetchall())
    stored = store.latest()
    assert stored is not None
    return {"db": db, "model": stored.model, "records": records}


def _level_m(model: dict, comparison: str, label: str) -> float:
    (comp,) = [c for c in model["comparisons"] if c["output_column_name"] == comparison]
    (level,) = [lv for lv in comp["comparison_levels"] if lv["label_for_charts"] == label]
    return float(level["m_probability"])


def test_each_source_with_enough_records_has_its_own_m(linked):
    own = linked["model"][splink_model.BY_SOURCE]
    expected = {s for s, n in linked["records"].items() if n >= splink_model.MIN_SOURCE_RECORDS}
    assert {"police", "social_care"} <= expected
    assert set(own) == expected
    # police's own m knows it records people less exactly than health does: fewer of its true
    # matches agree exactly on surname and on address (police hear the name, write an old
    # surname or address; synth: hearth/synth/identity_params.py)
    for comparison, level in (("family_name", "exact"), ("address", "premise")):
        missed = {s: 1 - _level_m(own[s], comparison, level) for s in ("police", "health")}
        assert missed["police"] > 1.5 * missed["health"], (comparison, missed)
    # u is the population's, not the recording's: the same for every source
    for s in own:
        for comp, pooled_comp in zip(
            own[s]["comparisons"], linked["model"]["comparisons"], strict=True
        ):
            assert [lv.get("u_probability") for lv in comp["comparison_levels"]] == [
                lv.get("u_probability") for lv in pooled_comp["comparison_levels"]
            ]


def test_each_sources_records_are_scored_with_its_own_m(linked, tmp_path):
    """The candidates' weights are those of each source's own m, not the pooled m's."""
    db = tmp_path / "w.duckdb"
    db.write_bytes(Path(linked["db"]).read_bytes())
    model = linked["model"]
    with connect(db) as con:
        kept = con.sql("SELECT source, record_id, person_pid, weight FROM link_candidates").pl()
        weights = {}
        # the same parts (each source's records with the register: the same term
        # frequencies), each weighed by the pooled m instead of its own
        pooled = splink_model.pooled(model)
        same_parts = {
            **pooled,
            splink_model.BY_SOURCE: {s: pooled for s in model[splink_model.BY_SOURCE]},
        }
        for name, m in (("own", model), ("pooled", same_parts)):
            cleanup = splink_model.predict(con, m)
            try:
                weights[name] = con.sql(PAIR_WEIGHTS).pl()
            finally:
                cleanup()
    for name in ("own", "pooled"):
        j = kept.join(
            weights[name].rename({"weight": name}), on=["source", "record_id", "person_pid"]
        )
        weights[name] = j
    own, pooled = weights["own"], weights["pooled"]
    assert own.height == kept.height  # every candidate came from these pairs
    assert np.allclose(own["weight"].to_numpy(), own["own"].to_numpy())
    police = pooled.filter(pl.col("source") == "police")
    differs = ~np.isclose(police["weight"].to_numpy(), police["pooled"].to_numpy())
    assert differs.mean() > 0.5  # police's candidates are not weighed by the pooled m
