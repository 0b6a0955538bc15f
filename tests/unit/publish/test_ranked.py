"""The ranked list's one "top share -> how many households": the published top, the risk tiers
and the model metrics count the same households, rounded up (hearth/publish/ranked.py)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hearth.modelling.evaluation.metrics import evaluate_scores, k_for, precision_recall_at_k
from hearth.publish.ranked import (
    HIGH_RISK_TIERS,
    OTHER_TIER,
    PUBLIC_COLUMNS,
    TIER_CUTS,
    TIER_WORDS,
    TIERS,
    published_top,
    risk_tiers,
    top_count,
)


@pytest.mark.parametrize("share, k", [(0.05, 100), (0.01, 20)])
def test_a_share_of_1999_households_is_rounded_up_by_every_caller(share, k):
    n = 1999
    assert top_count(share, n) == k
    assert k_for(share, n) == k
    ranked = pl.DataFrame({"rank": np.arange(1, n + 1), "score": np.linspace(1, 0, n)})
    assert published_top(ranked, share).height == k
    tiers = risk_tiers(range(1, n + 1), n)
    in_tiers = sum(t in [name for name, cut in TIER_CUTS if cut <= share] for t in tiers)
    assert in_tiers == k


def test_the_metrics_at_1999_households_count_the_rounded_up_top():
    n = 1999
    y = np.zeros(n, dtype=int)
    y[[19, 99]] = 1  # ranks 20 and 100: inside the top 1% and 5% only when rounded up
    s = np.linspace(1, 0, n)
    pids = np.array([f"{i:064x}" for i in range(n)])
    m = evaluate_scores(y, s, pids, fixed_k=100)
    assert m["recall_at_1pct"] == 0.5 and m["precision_at_1pct"] == 1 / 20
    assert m["recall_at_5pct"] == 1.0 and m["precision_at_5pct"] == 2 / 100
    assert precision_recall_at_k(y, s, pids, k_for(0.01, n)) == (1 / 20, 0.5)


@pytest.mark.parametrize("n", [1, 7, 99, 100, 1999, 2000, 2001, 123457])
def test_top_count_is_the_smallest_count_at_least_the_share(n):
    for share in (0.01, 0.05, 0.2, 0.25):
        k = top_count(share, n)
        assert k == max(1, min(n, int(np.ceil(round(share * n, 9)))))
        assert k / n >= share or k == n
        assert k == 1 or (k - 1) / n < share
    assert top_count(250, n) == min(250, n) == k_for(250, n)
    assert top_count(0.05, 0) == 0
    with pytest.raises(ValueError):
        top_count(0, n)


def test_the_tiers_in_order_with_their_words():
    assert TIERS == ("very high", "high", "raised", "usual") and TIERS[-1] == OTHER_TIER
    assert set(TIER_WORDS) == set(TIERS) and TIERS[:2] == HIGH_RISK_TIERS
    assert risk_tiers([1, 20, 21, 100, 101, 400, 401, 2000], 2000) == [
        "very high",
        "very high",
        "high",
        "high",
        "raised",
        "raised",
        "usual",
        "usual",
    ]
    assert PUBLIC_COLUMNS[0] == "rank" and "risk_tier" in PUBLIC_COLUMNS
