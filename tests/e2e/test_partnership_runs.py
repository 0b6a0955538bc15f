"""A partnership of three authorities run end to end (issue 28): one authority's step stops (its
health extract for the newest month arrives as a workbook Hearth cannot read), the other two
still publish their lists, byte for byte the lists they publish when nothing fails; each list
holds only its own households; the stopped authority re-runs alone and publishes, leaving the
others' lists untouched. Each authority is a real `hearth run` in its own home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from hearth import settings
from hearth.linkage.partnership import read_authorities
from hearth.operations.partnership import route_partnership, run_authorities, run_partnership
from tests.conftest import FAST_TRAINING
from tests.support.environment import clear_hearth, without_hearth

CSV = Path("outputs") / "latest" / "ranked_households.csv"


def _list(home: Path, authority: str) -> Path:
    return home / "authorities" / authority / CSV


@pytest.fixture(scope="module")
def runs(small_world, tmp_path_factory):
    landing = small_world / "landing"
    first, reference = (tmp_path_factory.mktemp(n) for n in ("one", "ref"))
    config = first / "train.yaml"
    config.write_text(yaml.safe_dump(FAST_TRAINING))
    extra = ["--train-config", str(config)]
    authorities = read_authorities(landing)
    failing, kept = authorities[-1], authorities[0]
    # the list `kept` publishes when nothing fails, from a partnership home of its own
    alone = subprocess.Popen(
        [sys.executable, "-m", "hearth.cli.app", "partnership", "run"]
        + ["--landing", str(landing), "--authority", kept, "--jobs", "1"],
        env=without_hearth(HEARTH_HOME=str(reference / "home")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    mp = pytest.MonkeyPatch()
    clear_hearth(mp, HEARTH_HOME=str(first / "home"))
    lines: list[str] = []
    try:
        routing = route_partnership(landing, say=lines.append)
        newest = max(e.month for e in routing.extracts if e.source == "health")
        bad = settings.authority_home(failing) / "landing" / "health" / newest / "late.xlsx"
        bad.write_bytes(b"PK\x03\x04 a workbook, not an extract")
        stopped = run_authorities(routing.authorities, 2, extra, lines.append, routing)
        before = {a: _list(first / "home", a).read_bytes() for a in authorities[:-1]}
        bad.unlink()  # the officer sorts it out; the failed authority runs alone
        _, again = run_partnership(landing, [failing], 1, extra, lines.append)
        summary = json.loads((settings.partnership_dir() / "run_summary.json").read_text())
    finally:
        mp.undo()
    out, _ = alone.communicate(timeout=3600)
    assert alone.returncode == 0, out
    return {
        "home": first / "home",
        "reference": reference / "home",
        "authorities": authorities,
        "failing": failing,
        "kept": kept,
        "stopped": stopped,
        "again": again,
        "before": before,
        "summary": summary,
        "lines": lines,
    }


def test_one_authority_stopping_leaves_the_others_lists_as_they_would_have_been(runs):
    by = {r.authority: r for r in runs["stopped"]}
    failing, kept = runs["failing"], runs["kept"]
    assert not by[failing].published
    assert any("late.xlsx" in line for line in by[failing].why), by[failing].why
    assert all(by[a].published for a in runs["authorities"] if a != failing)
    # byte for byte the list `kept` publishes in a partnership where nothing failed
    reference = _list(runs["reference"], kept).read_bytes()
    assert runs["before"][kept] == reference


def test_the_stopped_authority_runs_alone_and_the_others_are_untouched(runs):
    home, failing = runs["home"], runs["failing"]
    assert [r.authority for r in runs["again"]] == [failing] and runs["again"][0].published
    for authority, before in runs["before"].items():
        assert _list(home, authority).read_bytes() == before
    summary = runs["summary"]
    assert summary["published"] == list(runs["authorities"]) and summary["stopped"] == []
    this_run = {r["authority"]: r["this_run"] for r in summary["authorities_runs"]}
    assert this_run == {a: a == failing for a in runs["authorities"]}


def test_each_authority_publishes_only_its_own_households(runs, small_world):
    home = runs["home"]
    addresses = pl.read_parquet(small_world / "landing" / "addresses" / "*" / "*.parquet")
    la_of = dict(addresses.select("household_pid", "la_code").unique().iter_rows())
    for authority in runs["authorities"]:
        ranked = pl.read_csv(_list(home, authority))
        assert ranked.height > 0
        assert set(ranked["la_code"]) == {authority}
        assert {la_of[h] for h in ranked["household_pid"]} == {authority}
