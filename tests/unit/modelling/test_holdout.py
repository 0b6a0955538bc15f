"""The hold-out lottery (issue 26): deterministic, stable within a generation, drawn afresh with a
new salt, only at the capacity margin, capacity still filled, share 0 allowed."""

from __future__ import annotations

import hashlib
import random

import polars as pl
import pytest

from hearth.modelling.holdout import (
    HoldoutError,
    assign_holdout,
    draw_holdout,
    holdout_size,
    lottery_draw,
)

KEY = b"a partnership's hold-out key, made up"


def scored(n: int = 3000, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    pids = [hashlib.sha256(f"household {i}".encode()).hexdigest() for i in range(n)]
    return pl.DataFrame({"household_pid": pids, "score": [rng.random() * 0.4 for _ in pids]})


def held(frame: pl.DataFrame) -> set[str]:
    return set(frame.filter(pl.col("held_out"))["household_pid"])


def test_deterministic_and_stable_within_a_generation():
    f = scored()
    a = assign_holdout(f, capacity=300, share=0.1, salt="v7", key=KEY)
    # the same generation next month: rows in another order, the same households drawn
    b = assign_holdout(
        f.sample(fraction=1.0, shuffle=True, seed=5), capacity=300, share=0.1, salt="v7", key=KEY
    )
    assert held(a) == held(b) and len(held(a)) == holdout_size(300, 0.1) == 30
    assert a.equals(b)


def test_a_new_salt_or_key_draws_afresh():
    f = scored()
    a = held(assign_holdout(f, capacity=300, share=0.1, salt="v7", key=KEY))
    b = held(assign_holdout(f, capacity=300, share=0.1, salt="v8", key=KEY))
    c = held(assign_holdout(f, capacity=300, share=0.1, salt="v7", key=KEY + b"!"))
    assert len(a) == len(b) == len(c) == 30
    assert len(a & b) < 15 and len(a & c) < 15


def test_the_draw_is_the_keyed_hash_of_salt_and_pseudonym():
    f = scored(200)
    out = assign_holdout(f, capacity=50, share=0.2, salt="v1", key=KEY, margin=None)
    entrants = out.filter(pl.col("in_margin"))["household_pid"].to_list()
    assert len(entrants) == 50  # margin None: every household within capacity enters
    lowest = sorted(entrants, key=lambda p: lottery_draw(KEY, "v1", p))[:10]
    assert held(out) == set(lowest)
    import hmac

    p = entrants[0]
    assert lottery_draw(KEY, "v1", p) == hmac.new(KEY, b"v1\x00" + p.encode(), "sha256").hexdigest()


def test_only_the_margin_enters_and_capacity_stays_filled():
    f = scored()
    out, summary = draw_holdout(f, capacity=300, share=0.1, salt="v7", key=KEY, margin=0.01)
    cut = summary.cut_score
    band = out.filter(pl.col("in_margin"))
    # the band: within capacity, scores within the margin of the score at the cut
    assert band.height == summary.band >= 60
    assert (band["score_rank"] <= 300).all()
    assert ((band["score"] - cut).abs() <= 0.01).all()
    outside = out.filter(~pl.col("in_margin") & (pl.col("score_rank") <= 300))
    assert ((outside["score"] - cut).abs() > 0.01).all()
    assert out.filter(pl.col("held_out"))["in_margin"].all()
    # the freed places go to the next households below the cut
    assert out["listed"].sum() == 300
    listed = out.filter(pl.col("listed"))
    assert listed["score_rank"].max() == 330
    assert not (out["listed"] & out["held_out"]).any()
    assert summary.to_dict()["held_out"] == 30 and not summary.widened


def test_a_narrow_margin_is_widened_to_two_entrants_a_place():
    f = scored()
    out, summary = draw_holdout(f, capacity=300, share=0.1, salt="v7", key=KEY, margin=0.0)
    assert summary.widened and summary.band == 60
    assert out.filter(pl.col("in_margin"))["score_rank"].to_list() == list(range(241, 301))


def test_share_zero_holds_nobody_out():
    f = scored(500)
    out, summary = draw_holdout(f, capacity=50, share=0.0, salt="", key=b"")
    assert summary.held_out == 0 and not out["held_out"].any()
    assert out.filter(pl.col("listed"))["score_rank"].to_list() == list(range(1, 51))


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"share": 0.6}, "between 0 and 0.5"),
        ({"share": -0.1}, "between 0 and 0.5"),
        ({"capacity": -1}, "capacity"),
        ({"salt": ""}, "salt"),
        ({"margin": -0.1}, "margin"),
    ],
)
def test_bad_settings_are_sentences(kw, words):
    args = {"capacity": 100, "share": 0.1, "salt": "v1", "key": KEY, **kw}
    with pytest.raises(HoldoutError, match=words):
        assign_holdout(scored(300), **args)


def test_one_row_per_household():
    f = scored(300)
    with pytest.raises(HoldoutError, match="one row per household"):
        assign_holdout(pl.concat([f, f.head(1)]), capacity=50, share=0.1, salt="v1", key=KEY)
