"""Each household's reasons are its own: on a frame that is not in rank order, every household's
reasons are its own strongest contributions among the facts it has, each a different fact, and
every row of a 2,000-row published list has reasons, a lead and a why (issue 27: explaining
the households in sorted instead of list order gave 207 of 300 another household's reason)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hearth.features.catalogue import load_catalogue
from hearth.features.wording import ANOTHER_AGENCY, fact_of, present, say
from hearth.modelling.scoring.reason_choice import top_reasons
from hearth.modelling.scoring.score import score_households
from hearth.modelling.training.explain import explain
from hearth.modelling.training.fit import make_estimator
from hearth.modelling.training.params import TrainParams
from hearth.publish.roles import REASONS, role_view
from tests.support.role_world import CAP, feature_world, publish_world, scored_world

N = 900


@pytest.fixture(scope="module")
def shuffled():
    cat = load_catalogue()
    # rows in a random order, neither rank nor pseudonym order
    frame = feature_world(N, seed=11).sample(fraction=1.0, shuffle=True, seed=3)
    names = [
        f.name
        for f in cat.features
        if f.kind in ("household", "derived", "recency", "trend")
        or (f.kind == "count" and f.window in (12, 24))
    ]
    rng = np.random.default_rng(4)
    logit = (
        -3.0
        + 0.7 * frame["crisis_records_12m"]
        + 0.5 * frame["breathing_records_24m"]
        + 0.9 * frame["smoker_without_alarm"]
        + 0.5 * frame["asb_12m"]
        + 0.4 * frame["children"]
    ).to_numpy()
    y = (rng.random(N) < 1 / (1 + np.exp(-logit))).astype(int)
    model = make_estimator("gradient_boosting", TrainParams(max_iter=40), names).fit(
        frame.select(names).to_numpy(), y
    )
    ranked = score_households(model, names, frame, recency_cap=CAP)
    # each household's contributions, worked out here from its own row in the frame's order
    contrib = explain(model, frame.select(names).to_numpy().astype(np.float32))
    return cat, frame, names, ranked, contrib


def test_each_households_reasons_are_its_own_strongest_contributions(shuffled):
    cat, frame, names, ranked, contrib = shuffled
    assert frame["household_pid"].to_list() != ranked["household_pid"].to_list()
    rows = {pid: i for i, pid in enumerate(frame["household_pid"].to_list())}
    col = {n: j for j, n in enumerate(names)}
    values = frame.to_dicts()
    checked = 0
    for r in ranked.iter_rows(named=True):
        i = rows[r["household_pid"]]
        own = values[i]
        feats = [r[f"{x}_feature"] for x in REASONS if r[f"{x}_feature"]]
        # its strongest fact: the largest positive contribution among what the household has
        usable = [
            (contrib[i, j], n)
            for n, j in col.items()
            if contrib[i, j] > 0 and present(cat, n, own, CAP)
        ]
        if not usable:
            assert not feats, r["rank"]
            continue
        assert feats and feats[0] == max(usable)[1], (r["rank"], feats, max(usable))
        strengths = [contrib[i, col[f]] for f in feats]
        assert strengths == sorted(strengths, reverse=True), r["rank"]
        for x, f in zip(REASONS, feats, strict=False):
            assert r[x] == say(cat, f, own, CAP), (r["rank"], r[x])
        # a stronger fact of its own is left out only as the same fact as one shown
        shown = [fact_of(cat, f, own, CAP) for f in feats]
        for c, n in sorted(usable, reverse=True):
            if c <= strengths[-1]:
                break
            assert n in feats or any(fact_of(cat, n, own, CAP) & s for s in shown), (
                r["rank"],
                n,
            )
        checked += 1
    assert checked >= N // 2


def test_reasons_are_different_facts_the_household_has_in_english(shuffled):
    cat, frame, _, ranked, _ = shuffled
    values = {r["household_pid"]: r for r in frame.iter_rows(named=True)}
    named_agencies = 0
    for r in ranked.iter_rows(named=True):
        own = values[r["household_pid"]]
        feats = [r[f"{x}_feature"] for x in REASONS if r[f"{x}_feature"]]
        facts = [fact_of(cat, f, own, CAP) for f in feats]
        for a in range(len(facts)):
            assert all(not facts[a] & facts[b] for b in range(a + 1, len(facts))), r["rank"]
        # one theme or kind of record once, whatever its window
        keys = [cat.by_name(f).key or f for f in feats]
        assert len(keys) == len(set(keys)), (r["rank"], feats)
        for x, f in zip(REASONS, feats, strict=False):
            text = r[x]
            assert present(cat, f, own, CAP), (r["rank"], text)
            assert "1 people" not in text and not text.startswith(("0 ", "no ")), text
            if f == "agencies_involved_12m":
                named_agencies += 1
                assert ": " in text, text  # "3 agencies involved ...: health, police and ..."
    assert ranked["reason_1"].null_count() < N // 10


def test_every_row_of_a_2000_row_list_has_reasons_a_lead_and_a_why(tmp_path):
    ranked = scored_world(2000, seed=5)
    assert ranked.height == 2000
    folder = tmp_path / "list"
    publish_world(folder, ranked, top=2000)
    published = pl.read_csv(folder / "ranked_households.csv")
    assert published.height == 2000
    for col in ("reason_1", "lead_agency"):
        assert published[col].null_count() == 0, col
    # the why is withheld only with the lead ("another agency": records this view may not show)
    shown = published.filter(pl.col("lead_agency") != ANOTHER_AGENCY)
    assert shown.height > 0 and shown["lead_why"].null_count() == 0
    for col in ("reason_1", "lead_agency", "lead_why"):  # the full list: every row
        assert ranked[col].null_count() == 0, col
    # and in every role's view of the whole list
    for role in ("fire", "police", "health", "social_care"):
        view = role_view(ranked, role)
        assert view["lead_agency"].null_count() == 0, role
        assert view["reason_1"].null_count() == 0, role


def test_an_absent_value_or_the_same_fact_again_is_never_a_reason():
    cat = load_catalogue()
    names = [
        "children",
        "lives_alone",
        "never_smoker_recorded_12m",
        "breathing_records_12m",
        "breathing_records_24m",
        "copd_register_36m",
        "over_75s",
        "asb_12m",
        "residents",
    ]
    values = {n: 0.0 for n in cat.names} | {n: 99.0 for n in cat.names if "months_since" in n}
    values |= {
        "breathing_records_12m": 2.0,
        "breathing_records_24m": 3.0,
        "copd_register_12m": 2.0,
        "copd_register_24m": 3.0,
        "copd_register_36m": 3.0,
        "over_75s": 1.0,
        "asb_12m": 1.0,
        "residents": 1.0,
    }
    X = np.array([[values[n] for n in names]], dtype=np.float32)
    # the absent ones and the theme's second window contribute most
    contrib = np.array([[9.0, 8.0, 7.0, 5.0, 4.9, 4.8, 3.0, 2.0, 1.0]])
    got = top_reasons(contrib, X, names, cat, recency_cap=CAP, values=[values])
    assert got.features[0] == ["breathing_records_12m", "over_75s", "asb_12m"]
    assert got.texts[0][1] == "1 person aged 75 or over in the household"
    # read in the rows' order: the same rows the other way round give the same reasons each
    twice = top_reasons(
        np.vstack([contrib[:, ::-1], contrib]),
        np.vstack([X, X]),
        names,
        cat,
        recency_cap=CAP,
        values=[values, values],
    )
    assert twice.features[1] == got.features[0] and twice.features[0] != got.features[0]
