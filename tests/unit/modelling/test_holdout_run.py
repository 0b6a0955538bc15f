"""The hold-out as a run decides it (issue 26): a share needs an approval, the salt is fixed per
generation and kept, the key is made once for its owner, the decision is audited (no
pseudonym), and the published top leaves held-out households off. A real DuckDB file and the
real audit log."""

from __future__ import annotations

import hashlib
import json
import random
import stat

import polars as pl
import pytest

from hearth.modelling.holdout import HoldoutError
from hearth.modelling.scoring.holdout_run import (
    NEVER_OVERRIDES,
    decide_holdout,
    held_out_households,
    holdout_settings,
    load_decision,
    mark_held_out,
)
from hearth.privacy import audit
from hearth.privacy.holdout_audit import holdout_entries, record_holdout
from hearth.publish.ranked import published_top
from hearth.publish.words import list_meta
from hearth.warehouse import connect

APPROVAL = "A. Khan, DPO; partnership board 2026-03-12"


def ranked(n: int = 2000, seed: int = 4) -> pl.DataFrame:
    rng = random.Random(seed)
    pids = [hashlib.sha256(f"h{i}".encode()).hexdigest() for i in range(n)]
    scores = sorted((rng.random() * 0.3 for _ in pids), reverse=True)
    return pl.DataFrame({"household_pid": pids, "score": scores, "rank": range(1, n + 1)})


@pytest.fixture
def share(hearth_home, monkeypatch):
    monkeypatch.setenv("HEARTH_HOLDOUT_SHARE", "0.1")
    monkeypatch.setenv("HEARTH_HOLDOUT_APPROVED_BY", APPROVAL)
    return hearth_home


def test_a_share_without_an_approval_stops_the_run(hearth_home, monkeypatch):
    assert holdout_settings().share == 0  # default: nobody held out
    monkeypatch.setenv("HEARTH_HOLDOUT_SHARE", "0.1")
    with pytest.raises(HoldoutError, match="HEARTH_HOLDOUT_APPROVED_BY"):
        holdout_settings()
    monkeypatch.setenv("HEARTH_HOLDOUT_SHARE", "0.7")
    with pytest.raises(HoldoutError, match="between 0 and 0.5"):
        holdout_settings()
    monkeypatch.setenv("HEARTH_HOLDOUT_SHARE", "ten percent")
    with pytest.raises(HoldoutError, match="a share between 0 and 0.5") as e:
        holdout_settings()
    assert "ten percent" not in str(e.value)


def test_salt_fixed_per_generation_kept_and_audited(share, tmp_path):
    r = ranked()
    with connect(tmp_path / "w.duckdb") as con:
        first = decide_holdout(con, r, "2026-01", "v3", capacity=100)
        held_jan = held_out_households(con, "2026-01")
        # next month, the same generation scores again: the same salt; January's held out stay
        # held out and ten more are drawn among the others
        again = decide_holdout(con, r, "2026-02", "v3", capacity=100)
        held_feb = held_out_households(con, "2026-02")
        assert again.salt == first.salt and held_jan < held_feb and len(held_feb) == 20
        assert (again.held_out, again.carried) == (10, 10)
        assert "stays held out for 12 months (the 10 drawn by earlier lists" in again.sentence()
        # a new generation draws afresh
        new = decide_holdout(con, r, "2026-03", "v4", capacity=100)
        assert new.salt != first.salt and held_out_households(con, "2026-03") != held_jan
        assert len(held_jan) == first.held_out == 10
        kept = load_decision(con, "2026-01")
    assert kept["approved_by"] == APPROVAL and kept["held_out"] == 10
    assert NEVER_OVERRIDES in kept["sentence"]
    key = share / "holdout.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 64

    entry = record_holdout(first)
    assert entry is not None and holdout_entries() == [entry]
    detail = entry["detail"]
    assert detail["salt"] == first.salt and detail["approved_by"] == APPROVAL
    assert detail["share"] == 0.1 and detail["held_out"] == 10 and detail["generation"] == "v3"
    assert len(detail["key_fingerprint"]) == 12
    text = json.dumps(audit.entries())
    assert not any(p in text for p in held_jan)  # counts and settings only, never a pseudonym
    assert key.read_text() not in text
    assert audit.verify().intact


def test_share_zero_is_kept_not_audited_and_says_the_model_cannot_be_retrained(
    hearth_home, tmp_path
):
    with connect(tmp_path / "w.duckdb") as con:
        d = decide_holdout(con, ranked(), "2026-01", "v1", capacity=100)
        assert d.held_out == 0 and held_out_households(con, "2026-01") == set()
        kept = load_decision(con, "2026-01")
    assert record_holdout(d) is None and holdout_entries() == []
    assert "cannot be safely retrained" in kept["sentence"]
    assert not (hearth_home / "holdout.key").exists()  # no lottery, no key


def test_the_published_top_leaves_held_out_households_off(share, tmp_path):
    r = ranked()
    with connect(tmp_path / "w.duckdb") as con:
        decide_holdout(con, r, "2026-01", "v3", capacity=100)
        held = held_out_households(con, "2026-01")
        summary = {"as_of": "2026-01", "holdout": load_decision(con, "2026-01")}
    top = published_top(mark_held_out(r, held), 0.05)  # 5% of 2,000 = 100
    assert top.height == 100 and not set(top["household_pid"]) & held
    assert top["rank"].max() == 110  # the freed places went to the next households
    assert published_top(r, 0.05)["rank"].max() == 100  # no hold-out column: as before
    meta = list_meta(summary, top.height, 0.05, None)
    assert meta.holdout_notice and "never overrides safeguarding" in meta.holdout_notice


def test_a_held_out_household_stays_held_out_for_12_months_from_its_draw(share, tmp_path):
    # January's held-out households have a crisis and their scores rise above the margin in
    # February, and a new champion (generation v4) scores from March: still held out (off the
    # list) until 12 months after their draw, then free
    r = ranked()

    def listed(con, month: str) -> set[str]:
        return set(
            con.sql(
                "SELECT household_pid FROM holdout_assignments WHERE listed AND as_of = ?",
                params=[month],
            ).pl()["household_pid"]
        )

    with connect(tmp_path / "w.duckdb") as con:
        decide_holdout(con, r, "2026-01", "v3", capacity=100)
        held = held_out_households(con, "2026-01")
        rose = r.with_columns(
            pl.when(pl.col("household_pid").is_in(list(held)))
            .then(pl.col("score") + 1.0)
            .otherwise(pl.col("score"))
            .alias("score")
        )
        feb = decide_holdout(con, rose, "2026-02", "v3", capacity=100)
        assert held <= held_out_households(con, "2026-02") and not held & listed(con, "2026-02")
        assert feb.carried == len(held) == 10
        top = published_top(mark_held_out(rose, held_out_households(con, "2026-02")), 0.05)
        assert top.height == 100 and not set(top["household_pid"]) & held
        # the lottery's entrants of February are drawn among the others only
        entrants = con.sql(
            "SELECT household_pid FROM holdout_assignments WHERE as_of = '2026-02' AND in_margin"
        ).pl()["household_pid"]
        assert not set(entrants) & held
        # a new generation does not free them: 12 months from the draw do (only the draws
        # count, not the months they were kept held out)
        for month in ("2026-03", "2026-12"):
            decide_holdout(con, rose, month, "v4", capacity=100)
            assert held <= held_out_households(con, month) and not held & listed(con, month)
        decide_holdout(con, rose, "2027-01", "v4", capacity=100)
        assert held & listed(con, "2027-01") and not held & held_out_households(con, "2027-01")
