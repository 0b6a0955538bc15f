"""A partnership of three authorities run end to end around one partnership model (issue 28), on
a world of 1,500 households with the agencies' own identifiers (issue 25: police with no NHS
number, fire by address, social care with NHS numbers for some; records that share no key are
routed by the partnership's linkage), about 500 an authority. Each run is the partnership's
Dagster job (hearth/defs/operations/partnership.py) launched as `hearth partnership run` does;
each authority's step is a real `hearth run` in its own home, in two parts, and the partnership
model a real MLflow version. No run is told to go on past a missing source: a month with no row
of an agency's extract for an authority reaches it as a header-only file, loaded as 0 rows
received.

1. On the multiprocess executor, every authority prepares (two of their steps at once, by
   Dagster's own step events), the partnership model is trained once on the union of their
   feature sets and registered once in the partnership's MLflow home; each authority scores
   with it and publishes only its own households, and trains nothing of its own.
2. Next, one authority's step stops (its health extract for the newest month arrives as a
   workbook Hearth cannot read) and another's is killed mid-way (its `hearth run` gets
   SIGKILL): the completeness rule does not hold, so the model is not retrained, and the third
   publishes with the last partnership model — byte for byte the list it published when nothing
   failed (a retrain on the same data registers no new version:
   hearth/modelling/registry/run_log.py). The summary names who was in and who not.
3. The two stopped authorities re-run alone (in-process) and publish with the same model,
   leaving the other's list untouched."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from hearth import settings
from hearth.cli.partnership import run_authorities, run_partnership
from hearth.linkage.partnership import read_authorities
from hearth.modelling.registry.client import Registry
from hearth.operations.partnership import route_partnership
from tests.conftest import FAST_TRAINING
from tests.support.environment import clear_hearth
from tests.support.model_compare import differences, registered_model
from tests.support.step_events import launched_together, overlaps, step_spans

CSV = Path("outputs") / "latest" / "ranked_households.csv"
HOUSEHOLDS = 1500  # over three authorities: the e2e stays within CI's budget
# no --allow-missing-sources anywhere: "no rows for you" is not a missing source


def _list(home: Path, authority: str) -> Path:
    return home / "authorities" / authority / CSV


def _registry(home: Path) -> Registry:
    return Registry(f"sqlite:///{home / 'mlflow.db'}")


def _killer(home: Path, part: str, after: float = 3.0) -> threading.Thread:
    """A thread that waits for the authority's `hearth run --part <part>` (a grandchild of this
    test: the step's child process, working in `home`), lets it work for `after` seconds, then
    kills it by its PID with SIGKILL."""

    def ours(pid: str) -> bool:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            return (
                os.readlink(f"/proc/{pid}/cwd") == str(home.resolve())
                and [
                    b"--part",
                    part.encode(),
                ]
                == cmd[cmd.index(b"--part") : cmd.index(b"--part") + 2]
            )
        except (OSError, ValueError):
            return False

    def watch() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            found = [p for p in os.listdir("/proc") if p.isdigit() and ours(p)]
            if found:
                time.sleep(after)
                os.kill(int(found[0]), signal.SIGKILL)
                return
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


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
    home_in_process = tmp_path_factory.mktemp("partnership_in_process") / "home"
    authorities = read_authorities(landing)
    failing, killed = authorities[-1], authorities[0]
    mp = pytest.MonkeyPatch()
    clear_hearth(mp, HEARTH_HOME=str(home))
    lines: list[str] = []
    try:
        _, first = run_partnership(
            landing, jobs=2, say=lines.append, train_config=FAST_TRAINING
        )  # the default executor: multiprocess
        first_summary = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
        published = {a: _list(home, a).read_bytes() for a in authorities}
        kept = tmp_path_factory.mktemp("partnership_kept")  # the homes as the first run left them
        for a in authorities:
            shutil.copytree(settings.authority_home(a), kept / a)
        # the same world and settings in a home of its own, on the in-process executor
        clear_hearth(mp, HEARTH_HOME=str(home_in_process))
        run_partnership(
            landing, say=lines.append, train_config=FAST_TRAINING, executor="in_process"
        )
        in_process = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
        clear_hearth(mp, HEARTH_HOME=str(home))
        # the next run: one authority's newest health extract is a workbook it cannot read
        routing = route_partnership(landing, say=lines.append)
        newest = max(e.month for e in routing.extracts if e.source == "health")
        bad = settings.authority_home(failing) / "landing" / "health" / newest / "late.xlsx"
        bad.write_bytes(b"PK\x03\x04 a workbook, not an extract")
        # ... and another authority's step is killed mid-way
        kill = _killer(settings.authority_home(killed), "prepare")
        stopped = run_authorities(
            routing.authorities, landing, 2, say=lines.append, train_config=FAST_TRAINING
        )
        kill.join(timeout=5)
        stopped_summary = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
        after_stop = {a: _list(home, a).read_bytes() for a in authorities}
        bad.unlink()  # the officer sorts it out; the stopped authorities run alone
        _, again = run_partnership(
            landing, [failing, killed], 1, say=lines.append, executor="in_process"
        )
        summary = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
    finally:
        mp.undo()
    return {
        "home": home,
        "authorities": authorities,
        "failing": failing,
        "killed": killed,
        "first": first,
        "first_summary": first_summary,
        "home_in_process": home_in_process,
        "in_process_summary": in_process,
        "kept": kept,
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


def test_the_partnership_is_one_dagster_run_with_authority_steps_side_by_side(runs):
    """The first run's own step events: routing, a step per authority for each part, the model
    and the summary, all ended well; two authorities prepared at once on the multiprocess
    executor (`--jobs 2`; with `--jobs 1` no two overlap)."""
    home, authorities = runs["home"], runs["authorities"]
    spans = step_spans(home / "dagster", runs["first_summary"]["run_id"])
    expected = {"route_partnership_landing", "partnership_summary", *MODEL_STEPS}
    expected |= {f"{part}_authority[{a}]" for part in ("prepare", "score") for a in authorities}
    # and the chosen candidate's refit: a step per unit of its fit (two for the ensemble)
    assert {k for k in spans if not k.startswith("partnership_model_fit[refit_")} == expected
    prepared = overlaps(spans, "prepare_authority[")
    print(f"authority steps that overlapped (seconds): {prepared}")  # for the report: -s
    assert prepared, spans
    # the model waited for every authority's first part, every second part waited for it
    begun, registered = spans["partnership_model"][0], spans["partnership_model_registered"][1]
    assert all(spans[k][1] <= begun for k in spans if k.startswith("prepare_authority["))
    assert all(spans[k][0] >= registered for k in spans if k.startswith("score_authority["))


# The partnership model's steps with FAST_TRAINING (every candidate, the value of sharing, the
# refit of the chosen candidate): the windows, a step per candidate's fit (the trees' cross-fit
# with out-of-fold stopping: a step per fold), the choice (which pools the trees' folds), the
# chosen candidate's refit (its steps: below) and the step that pools it, two groups of
# value-of-sharing refits, the registration.
TREES_FOLDS = [f"gradient_boosting_fold_{f}" for f in range(5)]
MODEL_STEPS = {
    "partnership_model",
    "partnership_model_candidate[candidate_logistic]",
    *(f"partnership_model_candidate[candidate_{u}]" for u in TREES_FOLDS),
    "partnership_model_choice",
    "partnership_model_refit",
    "partnership_model_sharing[sharing_0]",
    "partnership_model_sharing[sharing_1]",
    "partnership_model_registered",
}


def test_the_models_fits_are_steps_the_executor_launches_side_by_side(runs):
    """Two candidates' fits (a fold of the trees' among them) launched before either ended, by
    the multiprocess executor's own event order (`--jobs 2`), and two of the fits that follow
    the choice likewise."""
    dagster, run_id = runs["home"] / "dagster", runs["first_summary"]["run_id"]
    together = launched_together(dagster, run_id, "partnership_model_candidate[")
    assert len(together) == 2 and set(together) <= MODEL_STEPS, together
    after = launched_together(
        dagster, run_id, ("partnership_model_fit[", "partnership_model_sharing[")
    )
    assert len(after) == 2, after
    # the chosen candidate's refit: a step per unit of its fit (none for the baseline, which
    # is refitted in no time when put together; two for the ensemble), the trees' a step per
    # fold
    from hearth.modelling.training.units import fit_units

    params = _registry(runs["home"]).run(_registry(runs["home"]).version("1").run_id).data.params
    refits = {k for k in step_spans(dagster, run_id) if k.startswith("partnership_model_fit[re")}
    units = [
        u
        for kind in fit_units([params["candidate"]])
        for u in (TREES_FOLDS if kind == "gradient_boosting" else [kind])
    ]
    expected = {f"partnership_model_fit[refit_{u}]" for u in units}
    print(f"chosen: {params['candidate']}; its refit's steps: {sorted(refits)}")
    assert refits == expected
    assert params["refit_as_of"] != "none"  # refitted all the same


def _version_files(home: Path) -> dict[str, bytes]:
    """Every file MLflow keeps of the run that registered the partnership's version 1: its
    card, tables and plots (its model is compared by value: tests/support/model_compare.py)."""
    registry = _registry(home)
    run_id = registry.version("1").run_id
    root = Path(registry.client.download_artifacts(run_id, "", str(home.parent / "artifacts")))
    return {
        str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()
    }


def _same_version(home: Path, other: Path) -> None:
    files, again = _version_files(home), _version_files(other)
    assert {"model_card.md", "sharing.csv", "calibration.csv"} <= set(files), sorted(files)
    assert files.keys() == again.keys()
    assert [n for n in files if files[n] != again[n]] == []
    model, other_model = registered_model(home), registered_model(other)
    assert differences(model, other_model) == []


def test_in_process_and_multiprocess_publish_the_same_model_card_and_lists(runs):
    """The same world and settings in two homes, the partnership's job on the in-process
    executor and on the multiprocess one: each authority's ranked CSV and the model's card and
    tables are the same bytes, the model the same value for value."""
    home, other = runs["home"], runs["home_in_process"]
    assert runs["in_process_summary"]["published"] == list(runs["authorities"])
    for authority in runs["authorities"]:
        assert _list(other, authority).read_bytes() == runs["published"][authority], authority
    _same_version(home, other)


def test_the_models_steps_make_the_same_model_as_the_recipe_in_one_call(runs, tmp_path):
    """hearth/modelling/training/staged.py against recipe.py's `train_champion` (what a home's
    champion_model asset and, before the steps, the partnership's model step called), on copies
    of the same authorities' homes: the same model, card and tables, byte for byte."""
    from hearth.operations.partnership import PartnershipPlan, partnership_model_step
    from hearth.operations.partnership_model import (
        begin_partnership_model,
        choose_partnership_model,
        finish_partnership_model,
        fit_partnership_unit,
        judge_completeness,
        pool_partnership_refit,
    )

    authorities = runs["authorities"]
    homes = {}
    mp = pytest.MonkeyPatch()
    try:
        for way in ("one_call", "staged"):
            home = tmp_path / way / "home"
            for a in authorities:
                shutil.copytree(runs["kept"] / a, home / "authorities" / a)
            clear_hearth(mp, HEARTH_HOME=str(home))
            if way == "one_call":
                plan = PartnershipPlan(tuple(authorities), tuple(authorities), time.time())
                model = partnership_model_step(plan, [], train_config=FAST_TRAINING, say=print)
            else:
                rule = judge_completeness(authorities)
                work = settings.partnership_dir() / "model_work" / "test"
                training, units = begin_partnership_model(rule, True, FAST_TRAINING, work, print)
                assert [u for u in units if "_fold_" in u] == [
                    f"candidate_{u}" for u in TREES_FOLDS
                ]
                for unit in units:
                    fit_partnership_unit(training, unit, print)
                refits, sharing = choose_partnership_model(training, print)
                for unit in refits + sharing:
                    fit_partnership_unit(training, unit, print)
                pool_partnership_refit(training, print)
                model = finish_partnership_model(training, print)
                assert not work.exists()  # cleared once registered
            assert model.trained_version == "1", model
            homes[way] = home
    finally:
        mp.undo()
    _same_version(homes["one_call"], homes["staged"])


def test_one_authority_stopping_leaves_the_others_lists_as_they_would_have_been(runs):
    by = {r.authority: r for r in runs["stopped"]}
    failing, killed = runs["failing"], runs["killed"]
    assert not by[failing].prepared and not by[failing].published
    assert any("late.xlsx" in line for line in by[failing].why), by[failing].why
    assert not by[killed].prepared and not by[killed].published
    assert "its run was stopped by signal 9" in by[killed].why, by[killed].why
    others = [a for a in runs["authorities"] if a not in (failing, killed)]
    assert others and all(by[a].published and by[a].model_version == "1" for a in others)
    for a in others:  # byte for byte the lists they published when nothing failed
        assert runs["after_stop"][a] == runs["published"][a]
    # the stopped authorities' last lists stay as they were
    for a in (failing, killed):
        assert runs["after_stop"][a] == runs["published"][a]
    model = runs["stopped_summary"]["model"]
    assert not model["retrained"] and not model["rule_holds"]
    assert model["in"] == others and set(model["not_in"]) == {failing, killed}
    assert "late.xlsx" in model["not_in"][failing]
    assert model["champion_version"] == "1"
    assert runs["stopped_summary"]["stopped"] == sorted([failing, killed])
    # in Dagster: each stopped authority's step ended as a step, its outcome recorded; the run
    # went on to score the other and write the summary
    spans = step_spans(runs["home"] / "dagster", runs["stopped_summary"]["run_id"])
    assert {f"prepare_authority[{a}]" for a in runs["authorities"]} <= set(spans)
    assert {k for k in spans if k.startswith("score_authority[")} == {
        f"score_authority[{a}]" for a in others
    }


def test_the_stopped_authorities_run_alone_and_the_others_are_untouched(runs):
    home, failing, killed = runs["home"], runs["failing"], runs["killed"]
    again = {r.authority: r for r in runs["again"]}
    assert set(again) == {failing, killed}
    assert all(r.published and r.model_version == "1" for r in again.values())
    for authority in runs["authorities"]:  # as they would have been: the first run's lists
        assert _list(home, authority).read_bytes() == runs["published"][authority]
    summary = runs["summary"]
    assert summary["published"] == list(runs["authorities"]) and summary["stopped"] == []
    assert not summary["model"]["retrained"]  # run alone: scored with the current model
    this_run = {r["authority"]: r["this_run"] for r in summary["authorities_runs"]}
    assert this_run == {a: a in (failing, killed) for a in runs["authorities"]}
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
