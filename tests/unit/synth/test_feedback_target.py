"""The closed-loop benchmark's history and its report of issue 26's first-cycle target
(benchmarks/feedback.py): the first cycle's model can be given every feature it will ever
have, and "safe updating stays within 0.02 of its first cycle" is read per cycle beside the
effect-0 reference."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from benchmarks.feedback import (
    HISTORY,
    Settings,
    first_cycle_target,
    full_history,
    load_reference,
    main,
    oracle_and_model_parts,
    with_reference,
)
from hearth.features.catalogue import load_catalogue
from hearth.features.design import recency_cap


def test_full_history_is_the_fewest_months_with_every_feature_and_the_longest_recency():
    cat = load_catalogue()
    h = full_history()
    assert h == 48  # today's catalogue: the 36-month windows and recency cap, trained at M-12
    assert HISTORY == 24  # the default keeps the worlds measured before
    ever = (cat.usable_names(1200), recency_cap(1200))
    assert (cat.usable_names(h - 12), recency_cap(h - 12)) == ever
    assert (cat.usable_names(h - 13), recency_cap(h - 13)) != ever


def _cycle(c: int, **ratios: float) -> dict:
    return {
        "cycle": c,
        "as_of": f"2024-{c:02d}",
        **{a: {"ratio_to_oracle": r, "helped_score_to_truth": None} for a, r in ratios.items()},
    }


def test_the_target_is_read_per_cycle_beside_the_reference():
    cycles = [
        _cycle(1, safe=0.90, naive=0.90, reference=0.90),
        _cycle(2, safe=0.85, naive=0.86, reference=0.86),  # everyone falls: the world's
        _cycle(3, safe=0.89, naive=0.80, reference=0.905),
    ]
    got = first_cycle_target(cycles)
    per = got["per_cycle"]
    assert [r["cycle"] for r in per] == [1, 2, 3]
    assert per[1]["safe_minus_first"] == pytest.approx(-0.05)
    assert per[1]["reference_minus_first"] == pytest.approx(-0.04)
    assert per[1]["safe_net_of_reference"] == pytest.approx(-0.01)
    assert per[2]["naive_net_of_reference"] == pytest.approx(-0.105)
    safe = got["safe"]
    assert safe["largest_drop_below_first"] == pytest.approx(0.05) and safe["worst_cycle"] == 2
    assert safe["within_target"] is False  # plainly: 0.05 below its first cycle
    assert safe["largest_drop_net_of_reference"] == pytest.approx(0.015)
    assert safe["within_target_net_of_reference"] is True
    assert got["naive"]["within_target_net_of_reference"] is False
    assert got["reference"]["largest_drop_below_first"] == pytest.approx(0.04)
    assert safe["mean_gap_to_reference"] == pytest.approx((-0.01 - 0.015) / 2)


def test_the_target_is_a_drop_of_0_02_and_a_rise_is_no_drop():
    got = first_cycle_target([_cycle(1, safe=0.5), _cycle(2, safe=0.4801), _cycle(3, safe=0.6)])
    assert got["safe"]["largest_drop_below_first"] == pytest.approx(0.0199)
    assert got["safe"]["within_target"] is True
    out = first_cycle_target([_cycle(1, safe=0.5), _cycle(2, safe=0.4799)])
    assert out["safe"]["within_target"] is False
    assert "largest_drop_net_of_reference" not in got["safe"]  # no reference, no net reading
    rise = first_cycle_target([_cycle(1, safe=0.5), _cycle(2, safe=0.7)])
    assert rise["safe"]["largest_drop_below_first"] == 0.0


def _precise(c: int, **arms: tuple[float, float]) -> dict:
    """A cycle whose arms give (model, oracle) expected precisions, the ratio their quotient."""
    return {
        "cycle": c,
        "as_of": f"2024-{c:02d}",
        **{
            a: {"ratio_to_oracle": m / o, "model_expected_precision": m,
                "oracle_expected_precision": o, "helped_score_to_truth": None,
                "helped_top_ratio": None}
            for a, (m, o) in arms.items()
        },
    }  # fmt: skip


def test_a_change_is_split_into_the_oracles_part_and_the_models():
    first = {"model_expected_precision": 0.36, "oracle_expected_precision": 0.40}
    # the model held still and the oracle learnt: all of the fall is the oracle's
    oracle, model = oracle_and_model_parts(first, first | {"oracle_expected_precision": 0.45})
    assert oracle == pytest.approx(0.36 / 0.45 - 0.9) and model == 0.0
    # the oracle held still: all of it is the model's, against the first cycle's oracle
    oracle, model = oracle_and_model_parts(first, first | {"model_expected_precision": 0.32})
    assert oracle == 0.0 and model == pytest.approx(-0.1)
    # both moved: the parts sum to the ratio's change exactly
    now = {"model_expected_precision": 0.33, "oracle_expected_precision": 0.41}
    oracle, model = oracle_and_model_parts(first, now)
    assert oracle + model == pytest.approx(0.33 / 0.41 - 0.9)
    assert model == pytest.approx((0.33 - 0.36) / 0.40)
    assert oracle_and_model_parts(first, {"ratio_to_oracle": 0.8}) is None


def test_the_reading_says_how_much_of_the_references_fall_is_the_oracles():
    cycles = [
        _precise(1, safe=(0.36, 0.40), reference=(0.36, 0.40)),
        _precise(2, safe=(0.36, 0.42), reference=(0.36, 0.42)),  # only the oracle moves
        _precise(3, safe=(0.32, 0.40), reference=(0.34, 0.40)),  # only the models move
    ]
    got = first_cycle_target(cycles)
    per = got["per_cycle"]
    assert per[1]["reference_oracle_part"] == pytest.approx(0.36 / 0.42 - 0.9)
    assert per[1]["reference_model_part"] == 0.0
    assert per[2]["reference_oracle_part"] == 0.0
    assert per[2]["reference_model_part"] == pytest.approx(-0.05)
    assert per[2]["safe_model_part"] == pytest.approx(-0.1)
    ref = got["reference"]
    assert ref["mean_oracle_part"] == pytest.approx((0.36 / 0.42 - 0.9) / 2)
    assert ref["mean_model_part"] == pytest.approx(-0.025)
    assert ref["mean_minus_first"] == pytest.approx(ref["mean_oracle_part"] - 0.025)
    assert ref["oracle_precision_change"] == pytest.approx((0.42 + 0.40) / 2 / 0.40 - 1)
    assert ref["model_precision_change"] == pytest.approx((0.36 + 0.34) / 2 / 0.36 - 1)
    reading = got["reading"]
    assert "0.050 below its first cycle at worst (cycle 3)" in reading
    assert "in 2 of 2 cycles" in reading
    assert f"{ref['mean_oracle_part']:+.3f} is the oracle's" in reading
    assert "-0.025 is the model's own expected precision (-2.8%)" in reading
    assert "read net of the reference" in reading
    # without a reference there is nothing to read against; without precisions, no split
    assert "reading" not in first_cycle_target([_precise(1, safe=(0.3, 0.4))])
    plain = first_cycle_target(
        [_cycle(1, safe=0.9, reference=0.9), _cycle(2, safe=0.8, reference=0.8)]
    )
    assert "reading" not in plain and "safe_oracle_part" not in plain["per_cycle"][1]


def _result(tmp_path: Path, s: Settings, name: str, arm: str = "naive") -> Path:
    path = tmp_path / name
    cycles = [_cycle(c, **{arm: 0.8 + 0.01 * c}) for c in range(1, s.cycles + 1)]
    path.write_text(json.dumps({"settings": asdict(s), "commit": "abc", "cycles": cycles}))
    return path


def test_a_reference_must_be_the_same_world_without_effect(tmp_path: Path):
    s = Settings(1000, 7, 3, effect=-0.3, history=48)
    ref, meta = load_reference(_result(tmp_path, replace(s, effect=0.0), "ok.json"), s)
    assert meta["arm"] == "naive" and [r["as_of"] for r in ref] == ["2024-01", "2024-02", "2024-03"]
    cycles = [_cycle(c, safe=0.8) for c in (1, 2, 3)]
    with_reference(cycles, ref)
    assert cycles[2]["reference"]["ratio_minus_first"] == pytest.approx(0.02)
    with pytest.raises(ValueError, match="its history differs"):
        load_reference(_result(tmp_path, replace(s, effect=0.0, history=24), "h.json"), s)
    with pytest.raises(ValueError, match="visit effect of -0.3"):
        load_reference(_result(tmp_path, s, "e.json"), s)
    # a run's own reference arm is effect 0 whatever the run's effect
    _, meta = load_reference(_result(tmp_path, s, "arm.json", arm="reference"), s)
    assert meta["arm"] == "reference"
    shifted = [_cycle(c, safe=0.8) for c in (2, 3, 4)]
    with pytest.raises(ValueError, match="not the same months"):
        with_reference(shifted, ref)


def test_a_reference_may_differ_in_its_lottery_but_its_helped_households_are_not_read(
    tmp_path: Path,
):
    s = Settings(1000, 7, 3, effect=-0.3, history=48, holdout_share=0.5, margin=None)
    theirs = replace(s, effect=0.0, holdout_share=0.2, margin=0.02, hold_months=12)
    path = _result(tmp_path, theirs, "lottery.json")
    got = json.loads(path.read_text())
    for c in got["cycles"]:
        c["naive"] |= {"helped_score_to_truth": 0.9, "helped_top_ratio": 0.7}
    path.write_text(json.dumps(got))
    ref, meta = load_reference(path, s)
    assert meta["lottery_differs"] == {"holdout_share": 0.2, "margin": 0.02, "hold_months": 12}
    assert [r["ratio_to_oracle"] for r in ref] == pytest.approx([0.81, 0.82, 0.83])
    assert all(r["helped_score_to_truth"] is None and r["helped_top_ratio"] is None for r in ref)
    same, meta = load_reference(_result(tmp_path, replace(s, effect=0.0), "same.json"), s)
    assert "lottery_differs" not in meta
    # only the lottery is let differ (its invariance is checked below), not the partnership
    for other in (replace(theirs, capacity_share=0.02), replace(theirs, accept=0.5)):
        with pytest.raises(ValueError, match="not this run's world"):
            load_reference(_result(tmp_path, other, "other.json"), s)


def test_the_reference_arm_runs_the_same_world_with_no_visit_working(tmp_path: Path):
    path = main(
        ["--households", "600", "--seed", "5", "--cycles", "2", "--holdout-share", "0.2",
         "--capacity", "0.02", "--history", "14", "--arms", "naive,reference",
         "--work", str(tmp_path / "work"), "--out", str(tmp_path)]
    )  # fmt: skip
    result = json.loads(path.read_text())
    assert result["settings"]["history"] == 14 and result["settings"]["months"] == 16
    assert result["cycles"][0]["as_of"] == "2025-11"  # the world's 15th month of 16
    assert result["world"]["reference"]["params"]["effect"] == 0.0
    assert result["world"]["reference"]["crises_prevented"] == 0
    assert result["world"]["naive"]["params"]["effect"] == -0.3
    assert result["cycles"][1]["reference"]["true_effect"] == 0.0
    # the first list is the same in both (same world before any visit), so is cycle 1
    first = result["cycles"][0]
    assert first["naive"]["ratio_to_oracle"] == first["reference"]["ratio_to_oracle"]
    target = result["summary"]["first_cycle_target"]
    assert target["per_cycle"][0]["naive_net_of_reference"] == 0.0
    assert "within_target_net_of_reference" in target["naive"]


def test_where_a_visit_changes_nothing_the_lottery_changes_no_ratio(tmp_path: Path):
    """Why a reference may differ in its lottery: at effect 0 two lotteries list other
    households, yet the naive model and its ratio to the oracle are the same (with the second
    run's visits removing every crisis, --effect -1, its sixth cycle's ratio differs)."""
    common = ["--households", "600", "--seed", "5", "--cycles", "6", "--effect", "0",
              "--capacity", "0.02", "--history", "14", "--arms", "naive",
              "--out", str(tmp_path)]  # fmt: skip
    a = main([*common, "--holdout-share", "0.2", "--work", str(tmp_path / "a"), "--tag", "a"])
    b = main(
        [*common, "--holdout-share", "0.5", "--margin", "none", "--hold-months", "12",
         "--work", str(tmp_path / "b"), "--tag", "b"]
    )  # fmt: skip
    ca, cb = (json.loads(p.read_text())["cycles"] for p in (a, b))
    assert [c["naive"]["held_out"] for c in ca] != [c["naive"]["held_out"] for c in cb]
    assert [c["naive"]["ratio_to_oracle"] for c in ca] == [
        c["naive"]["ratio_to_oracle"] for c in cb
    ]


def test_an_earlier_run_is_summarised_again_without_running_the_loop(tmp_path: Path):
    s = Settings(1000, 7, 2, effect=-0.3, history=48)
    cycles = [
        _precise(1, safe=(0.36, 0.40), naive=(0.36, 0.40), reference=(0.36, 0.40)),
        _precise(2, safe=(0.35, 0.42), naive=(0.34, 0.42), reference=(0.35, 0.42)),
    ]
    for c in cycles:
        c["safe"]["effect"] = {"estimate": None, "low": None, "high": None}
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"settings": asdict(s) | {"capacity": 10, "months": 50},
                               "commit": "abc", "summary": {}, "cycles": cycles}))  # fmt: skip
    path = main(["--resummarise", str(old), "--out", str(tmp_path / "out")])
    got = json.loads(path.read_text())
    assert path.name == "old-resummarised.json"
    assert got["cycles"] == cycles and got["resummarised_from"] == {
        "file": "old.json",
        "commit": "abc",
    }
    target = got["summary"]["first_cycle_target"]
    assert "read net of the reference" in target["reading"]
    assert target["per_cycle"][1]["naive_model_part"] == pytest.approx(-0.05)
