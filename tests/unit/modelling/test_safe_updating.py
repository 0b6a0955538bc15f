"""Safe updating (issue 26) on a small world: the households a list changed (listed and not held
out, or offered help from a list in the interventions source) are left out of training; the gate
refuses a training window that still holds one; the card states the rule, the hold-out and its
crises, and says a model with a hold-out share of 0 cannot be safely retrained. A real DuckDB
file; the offers are landed through the ingest like any extract."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.modelling.evaluation.gate import list_refusal
from hearth.modelling.evaluation.updating_lines import safe_updating_lines
from hearth.modelling.scoring.holdout_run import HoldoutSettings, decide_holdout
from hearth.modelling.training.safe_updating import (
    changed_by_list,
    held_out_between,
    held_out_chances,
    holdout_copies,
    restrict,
    reweight,
    safe_updating,
)
from hearth.modelling.training.selection import Window
from hearth.quality.contracts import load_contract
from hearth.warehouse import connect
from tests.support.interventions import offers

PIDS = [hashlib.sha256(f"house {i}".encode()).hexdigest() for i in range(1000)]
SCORED = pl.DataFrame({"household_pid": PIDS, "score": np.linspace(0.5, 0.001, len(PIDS))})
# T = 2026-01: training features at 2024-01 (crises to 2025-01), validation at 2025-01
TRAIN, VALID, SCORE = "2024-01", "2025-01", "2026-01"


@pytest.fixture
def warehouse(hearth_home, tmp_path, monkeypatch):
    monkeypatch.setenv("HEARTH_HOLDOUT_KEY", "a made-up hold-out key for tests")
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        # a list scored in 2024-03 (inside the training year) with 10% of its 50 places held out
        decide_holdout(con, SCORED, "2024-03", "v1", 50, HoldoutSettings(0.1, "DPO", None))
        # offers in 2024-05 from that list, to listed households 60-79 (the extract's own draw)
        month = "2024-05"
        df = offers(month, PIDS[60:80], n=30, seed=2)
        file = tmp_path / "landing" / "interventions" / month / f"interventions_{month}.csv"
        file.parent.mkdir(parents=True)
        df.write_csv(file)
        r = ingest_extract(
            con, load_contract("interventions"), Extract("interventions", month, file)
        )
        assert r.status == "loaded" and r.rows_quarantined == 0, r.message
        from_list = set(df.filter(pl.col("from_list") == "Y")["household_pid"])
    return path, from_list


def window(as_of: str, crises: set[int] = frozenset()) -> Window:
    y = np.array([1 if i in crises or i % 7 == 0 else 0 for i in range(len(PIDS))])
    return Window(as_of, pl.DataFrame({"household_pid": PIDS, "f": np.arange(len(PIDS))}), y)


def test_the_households_a_list_changed_are_left_out_and_the_held_out_kept(warehouse):
    path, from_list = warehouse
    with connect(path) as con:
        changed = changed_by_list(con, TRAIN, VALID)
        held = held_out_between(con, TRAIN, VALID)
        su = safe_updating(con, TRAIN, VALID, SCORE)
        # a list scored after the window, or one before the lookback, changes nothing in it
        assert changed_by_list(con, "2026-06", "2027-06") == set()
    listed = set(PIDS[:55]) - held  # 50 places: 5 held out, their places to the next 5
    assert len(held) == 5 and held <= set(PIDS[:50])
    assert changed == listed | from_list and not changed & held
    assert su.train_changed == changed and su.lists == 1 and su.min_share == 0.1
    assert su.margin_lists == 0  # drawn among the whole list

    train = window(TRAIN)
    kept, dropped = restrict(train, su.train_changed)
    assert dropped == len(changed) and kept.frame.height == len(PIDS) - len(changed)
    assert set(kept.frame["household_pid"]) & changed == set()
    assert kept.y.sum() == train.y[~np.isin(PIDS, list(changed))].sum()
    su.count_held_out(kept, held)
    assert su.train_held_out == 5
    assert su.train_held_out_crises == sum(
        1 for i, p in enumerate(PIDS) if p in held and i % 7 == 0
    )

    # the gate: the window as loaded is refused, the window the rule leaves passes
    refusal = list_refusal(train.pids, su.train_changed, TRAIN, VALID)
    assert (
        refusal.rule == "changed_by_list"
        and f"{len(changed)} of the households" in refusal.sentence
    )
    assert "1 / its chance of being held out" in refusal.sentence  # the rule, stated
    assert list_refusal(kept.pids, su.train_changed, TRAIN, VALID) is None
    assert list_refusal(train.pids, set(), TRAIN, VALID) is None  # no list acted on yet


def test_each_held_out_household_weighs_one_over_its_chance_of_being_held_out(warehouse):
    path, _ = warehouse
    with connect(path) as con:
        changed = changed_by_list(con, TRAIN, VALID)
        held = held_out_between(con, TRAIN, VALID)
        chances = held_out_chances(con, TRAIN, VALID)
        # lists outside the window (scored after it) weigh nobody
        assert held_out_chances(con, "2026-06", "2027-06") == {}
    # 5 of the 50 entrants of a whole-list lottery: a chance of 1 in 10, ten copies each
    assert set(chances) == held and set(chances.values()) == {0.1}
    kept, _ = restrict(window(TRAIN), changed)
    weighted, added = reweight(kept, chances)
    assert added == 5 * 9 and weighted.frame.height == kept.frame.height + added
    counts = dict(weighted.frame["household_pid"].value_counts().iter_rows())
    assert {p for p, n in counts.items() if n == 10} == held
    assert {n for p, n in counts.items() if p not in held} == {1}
    # a row's label travels with it, and the copies sit next to each other
    by_pid = dict(zip(PIDS, window(TRAIN).y, strict=True))
    assert [by_pid[p] for p in weighted.frame["household_pid"]] == weighted.y.tolist()
    first = weighted.frame["household_pid"].to_list().index(next(iter(held)))
    assert weighted.frame["household_pid"][first : first + 10].n_unique() == 1
    # no held-out household in the window: the window itself
    assert reweight(kept, {})[0] is kept


def test_a_margin_lottery_weighs_by_its_entrants_and_the_first_draw_counts(
    hearth_home, tmp_path, monkeypatch
):
    monkeypatch.setenv("HEARTH_HOLDOUT_KEY", "a made-up hold-out key for tests")
    with connect(tmp_path / "w.duckdb") as con:
        first = decide_holdout(con, SCORED, "2024-03", "v1", 50, HoldoutSettings(0.1, "D", 0.005))
        # the next month, the same generation draws 10 of its entrants
        decide_holdout(con, SCORED, "2024-04", "v1", 50, HoldoutSettings(0.2, "D", 0.005))
        chances = held_out_chances(con, TRAIN, VALID)
        assert safe_updating(con, TRAIN, VALID, SCORE).margin_lists == 2
        again = held_out_between(con, "2024-04", "2024-05") & held_out_between(
            con, "2024-03", "2024-04"
        )
    assert first.held_out == 5 and first.band < 50  # only the margin entered
    assert again  # the generation's salt draws the same households first
    for pid in again:  # weighed by the first draw's chance, not the later one's
        assert chances[pid] == pytest.approx(5 / first.band)
    copies = holdout_copies(np.array(PIDS[:60]), chances)
    assert all(copies[i] == round(1 / chances[p]) for i, p in enumerate(PIDS[:60]) if p in chances)
    assert (copies[[i for i, p in enumerate(PIDS[:60]) if p not in chances]] == 1).all()


def test_a_chance_outside_zero_to_one_is_refused():
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="chance must be above 0 and at most 1"):
            holdout_copies(np.array(["a", "b"]), {"a": bad})


def test_the_card_states_the_rule_the_holdout_and_its_crises(warehouse):
    path, _ = warehouse
    with connect(path) as con:
        su = safe_updating(con, TRAIN, VALID, SCORE)
        held = held_out_between(con, TRAIN, VALID)
    kept, su.excluded_train = restrict(window(TRAIN), su.train_changed)
    su.count_held_out(kept, held)
    text = "\n".join(safe_updating_lines(SimpleNamespace(safe_updating=su.summary())))
    assert "## Safe updating" in text and "did not change" in text
    assert f"Hold-out in the training year: {su.train_held_out:,} households" in text
    assert f"{su.train_held_out_crises:,} of them with a crisis" in text
    assert "cannot be safely retrained" not in text
    assert "1 / its chance of being held out" in text and "margin only" not in text
    su.margin_lists = 1  # a list drawn at the margin: the card says what it cannot see
    text = "\n".join(safe_updating_lines(SimpleNamespace(safe_updating=su.summary())))
    assert "1 of the lists in its years drew the hold-out at the capacity margin only" in text


def test_a_share_of_zero_says_the_model_cannot_be_safely_retrained(hearth_home, tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        decide_holdout(con, SCORED, "2024-03", "v1", 50, HoldoutSettings(0.0, None, None))
        su = safe_updating(con, TRAIN, VALID, SCORE)
    assert su.min_share == 0 and len(su.train_changed) == 50
    su.count_held_out(window(TRAIN), set())
    text = "\n".join(safe_updating_lines(SimpleNamespace(safe_updating=su.summary())))
    assert "This model cannot be safely retrained" in text and "hold-out share 0" in text
    # before any list was acted on, nothing is left out and nothing is said to be unsafe
    with connect(tmp_path / "empty.duckdb") as con:
        none = safe_updating(con, TRAIN, VALID, SCORE)
    assert not none.acted_on and none.safe
    text = "\n".join(safe_updating_lines(SimpleNamespace(safe_updating=none.summary())))
    assert "No published list had been acted on" in text and "cannot be" not in text
