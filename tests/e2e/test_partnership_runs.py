"""A partnership of three authorities run end to end around one partnership model (issue 28), on
a world of 1,500 households with the agencies' own identifiers (issue 25: police with no NHS
number, fire by address, social care with NHS numbers for some; records that share no key are
routed by the partnership's linkage), about 500 an authority; each authority is a real `hearth
run` in its own home, in two parts, and the partnership model a real MLflow version. No run is
told to go on past a missing source: a month with no row of an agency's extract for an
authority reaches it as a header-only file, loaded as 0 rows received.

1. Every authority prepares, the partnership model is trained once on the union of their
   feature sets and registered once in the partnership's MLflow home; each authority scores
   with it and publishes only its own households, and trains nothing of its own.
2. Next, one authority's step stops (its health extract for the newest month arrives as a
   workbook Hearth cannot read): the completeness rule does not hold, so the model is not
   retrained, and the other two publish with the last partnership model — byte for byte the
   lists they published when nothing failed (a retrain on the same data registers no new
   version: hearth/modelling/registry/run_log.py). The summary names who was in and who not.
3. The stopped authority re-runs alone and publishes with the same model, leaving the others'
   lists untouched."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from hearth import settings
from hearth.linkage.partnership import read_authorities
from hearth.modelling.registry.client import Registry
from hearth.operations.partnership import route_partnership, run_authorities, run_partnership
from tests.conftest import FAST_TRAINING
from tests.support.environment import clear_hearth

CSV = Path("outputs") / "latest" / "ranked_households.csv"
HOUSEHOLDS = 1500  # over three authorities: the e2e stays within CI's budget
GO_ON: list[str] = []  # no --allow-missing-sources: "no rows for you" is not a missing source


def _list(home: Path, authority: str) -> Path:
    return home / "authorities" / authority / CSV


def _registry(home: Path) -> Registry:
    return Registry(f"sqlite:///{home / 'mlflow.db'}")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("partnership_world")
    raw = tmp_path_factory.mktemp("partnership_raw") / "raw"
    synthesise(
        root / "landing",
        root / "_truth",
        households=HOUSEHOLDS,
        seed=3,
        identifiers="agency",
        raw=raw,
    )
    return root


@pytest.fixture(scope="module")
def runs(world, tmp_path_factory):
    landing = world / "landing"
    home = tmp_path_factory.mktemp("partnership") / "home"
    authorities = read_authorities(landing)
    failing = authorities[-1]
    mp = pytest.MonkeyPatch()
    clear_hearth(mp, HEARTH_HOME=str(home))
    lines: list[str] = []
    try:
        _, first = run_partnership(
            landing, jobs=2, extra=GO_ON, say=lines.append, train_config=FAST_TRAINING
        )
        first_summary = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
        published = {a: _list(home, a).read_bytes() for a in authorities}
        # the next run: one authority's newest health extract is a workbook it cannot read
        routing = route_partnership(landing, say=lines.append)
        newest = max(e.month for e in routing.extracts if e.source == "health")
        bad = settings.authority_home(failing) / "landing" / "health" / newest / "late.xlsx"
        bad.write_bytes(b"PK\x03\x04 a workbook, not an extract")
        stopped = run_authorities(
            routing.authorities, 2, GO_ON, lines.append, routing, train_config=FAST_TRAINING
        )
        stopped_summary = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
        after_stop = {a: _list(home, a).read_bytes() for a in authorities}
        bad.unlink()  # the officer sorts it out; the failed authority runs alone
        _, again = run_partnership(landing, [failing], 1, GO_ON, lines.append)
        summary = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
    finally:
        mp.undo()
    return {
        "home": home,
        "authorities": authorities,
        "failing": failing,
        "first": first,
        "first_summary": first_summary,
        "published": published,
        "stopped": stopped,
        "stopped_summary": stopped_summary,
        "after_stop": after_stop,
        "again": again,
        "summary": summary,
        "lines": lines,
    }


def test_one_partnership_model_is_trained_once_and_scores_every_authority(runs):
    home = runs["home"]
    assert all(r.prepared and r.published for r in runs["first"]), runs["lines"]
    model = runs["first_summary"]["model"]
    assert model["retrained"] and model["rule_holds"]
    assert model["in"] == list(runs["authorities"]) and model["not_in"] == {}
    versions = _registry(home).versions()
    assert [str(v.version) for v in versions] == ["1"]  # registered once, however many runs
    assert _registry(home).aliases() == {"champion": "1"}
    for authority in runs["authorities"]:
        own = settings_home(home, authority)
        summary = json.loads((own / "outputs" / "latest" / "run_summary.json").read_text())
        assert str(summary["model"]["version"]) == "1"
        assert _registry(own).versions() == []  # an authority trains nothing of its own
    # the union: the model was trained on every authority's households at its training date
    trained = _registry(home).run(versions[0].run_id).data.params
    features = [
        settings_home(home, a) / "features" / f"features_{trained['train_as_of']}.parquet"
        for a in runs["authorities"]
    ]
    each = [pl.read_parquet(f, columns=["household_pid"]).height for f in features]
    assert int(trained["train_rows"]) == sum(each) and min(each) > 0, (trained, each)


def settings_home(home: Path, authority: str) -> Path:
    return home / "authorities" / authority


def test_one_authority_stopping_leaves_the_others_lists_as_they_would_have_been(runs):
    by = {r.authority: r for r in runs["stopped"]}
    failing = runs["failing"]
    assert not by[failing].prepared and not by[failing].published
    assert any("late.xlsx" in line for line in by[failing].why), by[failing].why
    others = [a for a in runs["authorities"] if a != failing]
    assert all(by[a].published and by[a].model_version == "1" for a in others)
    for a in others:  # byte for byte the lists they published when nothing failed
        assert runs["after_stop"][a] == runs["published"][a]
    # the stopped authority's last list stays as it was
    assert runs["after_stop"][failing] == runs["published"][failing]
    model = runs["stopped_summary"]["model"]
    assert not model["retrained"] and not model["rule_holds"]
    assert model["in"] == others and list(model["not_in"]) == [failing]
    assert "late.xlsx" in model["not_in"][failing]
    assert model["champion_version"] == "1"
    assert runs["stopped_summary"]["stopped"] == [failing]


def test_the_stopped_authority_runs_alone_and_the_others_are_untouched(runs):
    home, failing = runs["home"], runs["failing"]
    again = runs["again"]
    assert [r.authority for r in again] == [failing] and again[0].published
    assert again[0].model_version == "1"
    for authority in runs["authorities"]:
        if authority != failing:
            assert _list(home, authority).read_bytes() == runs["published"][authority]
    summary = runs["summary"]
    assert summary["published"] == list(runs["authorities"]) and summary["stopped"] == []
    assert not summary["model"]["retrained"]  # run alone: scored with the current model
    this_run = {r["authority"]: r["this_run"] for r in summary["authorities_runs"]}
    assert this_run == {a: a == failing for a in runs["authorities"]}
    assert [str(v.version) for v in _registry(home).versions()] == ["1"]


def test_each_authority_publishes_only_its_own_households(runs, world):
    home = runs["home"]
    addresses = pl.read_parquet(world / "landing" / "addresses" / "*" / "*.parquet")
    la_of = dict(addresses.select("household_pid", "la_code").unique().iter_rows())
    for authority in runs["authorities"]:
        ranked = pl.read_csv(_list(home, authority))
        assert ranked.height > 0
        assert set(ranked["la_code"]) == {authority}
        assert {la_of[h] for h in ranked["household_pid"]} == {authority}


def test_records_that_share_no_key_reach_their_authority(runs):
    """Police hold no NHS number: their records reach an authority by the partnership's linkage,
    and every row received is routed or counted with its reason."""
    record = json.loads((runs["home"] / "partnership" / "routing.json").read_text())
    police = [e for e in record["extracts"] if e["source"] == "police"]
    received = sum(e["received"] for e in police)
    routed = sum(sum(e["routed"].values()) for e in police)
    assert received > 0 and routed >= 0.95 * received
    for e in record["extracts"]:
        routed = sum(e["routed"].values()) - e["copies"]
        assert e["received"] == routed + sum(e["not_routed"].values()), e["source"]
