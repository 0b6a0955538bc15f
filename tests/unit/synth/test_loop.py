"""The closed loop (issue 26): a partnership visits the households on the lists it is given and
the visited households' crises fall; everything else, and today's world, stays as it was."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hearth.sources import EVENT_SOURCES
from hearth.synth import params as P
from hearth.synth import synthesise
from hearth.synth.loop import LoopParams, Partnership, PublishedList
from hearth.synth.months import month_name, parse_month
from tests.support.world_fingerprint import assert_same_world

# sha256 over (relative path, sha256 of the file) of every file of out/ for households=1200,
# seed=11, months=14, mess_rate=0.02, move_rate=0.004, computed from main (5649ad9, before the
# loop existed) with main's own .venv: today's world must not move. The truth holds probabilities
# computed with exp/log, whose last bits differ between CPUs, so truth/ is held by a fingerprint
# (tests/support/world_fingerprint.py; main_loopless_truth.json, from 5649ad9).
MAIN_LOOPLESS_OUT = "c3be3bc4951c03d91aa66b38c8f5652c70df7593dfd5ce15d5302efcefa73111"
MAIN_LOOPLESS_TRUTH = Path(__file__).with_name("main_loopless_truth.json")
N, SEED, MONTHS, END = 1500, 17, 24, "2025-12"
START = month_name(parse_month(END) - MONTHS + 1 + 6)  # the partnership acts from month 6


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(
                str(p.relative_to(root)).encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest()
            )
    return h.hexdigest()


def test_default_world_is_mains_byte_for_byte(tmp_path: Path) -> None:
    synthesise(tmp_path / "out", tmp_path / "truth", 1200, 11, 14, mess_rate=0.02,
               move_rate=0.004, partnership=None)  # fmt: skip
    assert _digest(tmp_path / "out") == MAIN_LOOPLESS_OUT
    assert_same_world(tmp_path / "truth", MAIN_LOOPLESS_TRUTH)
    assert "partnership" not in json.loads((tmp_path / "truth" / "world.json").read_text())


class FixedLists:
    """A stand-in for Hearth: each month, `size` households drawn from the landing's addresses
    by a fixed rule (the same whatever the world's crises), every fifth one held out."""

    def __init__(self, out: Path, size: int) -> None:
        self.out, self.size, self.calls = out, size, []

    def __call__(self, as_of: str) -> PublishedList:
        self.calls.append(as_of)
        first = sorted((self.out / "addresses").rglob("*.parquet"))[0]  # every household
        pids = sorted(pl.read_parquet(first)["household_pid"])
        step = parse_month(as_of) % 7
        pick = np.array(pids[step : step + 3 * self.size : 3], dtype=object)
        held = np.arange(pick.size) % 5 == 4
        return PublishedList(pick, np.arange(1, pick.size + 1), f"v{len(self.calls)}", held)


def _world(root: Path, params: LoopParams | None, size: int = 60) -> tuple[Path, FixedLists]:
    lists = FixedLists(root / "out", size)
    partnership = None if params is None else Partnership(params, lists, START)
    synthesise(root / "out", root / "truth", N, SEED, MONTHS, END, partnership=partnership)
    return root, lists


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("loop")
    return {
        "none": _world(base / "none", None)[0],
        "zero": _world(base / "zero", LoopParams(effect=0.0))[0],
        "strong": _world(base / "strong", LoopParams(effect=-0.8, accept=0.7), size=300)[0],
    }


def _crisis_ids(root: Path) -> set[str]:
    """The record ids of every crisis record landed (the world's crisis keys, matched on
    their source, event type and qualifiers)."""
    ids: set[str] = set()
    for key in (k for k in P.KEYS if k.crisis):
        for f in sorted((root / "out" / key.source).rglob("*.*")):
            frame = (
                pl.read_parquet(f) if f.suffix == ".parquet" else pl.read_csv(f, infer_schema=False)
            )
            cond = pl.col("event_type") == key.event_type
            for col, val in key.attrs:
                cond &= pl.col(col) == val
            ids.update(frame.filter(cond)["record_id"].cast(pl.String).to_list())
    return ids


def test_effect_zero_changes_no_record(worlds: dict[str, Path]) -> None:
    none, zero = worlds["none"], worlds["zero"]
    for source in (*EVENT_SOURCES, "people", "addresses"):
        assert _digest(none / "out" / source) == _digest(zero / "out" / source), source
    for name in ("households.parquet", "record_links.parquet"):
        assert (none / "truth" / name).read_bytes() == (zero / "truth" / name).read_bytes()
    assert pl.read_parquet(zero / "truth" / "prevented.parquet").height == 0
    offers = pl.read_csv(zero / "out" / "interventions" / START / f"interventions_{START}.csv")
    assert offers.height > 0 and set(offers["response"]) <= {"ACCEPTED", "DECLINED", "NO_CONTACT"}
    world = json.loads((zero / "truth" / "world.json").read_text())
    assert world["partnership"]["offers"] > 0 and world["partnership"]["crises_prevented"] == 0


def test_visits_lower_the_visited_households_crises(worlds: dict[str, Path]) -> None:
    """Exactly the crisis records the visits prevented are missing, each of a visited household
    in its effect window, about 1 - 0.8 of them kept; the truth is the world without visits."""
    none, strong = worlds["none"], worlds["strong"]
    base = pl.read_parquet(none / "truth" / "record_links.parquet")
    loop = pl.read_parquet(strong / "truth" / "record_links.parquet")
    prevented = pl.read_parquet(strong / "truth" / "prevented.parquet")
    assert prevented.height > 0
    gone = set(base["record_id"]) - set(loop["record_id"])
    assert gone == set(prevented["record_id"]) & set(base["record_id"])
    assert set(loop["record_id"]) <= set(base["record_id"])  # nothing new happens
    assert gone <= _crisis_ids(none)  # only crises: business as usual is untouched
    for source in ("people", "addresses"):
        assert _digest(none / "out" / source) == _digest(strong / "out" / source)
    # the risk and crises without intervention: the oracle means the same
    name = "households.parquet"
    assert (none / "truth" / name).read_bytes() == (strong / "truth" / name).read_bytes()

    visits = pl.read_parquet(strong / "truth" / "interventions.parquet").filter(
        pl.col("response") == "ACCEPTED"
    )
    assert visits.height > 0 and not visits["held_out"].any()
    month = pl.col("event_date").dt.strftime("%Y-%m")
    in_window = (month >= pl.col("effect_from")) & (month <= pl.col("effect_to"))
    windows = visits.select("household_pid", "effect_from", "effect_to")
    crisis = base.filter(pl.col("record_id").is_in(list(_crisis_ids(none))))
    counterfactual = crisis.join(windows, on="household_pid").filter(in_window)
    counterfactual = counterfactual.unique("record_id")
    hit = prevented.join(windows, on="household_pid").filter(in_window).unique("record_id")
    assert hit.height == prevented.height  # every prevented crisis in a visit's window
    n = counterfactual.height
    kept = n - len(gone & set(counterfactual["record_id"]))
    assert n > 30
    assert abs(kept / n - 0.2) < 4 * np.sqrt(0.2 * 0.8 / n)  # hazard x (1 - 0.8)
    world = json.loads((strong / "truth" / "world.json").read_text())["partnership"]
    assert world["params"]["effect"] == -0.8 and world["stream"] == 8


def test_held_out_and_recently_offered_households_are_not_offered(worlds: dict[str, Path]) -> None:
    rows = pl.read_parquet(worlds["strong"] / "truth" / "interventions.parquet")
    assert not rows.filter(pl.col("held_out"))["offered"].any()
    offered = rows.filter(pl.col("offered")).with_columns(
        pl.col("as_of").str.to_date("%Y-%m").alias("m")
    )
    gaps = offered.sort("m").group_by("household_pid").agg(pl.col("m").diff().dt.total_days().min())
    assert (gaps["m"].drop_nulls() >= 12 * 28).all()  # revisit_months: 12
    landed = pl.concat(
        pl.read_csv(f, infer_schema=False)
        for f in sorted((worlds["strong"] / "out" / "interventions").rglob("*.csv"))
    )
    assert landed.height == offered.height
    assert landed.filter(pl.col("response") != "ACCEPTED")["completed_date"].null_count() == (
        landed.filter(pl.col("response") != "ACCEPTED").height
    )


def test_loop_parameters_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="between -1 and 0"):
        LoopParams(effect=0.2).check()
    with pytest.raises(ValueError, match="accept share"):
        LoopParams(accept=1.5).check()
    p = Partnership(LoopParams(), lambda as_of: None, START)
    with pytest.raises(ValueError, match="shared-key world"):
        synthesise(tmp_path / "o", tmp_path / "t", 50, 1, 12, identifiers="agency",
                   raw=tmp_path / "raw", partnership=p)  # fmt: skip


def test_feedback_benchmark_runs_two_cycles(tmp_path: Path) -> None:
    """benchmarks/feedback.py closes the loop on a tiny world: both arms, two cycles, the JSON
    with each cycle's ratios and effect estimate next to the true effect; its kept scores let
    benchmarks/lottery_placebo.py draw the lottery again."""
    from benchmarks.feedback import main

    path = main(
        ["--households", "600", "--seed", "5", "--cycles", "2", "--holdout-share", "0.2",
         "--capacity", "0.02", "--work", str(tmp_path / "work"), "--out", str(tmp_path),
         "--keep-scores"]
    )  # fmt: skip
    result = json.loads(path.read_text())
    assert path.name.startswith("feedback-") and result["settings"]["cycles"] == 2
    assert [c["cycle"] for c in result["cycles"]] == [1, 2]
    for cycle in result["cycles"]:
        assert cycle["true_effect"] == -0.3
        for arm in ("naive", "safe"):
            got = cycle[arm]
            assert 0 < got["ratio_to_oracle"] <= 1.5
            assert got["listed"] == 12 and got["training_households"] > 0
            assert {"estimate", "low", "high", "treated_households", "control_households"} <= set(
                got["effect"]
            )
    first = result["cycles"][0]
    # the first cycle: no list acted on yet, so both arms train on the same households
    assert first["naive"]["ratio_to_oracle"] == first["safe"]["ratio_to_oracle"]
    # the second cycle's training window holds the first list, whose lottery held some out: the
    # correction from the first lottery, with the prior's ratio (no list is 6 months old yet),
    # every household kept and every crisis counted once
    corrected = result["cycles"][1]["safe"]["censored_at_first_listing"]
    assert corrected["offer_ratio"] == 1.0 and corrected["changed"] > 0
    assert corrected["corrected"] == 0 and result["cycles"][1]["safe"]["left_out_of_training"] == 0
    assert result["cycles"][1]["naive"]["left_out_of_training"] == 0
    assert {"naive", "safe", "effect_last_cycle"} <= set(result["summary"])
    assert result["world"]["safe"]["offers"] > 0

    _the_placebo_replays_the_runs_own_draw(tmp_path / "work" / "600-seed5")


def _the_placebo_replays_the_runs_own_draw(work: Path) -> None:
    """benchmarks/lottery_placebo.py draws the lottery again on an arm's kept scores: with the
    run's own key it must give exactly the draws each arm kept in its warehouse (else its other
    keys are not the lottery Hearth draws); it refuses to draw other keys on an arm whose scores
    depend on the lottery (an effect of a visit, or the safe arm)."""
    import duckdb

    from benchmarks import lottery_placebo as lp

    for name in ("naive", "safe"):
        arm = work / name
        settings = json.loads((arm / "scores" / "settings.json").read_text())
        cycles = [(p.stem, pl.read_parquet(p)) for p in sorted((arm / "scores").glob("*.parquet"))]
        assert len(cycles) == 2 and settings["arm"] == name

        def drawn(key: bytes, cycles=cycles, settings=settings) -> list:
            return lp.replay(
                cycles, key, capacity=settings["capacity"], share=settings["holdout_share"],
                margin=settings["margin"], generation_months=settings["generation_months"],
            )  # fmt: skip

        own = drawn(bytes.fromhex(settings["lottery_key"]))
        with duckdb.connect(str(arm / "warehouse.duckdb"), read_only=True) as con:
            kept = con.sql(
                "SELECT as_of, list(household_pid ORDER BY household_pid) FILTER (listed AND "
                "in_margin), list(household_pid ORDER BY household_pid) FILTER (held_out) "
                "FROM holdout_assignments GROUP BY as_of ORDER BY as_of"
            ).fetchall()
        assert [(m, sorted(o), sorted(h)) for m, o, h in own] == [
            (m, o or [], h or []) for m, o, h in kept
        ]
        assert all(h for *_, h in own)  # each list held someone out
        assert [h for *_, h in drawn(b"another key")] != [h for *_, h in own]
        with pytest.raises(SystemExit, match="only a naive arm without effect"):
            lp.load_cycles(arm)
    rows = pl.DataFrame(
        {"list": ["a", "a", "b", "b"], "held_out": [False, True, False, True],
         "n": [2, 1, 3, 1], "t": [10, 10, 10, 30]}
    )  # fmt: skip
    within, pooled = lp.log_ratios(rows)
    # list a: 2/10 against 1/10; list b: 3/10 against 1/30; Mantel-Haenszel on rates
    assert within == pytest.approx(
        math.log((2 * 10 / 20 + 3 * 30 / 40) / (1 * 10 / 20 + 1 * 10 / 40))
    )
    assert pooled == pytest.approx(math.log((5 / 20) / (2 / 40)))
