"""Linking records that share no key (issue 25): on a small world with the agencies' real
identifiers (police without NHS numbers, social care with some), ingested and linked for real
(DuckDB file, splink on its connection, an MLflow store on SQLite)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hearth.linkage import probabilistic, recalibration
from hearth.linkage.link import link, linkage_by_source
from hearth.linkage.model_store import (
    MAX_AGE_DAYS,
    ModelStore,
    Stored,
    contract_fingerprint,
    retrain_reason,
)
from hearth.linkage.splink_model import SETTINGS_VERSION
from hearth.privacy.tokens import TOKEN_VERSION
from hearth.warehouse import connect

HOUSEHOLDS = 600
# a token or a pseudonym: hex with both digits and letters (a plain count has no letters)
TOKEN = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b")


def _ingest(landing: Path, db: Path) -> None:
    from hearth.ingest.run import ingest_source, landing_months
    from hearth.sources import SOURCES

    months = landing_months(landing)
    with connect(db) as con:
        for s in SOURCES:
            ingest_source(con, landing, s, months)


@pytest.fixture(scope="module")
def agency_world(tmp_path_factory) -> Path:
    """A small world with the agencies' own identifiers, ingested into a warehouse."""
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("agency_world")
    synthesise(
        root / "landing",
        root / "truth",
        households=HOUSEHOLDS,
        seed=5,
        months=12,
        identifiers="agency",
        raw=root / "_raw",
    )
    _ingest(root / "landing", root / "ingested.duckdb")
    return root


@pytest.fixture(scope="module")
def linked(agency_world, tmp_path_factory):
    """The world linked once, with its model kept in an MLflow store of its own."""
    from mlflow import MlflowClient

    home = tmp_path_factory.mktemp("home")
    db = home / "w.duckdb"
    db.write_bytes((agency_world / "ingested.duckdb").read_bytes())
    uri = f"sqlite:///{home / 'mlflow.db'}"
    # the registry too: MLflow's default registry is whatever an earlier test set process-wide
    store = ModelStore(MlflowClient(tracking_uri=uri, registry_uri=uri), home / "mlartifacts")
    with connect(db) as con:
        summary = link(con, store)
        measures = probabilistic.measures(con)
        events = con.sql("SELECT * FROM linked_events").pl()
    return {"db": db, "store": store, "summary": summary, "measures": measures, "events": events}


def test_records_without_a_key_are_linked_to_the_right_household(linked, agency_world):
    events = linked["events"]
    truth = pl.read_parquet(agency_world / "truth" / "record_links.parquet")
    by_tokens = events.filter(pl.col("link_status") == "linked_by_tokens")
    police = events.filter(pl.col("source") == "police")
    # police send no NHS number: about half their records have no key at all, and the tokens
    # link nearly all of those
    assert police.filter(pl.col("link_status") == "linked_by_tokens").height > 0.3 * police.height
    assert linkage_by_source(linked["summary"])["police"]["linkage_rate"] > 0.95
    j = by_tokens.join(
        truth.select("source", "record_id", pl.col("household_pid").alias("true_household")),
        on=["source", "record_id"],
    )
    assert j.height == by_tokens.height
    right = (j["household_pid"] == j["true_household"]).mean()
    assert right > 0.97, right
    # their probability says how sure: strictly between 0.5 and 1 inclusive, never missing
    assert by_tokens["link_probability"].is_null().sum() == 0
    assert by_tokens["link_probability"].min() >= probabilistic.LINK_FLOOR


def test_address_only_records_link_to_the_household_at_their_premise(linked, agency_world):
    """Fire records an address, not always a UPRN: the one household at that premise."""
    events = linked["events"].filter(pl.col("source") == "fire")
    truth = pl.read_parquet(agency_world / "truth" / "record_links.parquet")
    by_premise = events.filter(pl.col("link_status") == "linked_by_tokens").join(
        truth.select("source", "record_id", pl.col("household_pid").alias("true_household")),
        on=["source", "record_id"],
    )
    assert by_premise.height > 0
    assert (by_premise["household_pid"] == by_premise["true_household"]).mean() > 0.97
    fire = linked["measures"]["address_links"]["fire"]
    assert fire["linked"] == by_premise.height
    # its probability is what the exact-keyed fire records say such a link is worth
    (probability,) = by_premise["link_probability"].unique().to_list()
    assert probability == pytest.approx(fire["link_probability"], abs=1e-4)
    assert fire["link_probability"] < 1.0


def test_exact_keys_keep_probability_one(linked):
    events = linked["events"]
    exact = events.filter(
        pl.col("link_status").is_in(["linked_by_household_key", "linked_by_person_key"])
    )
    assert exact.height > 0
    assert exact["link_probability"].to_list() == [1.0] * exact.height
    # an unlinked event has no probability of being in a household
    unlinked = events.filter(pl.col("household_pid").is_null())
    assert unlinked["link_probability"].is_null().all()


def test_a_world_with_shared_keys_needs_no_splink(tmp_path):
    from hearth.synth import synthesise

    synthesise(tmp_path / "landing", tmp_path / "truth", households=150, seed=3, months=3)
    _ingest(tmp_path / "landing", tmp_path / "w.duckdb")
    with connect(tmp_path / "w.duckdb") as con:
        link(con)  # no store: had splink been needed, it would have trained here
        m = probabilistic.measures(con)
        probs = con.sql(
            "SELECT DISTINCT link_probability FROM linked_events WHERE household_pid IS NOT NULL"
        ).fetchall()
    assert m is not None and m["ran"] is False and m["needing_link"] == 0
    assert "no probabilistic linkage was needed" in m["note"]
    assert probs == [(1.0,)]
    assert probabilistic.metadata(m) == {
        "token_linkage": "not needed: every record was linked by an exact key"
    }


def test_best_and_runners_up_are_recalibrated_separately():
    # weight 2 means "right" for every best candidate and for no runner-up: recalibrated
    # together both would be about 0.5; separately each keeps what it means
    n = 200
    frame = pl.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(n)] * 2,
            "rank": [1] * n + [2] * n,
            "weight": [2.0] * (2 * n),
            "raw_probability": [0.8] * (2 * n),
            "person_label": [True] * n + [False] * n,
        }
    )
    p = recalibration.recalibrated(frame, recalibration.fit(frame))
    best = (frame["rank"] == 1).to_numpy()
    assert p[best] == pytest.approx(1.0)
    assert p[~best] == pytest.approx(0.0)


def test_recalibration_does_not_divide_by_the_records_sum(linked):
    """A record whose candidates' raw probabilities sum past 1 keeps its best candidate's
    recalibrated value: what the stored fit gives its weight, whatever the sum."""
    with connect(linked["db"], read_only=True) as con:
        cands = con.sql(
            "SELECT rank, weight, raw_probability, link_probability, "
            "sum(raw_probability) OVER (PARTITION BY source, record_id) AS total "
            "FROM link_candidates"
        ).pl()
        points = con.sql("SELECT which, calibrated_from, calibrated FROM link_calibration").pl()
    assert cands.filter(pl.col("total") > 1).height > 0
    expected = recalibration.recalibrated(cands, points)
    assert np.allclose(cands["link_probability"].to_numpy(), expected)


def test_measures_give_precision_recall_calibration_and_cluster_sizes(linked):
    m = linked["measures"]
    assert m["ran"] is True
    pr = m["precision_recall"]
    assert set(pr["police"]["household"]) >= {"at_0.5", "at_0.9", "at_0.99", "labelled_records"}
    assert pr["health"]["person"]["at_0.5"]["precision"] > 0.97
    best = m["calibration"]["best"]
    assert len(best["before"]) == len(best["after"]) == 10
    assert m["cluster_sizes"]["people"] > 0
    # the report's data-quality section says it in words
    from hearth.publish.report.linkage import token_linkage_section

    html = token_linkage_section(m)
    assert f"{m['needing_link']:,}</span> records with no exact key" in html
    assert "fire records with an address only" in html
    assert not TOKEN.search(html)


def test_the_model_is_kept_in_mlflow_and_reused(linked):
    first = linked["measures"]["model"]
    assert first["retrained"] is True and first["version"] == "1"
    stored = linked["store"].latest()
    assert stored is not None and stored.version == "1"
    assert stored.tags["token_version"] == TOKEN_VERSION
    assert "m_probability" in json.dumps(stored.model)
    with connect(linked["db"]) as con:
        link(con, linked["store"], today=date.fromisoformat(stored.tags["trained_on"]))
        again = probabilistic.measures(con)
    assert again["model"] == {
        "name": "hearth_record_linkage",
        "version": "1",
        "retrained": False,
        "retrain_reason": None,
    }


def _stored(**tags: str) -> Stored:
    base = {
        "token_version": TOKEN_VERSION,
        "settings_version": SETTINGS_VERSION,
        "contract_fingerprint": contract_fingerprint(),
        "trained_on": "2026-01-01",
        "linked_share": "0.9",
    }
    return Stored(version="3", model={}, tags={**base, **tags})


def test_the_retraining_rule():
    day = date(2026, 6, 1)
    assert retrain_reason(None, TOKEN_VERSION, day) == "no linkage model is registered yet"
    assert retrain_reason(_stored(), TOKEN_VERSION, day) is None
    assert "token version" in retrain_reason(_stored(token_version="t0"), TOKEN_VERSION, day)
    assert "comparisons" in retrain_reason(_stored(settings_version="s0"), TOKEN_VERSION, day)
    assert "contracts" in retrain_reason(_stored(contract_fingerprint="x"), TOKEN_VERSION, day)
    trained = date(2026, 1, 1)
    on_the_day = date.fromordinal(trained.toordinal() + MAX_AGE_DAYS)
    day_before = date.fromordinal(on_the_day.toordinal() - 1)
    assert retrain_reason(_stored(), TOKEN_VERSION, day_before) is None
    assert "days old" in retrain_reason(_stored(), TOKEN_VERSION, on_the_day)
    drift_ok = {"precision_at_0_5": 0.99, "linked_share": 0.85}
    assert retrain_reason(_stored(), TOKEN_VERSION, day, drift_ok) is None
    low = {"precision_at_0_5": 0.9, "linked_share": 0.9}
    assert "precision" in retrain_reason(_stored(), TOKEN_VERSION, day, low)
    moved = {"precision_at_0_5": 0.99, "linked_share": 0.7}
    assert "share" in retrain_reason(_stored(), TOKEN_VERSION, day, moved)


def test_no_token_or_pseudonym_reaches_metadata_or_measures(linked):
    meta = probabilistic.metadata(linked["measures"])
    for key, value in meta.items():
        assert not TOKEN.search(f"{key} {value}"), key
    text = json.dumps(linked["measures"])
    with connect(linked["db"], read_only=True) as con:
        tokens = con.sql(
            "SELECT DISTINCT unnest([given_token, family_token, birth_token, pc_unit_token, "
            "premise_token]) FROM link_records"
        ).fetchall()
        pids = con.sql("SELECT DISTINCT person_pid FROM link_register").fetchall()
    values = {v for (v,) in tokens + pids if v}
    assert values and not any(v in text for v in values)
    assert not TOKEN.search(text)


def test_the_dpo_evidence_pack_carries_linkage_accuracy_and_calibration(linked):
    """The DPO's pack (hearth dpia) shows what the report does: per source and threshold,
    precision and recall on exact-keyed records, and calibration before and after."""
    from hearth.privacy.linkage_evidence import accuracy_rows, calibration_rows, sentence

    m = linked["measures"]
    rows = accuracy_rows(m)
    police = [
        r for r in rows if r["source"] == "police" and r["checked_for"] == "the right household"
    ]
    assert [r["link_probability_at_least"] for r in police] == ["0.5", "0.9", "0.99"]
    at5 = m["precision_recall"]["police"]["household"]["at_0.5"]
    assert police[0]["precision"] == f"{at5['precision']:.4f}"
    assert police[0]["recall"] == f"{at5['recall']:.4f}"
    assert police[0]["linked"] == str(at5["linked"])
    assert any("address only" in r["checked_for"] for r in rows if r["source"] == "fire")
    cal = calibration_rows(m)
    best = [r for r in cal if r["candidates"] == "best links"]
    assert len(best) == 20 and {r["recalibration"] for r in best} == {"before", "after"}
    # each observed rate with its 95% interval: a tenth of a few links says little
    for r in best:
        if r["links"] == "0":
            assert r["observed_rate_95"] == ""
            continue
        low, high = (float(x) for x in r["observed_rate_95"].split("-"))
        assert low <= float(r["observed_rate"]) <= high
        assert high - low > (0.1 if int(r["links"]) <= 40 else 0.0)
    words = sentence(m)
    assert f"{m['needing_link']:,} records arrived without an exact key" in words
    assert "hearth reidentify-links" in words and "hearth_record_linkage version 1" in words
    assert not TOKEN.search(words + json.dumps(rows) + json.dumps(cal))
    assert "exact key" in sentence(None) and accuracy_rows(None) == calibration_rows(None) == []


def _features_with(db: Path, tmp: Path, links: str, truth: pl.DataFrame) -> pl.DataFrame:
    """The households' features at the newest month, from a copy of the linked warehouse whose
    links are as made, exact keys only, or the truth's."""
    from hearth.features.build import build_features
    from hearth.features.design import default_as_of

    copy = tmp / f"{links}.duckdb"
    copy.write_bytes(db.read_bytes())
    with connect(copy) as con:
        if links == "exact_keys_only":
            con.execute(
                "UPDATE linked_events SET household_pid = NULL, link_probability = NULL "
                "WHERE link_status = 'linked_by_tokens'"
            )
        elif links == "perfect":
            con.register("truth_links", truth.to_arrow())
            con.execute(
                "UPDATE linked_events le SET household_pid = t.household_pid, "
                "link_probability = 1.0 FROM truth_links t "
                "WHERE le.source = t.source AND le.record_id = t.record_id"
            )
        return build_features(con, default_as_of(con)).sort("household_pid")


def test_token_links_carry_the_signal_exact_keys_alone_lose(linked, agency_world, tmp_path):
    """What the model learns from: the households' event counts with the links as made are
    those of perfect links for nearly every household (token-linked records count, by their
    probability), where exact keys alone miss police's and fire's keyless records."""
    truth = pl.read_parquet(agency_world / "truth" / "record_links.parquet")
    made, perfect, exact = (
        _features_with(linked["db"], tmp_path, links, truth)
        for links in ("as_made", "perfect", "exact_keys_only")
    )
    assert made["household_pid"].equals(perfect["household_pid"])
    counts = [c for c in made.columns if c.endswith("_12m") and "uncertain" not in c]
    assert len(counts) > 10

    def differing(frame: pl.DataFrame) -> float:
        diff = pl.any_horizontal(
            ((frame[c].fill_null(0) - perfect[c].fill_null(0)).abs() > 0.1) for c in counts
        )
        return float(frame.select(diff.mean()).item())

    as_made, exact_only = differing(made), differing(exact)
    assert as_made <= 0.01, as_made
    assert exact_only >= 5 * max(as_made, 0.002), (as_made, exact_only)


def test_the_model_card_says_how_the_events_were_linked(linked):
    """The model card's "Linked records": per source, records needing a link, linked, and the
    household precision and recall at 0.5 the run measured; a world of exact keys says so."""
    from hearth.modelling.evaluation.linkage_lines import linkage_lines

    m = linked["measures"]
    text = "\n".join(linkage_lines({"": m}))
    police, at = m["by_source"]["police"], m["precision_recall"]["police"]["household"]["at_0.5"]
    assert (
        f"| police | {police['needing_link']:,} | {police['linked']:,} | "
        f"{100 * at['precision']:.1f}% | {100 * at['recall']:.1f}% |"
    ) in text
    assert f"{m['needing_link']:,} event records had no exact key" in text
    assert "fire records with an address only" in text and not TOKEN.search(text)
    assert "exact key" in "\n".join(linkage_lines(None))
    assert "exact key" in "\n".join(linkage_lines({"": None}))


def test_a_partnership_model_card_shows_every_authoritys_linkage(linked, tmp_path):
    """A partnership's model is trained on the union of its authorities' warehouses
    (hearth/warehouse.py: union_of): its card shows each authority's linkage under its code,
    not only the first warehouse's."""
    from hearth.linkage.probabilistic import _keep, measures_each
    from hearth.modelling.evaluation.linkage_lines import linkage_lines
    from hearth.warehouse import union_of

    m = linked["measures"]
    other = json.loads(json.dumps(m))  # a second authority that linked fewer police records
    other["by_source"]["police"]["linked"] = m["by_source"]["police"]["linked"] - 7
    other["needing_link"] = m["needing_link"] + 11
    paths = []
    for code, measures in (("E06000001", m), ("E06000002", other), ("E06000003", None)):
        path = tmp_path / code / "warehouse.duckdb"
        with connect(path) as con:
            if measures is not None:
                _keep(con, measures)
        paths.append(path)
    with union_of(paths) as con:
        each = measures_each(con)
    assert list(each) == ["E06000001", "E06000002", "E06000003"]
    assert each["E06000002"]["needing_link"] == m["needing_link"] + 11 and each["E06000003"] is None
    text = "\n".join(linkage_lines(each))
    assert "trained on 3 authorities' households" in text
    first, second = text.split("### E06000002")
    police = m["by_source"]["police"]
    assert f"| police | {police['needing_link']:,} | {police['linked']:,} |" in first
    assert f"| police | {police['needing_link']:,} | {police['linked'] - 7:,} |" in second
    assert f"{m['needing_link'] + 11:,} event records had no exact key" in second
    assert "### E06000003" in second and "by an exact key" in second.split("### E06000003")[1]
    with connect(paths[0], read_only=True) as con:  # one warehouse: its own, as before
        assert measures_each(con) == {"": m}


def test_em_trains_on_a_sample_of_each_blocks_pairs(linked, tmp_path, monkeypatch, caplog):
    """EM's pairs per training block are capped (splink_model.EM_PAIRS): a block on forename
    and surname grows with the square of the households (55 million pairs at 100,000), so
    uncapped it is the linkage's dominant cost. Here the cap is made small enough to bite on
    this small world (and the probe that counts a block's pairs reads every record)."""
    import logging

    from hearth.linkage import splink_model

    db = tmp_path / "w.duckdb"
    db.write_bytes(linked["db"].read_bytes())
    monkeypatch.setattr(splink_model, "EM_PAIRS", 300)
    monkeypatch.setattr(splink_model, "EM_PROBE", 1.0)
    caplog.set_level(logging.INFO, logger="splink.internals.em_sampling")
    caplog.set_level(logging.INFO, logger="splink.internals.em_training_session")
    with connect(db) as con:
        model = splink_model.train(con, 1e-3)
    totals = [
        float(r.args[0].replace(",", ""))
        for r in caplog.records
        if r.getMessage().startswith("[EM sampling] Estimated total blocked pairs")
    ]
    used = [
        r.args[0]
        for r in caplog.records
        if r.getMessage().startswith("[EM sampling] Materialised blocked pair count")
    ]
    # each block once for the pooled m and once per source with its own m
    trainings = 1 + len(model[splink_model.BY_SOURCE])
    assert len(totals) == trainings * len(splink_model.TRAINING_BLOCKS) and max(totals) > 1_000
    assert used and all(n <= 3 * 300 for n in used)  # sampled to about the cap
    assert len(used) == sum(t > 300 for t in totals)  # every block over the cap was sampled
    assert len(model["comparisons"]) == 4


def test_gathering_keeps_every_keyless_record_and_a_bounded_sample_of_keyed_ones(
    linked, tmp_path, monkeypatch
):
    """What splink compares grows with the records no exact key linked, never with the keyed
    ones: of those, only the first `LABELLED_PER_SOURCE` by a hash of the record id are
    gathered (the labels), whatever the source's size; each record once, with the tokens of
    its latest row. Here the bound is made small enough to bite on this small world."""
    db = tmp_path / "w.duckdb"
    db.write_bytes(linked["db"].read_bytes())
    monkeypatch.setattr(probabilistic, "LABELLED_PER_SOURCE", 25)
    with connect(db) as con:
        version = probabilistic.token_version(con)
        counts = probabilistic.gather(con, version)
        got = con.sql("SELECT source, record_id, needs_link FROM link_records").pl()
        assert got.height == got.unique(["source", "record_id"]).height
        for s in probabilistic._token_sources():
            expected = con.sql(
                f"""
                WITH tokened AS (
                    SELECT record_id, bool_and(link_status NOT IN
                        ('linked_by_household_key', 'linked_by_person_key')) AS needs
                    FROM linked_events
                    WHERE source = $source AND record_id IN
                        (SELECT "{s.key[0]}" FROM "raw_{s.name}" WHERE token_version = $v)
                    GROUP BY ALL
                )
                SELECT record_id, needs FROM tokened WHERE needs
                UNION ALL
                (SELECT record_id, needs FROM tokened WHERE NOT needs
                 ORDER BY hash(record_id) LIMIT 25)
                """,
                params={"source": s.name, "v": version},
            ).pl()
            mine = got.filter(pl.col("source") == s.name)
            keyed_total = con.execute(
                "SELECT count(DISTINCT record_id) FROM linked_events WHERE source = $s AND "
                "link_status IN ('linked_by_household_key', 'linked_by_person_key')",
                {"s": s.name},
            ).fetchall()[0][0]
            if keyed_total > 25:
                assert mine.filter(~pl.col("needs_link")).height == 25, s.name
            assert sorted(zip(mine["record_id"], mine["needs_link"], strict=True)) == sorted(
                zip(expected["record_id"], expected["needs"], strict=True)
            ), s.name
        assert counts["labelled"] <= 25 * len(probabilistic._token_sources())
        # a record's tokens are those of its latest row of the token version
        police = next(s for s in probabilistic._token_sources() if s.name == "police")
        stale = con.execute(
            f"""
            SELECT count(*) FROM link_records lr
            JOIN (SELECT "{police.key[0]}" AS record_id, family_token FROM raw_police
                  WHERE token_version = $v
                  QUALIFY row_number() OVER (PARTITION BY "{police.key[0]}"
                      ORDER BY _extract_month DESC, _row_number DESC) = 1) r
              ON r.record_id = lr.record_id
            WHERE lr.source = 'police' AND lr.family_token IS DISTINCT FROM r.family_token
            """,
            {"v": version},
        ).fetchall()[0][0]
        assert stale == 0


def test_em_training_blocks_pair_records_with_the_register_only(linked, tmp_path):
    """splink's EM joins the records and the register stacked with themselves; each training
    block's own conditions select only record-register pairs, so DuckDB can filter each side
    before the join and the register is not joined with itself on a common value."""
    from hearth.linkage import splink_model

    db = tmp_path / "w.duckdb"
    db.write_bytes(linked["db"].read_bytes())
    with connect(db) as con:
        probabilistic.gather(con, probabilistic.token_version(con))
        # the two inputs stacked as splink stacks them, named as splink_model registers them
        con.execute(
            "CREATE TEMP TABLE stacked AS "
            "SELECT 'records' AS source_dataset, * FROM link_records_in UNION ALL "
            "SELECT 'register' AS source_dataset, * FROM link_register_in"
        )
        for rule in splink_model.TRAINING_BLOCKS:
            sides = con.sql(
                f"SELECT l.source_dataset AS l, r.source_dataset AS r, count(*) AS n "
                f"FROM stacked l JOIN stacked r ON {rule} GROUP BY ALL"
            ).fetchall()
            assert {(left, right) for left, right, _ in sides} == {("records", "register")}, rule
            assert sides[0][2] > 100, rule


def test_every_blocking_rule_is_narrowed_by_a_birth_part_or_a_place():
    """A blocking rule on names alone pairs every record with everyone sharing a common name:
    its pairs grow with records x register, the square of the households (swapped names alone:
    507,000 pairs at 100,000 households). Each rule must also agree on a date of birth part or
    a place, the same token on both sides, so prediction grows with the records."""
    from hearth.linkage.splink_model import BLOCKING_RULES, NARROWING

    for rule in BLOCKING_RULES:
        agreements = re.findall(r"\bl\.(\w+) = r\.(\w+)", rule)
        assert agreements, rule
        assert any(left == right and left in NARROWING for left, right in agreements), rule
