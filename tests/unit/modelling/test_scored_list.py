"""The top of a scored list, on a small hand-made world whose features are built the way the
warehouse builds them: every lead's fact is true of its household and about a reason it
shows, no reason carries a theme's definition, and each role sees its own strongest reasons."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from hearth.features.build import recording_columns, theme_columns
from hearth.features.catalogue import NO_EVENT_MONTHS, load_catalogue
from hearth.features.wording import (
    ANOTHER_AGENCY,
    fact_keys,
    fact_of,
    named_keys,
    readable_by,
    say,
)
from hearth.modelling.scoring.ranking import ROLE_REASONS
from hearth.modelling.scoring.reasons import _OPS, load_rules
from hearth.modelling.scoring.score import score_households
from hearth.modelling.training.fit import make_estimator
from hearth.modelling.training.params import TrainParams
from hearth.publish.roles import OTHER_AGENCY, REASONS, role_view

N = 2000
CAP = 36


def _world(seed: int = 5) -> pl.DataFrame:
    """Households with records of every kind at random months in the last three years, and
    their counts, trends, months since, themes and derived features as build.py makes them."""
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for f in cat.features:
        if f.kind != "recency" or f.members:
            continue
        n = rng.poisson(rng.uniform(0.05, 0.5), N).clip(max=6)
        months = rng.integers(0, 36, size=(N, 6))  # months before the as-of date
        held = np.arange(6)[None, :] < n[:, None]
        for w in cat.windows:
            cols[f"{f.key}_{w}m"] = ((months < w) & held).sum(1)
        before = ((months >= 12) & (months < 24) & held).sum(1)
        cols[f"{f.key}_trend"] = cols[f"{f.key}_12m"] - before
        cols[f"{f.key}_months_since"] = np.where(held, months, NO_EVENT_MONTHS).min(1)
    residents = rng.integers(1, 6, N)
    cols |= {
        "residents": residents,
        "children": rng.integers(0, 3, N) * (residents > 1),
        "over_75s": rng.integers(0, 2, N),
        "lives_alone": (residents == 1).astype(int),
        "oldest_age": rng.integers(20, 95, N),
        "imd_decile": rng.integers(1, 11, N),
        "social_rented": rng.integers(0, 2, N),
        "flat": rng.integers(0, 2, N),
        "moved_in_last_year": rng.integers(0, 2, N),
    }
    # exact links everywhere: nothing rests on an uncertain link
    cols |= {f.name: np.zeros(N) for f in cat.features if f.kind == "confidence"}
    frame = pl.DataFrame({k: v.astype(np.float32) for k, v in cols.items()})
    frame = frame.with_columns(theme_columns(cat))
    da = pl.col("domestic_abuse_12m") + pl.col("domestic_abuse_medium_12m")
    frame = frame.with_columns(
        ((pl.col("smoker_recorded_12m") > 0) & (pl.col("smoke_alarm_fitted_12m") == 0))
        .cast(pl.Float32)
        .alias("smoker_without_alarm"),
        ((da + pl.col("domestic_abuse_high_12m") > 0) & (pl.col("children") > 0))
        .cast(pl.Float32)
        .alias("abuse_with_children"),
        pl.lit(1.0, dtype=pl.Float32).alias("agencies_involved_12m"),
    )
    ids = pl.DataFrame(
        {
            "household_pid": [f"{i:064x}" for i in range(N)],
            "la_code": ["E06000901"] * N,
            "ward_code": ["E05901001"] * N,
            "lsoa_code": ["E01900001"] * N,
        }
    )
    # each agency's records in all and their area means, as build.py makes them
    frame = recording_columns(cat, ids.hstack(frame))
    return frame.select([*ids.columns, *cat.names])


@pytest.fixture(scope="module")
def scored():
    cat = load_catalogue()
    frame = _world()
    # a model on part of the catalogue (quick to fit): reasons and leads still read every
    # feature of the household
    names = [
        f.name
        for f in cat.features
        if f.kind in ("household", "derived", "recency") or (f.kind == "count" and f.window == 12)
    ]
    rng = np.random.default_rng(8)
    logit = (
        -3.5
        + 0.8 * frame["crisis_records_12m"]
        + 0.5 * frame["domestic_abuse_records_12m"]
        + 1.2 * frame["smoker_without_alarm"]
        + 0.6 * frame["asb_12m"]
        + 0.6 * frame["ae_fall_12m"] * frame["over_75s"]
    ).to_numpy()
    y = (rng.random(N) < 1 / (1 + np.exp(-logit))).astype(int)
    X = frame.select(names).to_numpy()
    model = make_estimator("gradient_boosting", TrainParams(max_iter=30), names).fit(X, y)
    ranked = score_households(model, names, frame, recency_cap=CAP)
    # the top 15% (every household is explained; these are the ones a list shows)
    top = ranked.filter(pl.col("rank") <= int(0.15 * N)).sort("rank")
    assert top["reason_1"].null_count() == 0
    households = {r["household_pid"]: r for r in frame.iter_rows(named=True)}
    return cat, top, households


def test_every_lead_states_a_fact_true_of_its_household(scored):
    cat, top, households = scored
    rules = load_rules()
    led_by_rule = 0
    for row in top.iter_rows(named=True):
        values = households[row["household_pid"]]
        why, lead = row["lead_why"], row["lead_agency"]
        assert why and lead, row["rank"]
        features = [row[f"{r}_feature"] for r in REASONS if row[f"{r}_feature"]]
        if why.startswith("strongest reason: "):
            assert why == f"strongest reason: {row['reason_1']}"
            continue
        rule = next(r for r in rules["rules"] if r["lead"] == lead and why.startswith(r["why"]))
        led_by_rule += 1
        for cond in rule["when"]:  # the fact that fired it is true of this household
            assert _OPS[cond["op"]](values[cond["feature"]], cond["value"]), (row["rank"], cond)
            stated = say(cat, cond["feature"], values, CAP)
            assert stated == rule["why"] or stated in why, (row["rank"], why)
        # and it is about a record one of the reasons shows
        about = set().union(*(fact_keys(cat, c["feature"]) for c in rule["when"]))
        shown = set().union(*(named_keys(cat, f, values, CAP) for f in features))
        assert about & shown, (row["rank"], why, features)
    assert led_by_rule >= 20  # the rules are exercised, not skipped


def test_no_reason_carries_a_definition_and_fire_means_fire(scored):
    cat, top, households = scored
    definitions = [f.definition for f in cat.features if f.definition]
    fire_keys = {f.key for f in cat.features if f.agency == "fire"}
    themed = 0
    for row in top.iter_rows(named=True):
        values = households[row["household_pid"]]
        for r in REASONS:
            text, feature = row[r], row[f"{r}_feature"]
            if text is None:
                continue
            assert "(emergency admission" not in text and not any(d in text for d in definitions)
            if "fire" in text:  # a search for "fire" finds fire records only
                assert named_keys(cat, feature, values, CAP) & fire_keys, text
            if cat.by_name(feature).members:
                themed += 1
    assert themed >= 20


@pytest.mark.parametrize("role", ["police", "fire", "social_care", "health"])
def test_a_role_sees_its_own_strongest_reasons(scored, role):
    cat, top, households = scored
    view = role_view(top, role, cat)
    rules = load_rules()["rules"]
    hidden_words = {
        w
        for f in cat.features
        if f.kind == "count" and not f.members and not readable_by(cat, f.name, role)
        for w in (f.one, f.many)
    }
    seen = [
        w
        for f in cat.features
        if readable_by(cat, f.name, role)
        for w in (f.one, f.many, f.text)
        if w
    ]
    hidden_words = {w for w in hidden_words if not any(w in s for s in seen)}
    with_reason = 0
    for row, shown in zip(top.iter_rows(named=True), view.iter_rows(named=True), strict=True):
        cells = [shown[r] for r in REASONS if shown[r]]
        assert cells, row["rank"]  # never blank where the household has reasons
        if cells != [OTHER_AGENCY]:
            with_reason += 1
            for text in cells:
                assert not [w for w in hidden_words if w in text], (role, text)
        # a reason the full list shows and the role may read in full is not lost
        values = households[row["household_pid"]]
        own = json.loads(row[ROLE_REASONS])[role]["reasons"]
        own_facts = [fact_of(cat, f, values, CAP, role) for _, f in own]
        for r in REASONS:
            feature = row[f"{r}_feature"]
            if feature and role in cat.by_name(feature).roles and row[r] not in cells:
                # only a stronger reason of the role's own can push it out, or the same fact
                # in the role's words (a theme it reads in part naming that record)
                same = fact_of(cat, feature, values, CAP, role)
                assert len(cells) == len(REASONS) or any(same & f for f in own_facts), (
                    role,
                    row["rank"],
                    row[r],
                    cells,
                )
        # the lead and its why only where the role may read what chose it
        why = row["lead_why"]
        if why.startswith("strongest reason: "):
            facts = [row["reason_1_feature"]]
        else:
            rule = next(
                r for r in rules if r["lead"] == row["lead_agency"] and why.startswith(r["why"])
            )
            facts = [c["feature"] for c in rule["when"]]
        readable = all(role in cat.by_name(f).roles for f in facts)
        if readable:  # every fact read whole: the lead and its why as the list has them
            assert (shown["lead_agency"], shown["lead_why"]) == (row["lead_agency"], why)
        elif shown["lead_agency"] == ANOTHER_AGENCY:  # what chose it is not the role's to see
            assert shown["lead_why"] is None, (role, row["rank"])
        else:  # led by the agency behind a reason the role reads in some form
            assert shown["lead_agency"] == row["lead_agency"], (role, row["rank"])
    assert with_reason / top.height > 0.9, (role, with_reason, top.height)
