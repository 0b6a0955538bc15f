"""The value-of-sharing models (hearth/modelling/evaluation/sharing.py `value_of_sharing`,
hearth/features/build.py
`theme_columns`, hearth/features/catalogue.py `features_of`) count each theme over their own
agencies'
records only, at validation as in training. Hand-built feature frames, expectations by hand.

The theme used throughout is `mental_health_records`: health's mental health contacts, A&E
attendances and admissions for mental health, and the police's concerns for welfare."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hearth.features.build import ID_COLUMNS
from hearth.features.catalogue import NO_EVENT_MONTHS, load_catalogue
from hearth.modelling.evaluation.metrics import evaluate_scores, k_for
from hearth.modelling.evaluation.sharing import (
    INTERVAL_COLUMNS,
    JOINED,
    JOINED_REFIT,
    REGISTER,
    difference_words,
    sharing_intervals,
    sharing_metrics,
    sharing_note,
    top_precision,
)
from hearth.modelling.evaluation.sharing_refits import value_of_sharing
from hearth.modelling.training.fit import fit_candidate
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.selection import Window

CAT = load_catalogue()
THEME = "mental_health_records_12m"


def frame(groups: list[tuple[str, int, dict[str, float]]]) -> pl.DataFrame:
    """Households as stored by build_features: every catalogue column, no records unless a
    group says otherwise (counts 0, "months since" 99). Each group is (pseudonym prefix,
    households, values)."""
    rows = []
    for prefix, n, values in groups:
        for i in range(n):
            row = {c: f"{prefix}{i:04d}" if c == "household_pid" else "x" for c in ID_COLUMNS}
            row |= {
                name: float(NO_EVENT_MONTHS) if name.endswith("_months_since") else 0.0
                for name in CAT.names
            }
            rows.append(row | values)
    return pl.DataFrame(rows).with_columns(pl.col(CAT.names).cast(pl.Float32))


def test_a_theme_for_one_agency_counts_only_that_agencys_records():
    # 1, 2, 4 and 8 records of the four kinds, so each sum says which kinds are in it
    f = frame(
        [
            (
                "h",
                1,
                {
                    "mental_health_contact_12m": 1,
                    "mental_health_contact_months_since": 5,
                    "ae_mental_health_12m": 2,
                    "ae_mental_health_months_since": 7,
                    "admission_mental_health_12m": 4,
                    "admission_mental_health_months_since": 9,
                    "welfare_concern_12m": 8,
                    "welfare_concern_months_since": 2,
                    THEME: 15,  # as stored: every agency's records
                    "mental_health_records_months_since": 2,
                },
            )
        ]
    )
    stored = Window("2025-01", f, np.zeros(1, dtype=int))

    def theme(agencies: set[str]) -> tuple[float, float]:
        row = stored.restricted(agencies, CAT).frame.row(0, named=True)
        return row[THEME], row["mental_health_records_months_since"]

    assert theme({"health"}) == (1 + 2 + 4, 5)  # no concern for welfare in it
    assert theme({"police"}) == (8, 2)
    assert theme({"fire"}) == (0, NO_EVENT_MONTHS)
    assert theme({"social_care"}) == (0, NO_EVENT_MONTHS)
    assert theme({"health", "social_care", "fire"}) == (7, 5)  # all but police
    assert theme({"health", "social_care", "fire", "police"}) == (15, 2)  # all joined


def test_each_agency_has_the_themes_it_holds_records_of():
    themes = {
        agency: sorted(
            f.key
            for f in CAT.features
            if f.members and f.window == 12 and f.name in CAT.features_of({agency})
        )
        for agency in CAT.agencies
    }
    assert themes == {
        "fire": ["crisis_records"],
        "health": [
            "alcohol_drugs_asb_records",
            "breathing_records",
            "crisis_records",
            "falls_frailty_records",
            "mental_health_records",
        ],
        "police": [
            "alcohol_drugs_asb_records",
            "child_welfare_records",
            "crisis_records",
            "domestic_abuse_records",
            "mental_health_records",
        ],
        "social_care": [
            "child_welfare_records",
            "crisis_records",
            "domestic_abuse_records",
            "falls_frailty_records",
        ],
    }


# Pseudonym prefixes set the tie order (equal scores rank in pseudonym order,
# hearth/modelling/evaluation/metrics.py):
# no records (a_) before police concerns for welfare (b_) before health records (c_).
HEALTH = {"mental_health_contact_12m": 1, "mental_health_contact_months_since": 3, THEME: 1}
WELFARE = {"welfare_concern_12m": 1, "welfare_concern_months_since": 3, THEME: 1}


@pytest.fixture(scope="module")
def sharing() -> dict[str, dict]:
    """Training at T-24, 840 households: 40 with health mental health records, all with a crisis
    after; 400 with a police concern for welfare, none with a crisis; 120 with no records and a
    crisis; 280 with no records and none. Counted over every agency, the theme is 1 for 440
    households of which 40 had a crisis (9%), against 120 of 400 (30%) without: the theme reads
    as lower risk (in the calibration sample too). Counted over health's records alone, it is 1
    for the 40 health households, all with a crisis: higher risk.

    Validation at T-12, 400 households: 40 with health records and a crisis, 40 with a police
    concern for welfare and none, 320 with nothing and none."""
    train_groups = [
        ("c_health_", 40, HEALTH),
        ("b_welfare_", 400, WELFARE),
        ("a_crisis_no_records_", 120, {}),
        ("a_none_", 280, {}),
    ]
    train = Window(
        "2024-01", frame(train_groups), np.array([1] * 40 + [0] * 400 + [1] * 120 + [0] * 280)
    )
    valid_groups = [("c_health_", 40, HEALTH), ("b_welfare_", 40, WELFARE), ("a_none_", 320, {})]
    valid = Window("2025-01", frame(valid_groups), np.array([1] * 40 + [0] * 360))
    # one fit calibrated on a held-back fifth, as the refits are: nothing is lightened
    params = TrainParams(
        max_iter=20, sharing_max_iter=20, min_samples_leaf=5, calibration="isotonic"
    )
    # the model may use the theme and the register's head count (the same for everyone)
    names = [THEME, "residents"]
    model = fit_candidate("gradient_boosting", train.X(names), train.y, train.pids, names, params)
    met = evaluate_scores(valid.y, model.predict_proba(valid.X(names))[:, 1], valid.pids, 10)
    table = value_of_sharing(
        train, valid, CAT, params, 10, lambda _: None, names, "gradient_boosting", met
    )
    out = {r["model"]: r for r in table.iter_rows(named=True)}
    out["_model"] = met
    out["_windows"] = (train, valid, names)
    return out


def test_the_joined_row_is_the_model_itself(sharing):
    """The first row is the chosen model's own validation numbers (the model card's), and
    with nothing lightened the refits are compared with it."""
    met, joined = sharing["_model"], sharing[JOINED]
    for name in ("precision_at_1pct", "precision_at_5pct", "recall_at_1pct"):
        assert joined[name] == met[name], name
    assert joined["share_of_joined_p1"] == 1.0 or met["precision_at_1pct"] == 0
    assert JOINED_REFIT not in sharing


def test_health_alone_counts_its_theme_over_health_records_in_training_and_validation(sharing):
    """Health alone learns "a health mental health record: a crisis follows" and, validated
    on the same health-only theme, puts the 40 health households first: the top 5% (20 of
    400) and the top 1% (4) all had a crisis, precision 1.0, recall at 1% 4/40.

    If validation counted the police's concerns for welfare in health's theme, the 40
    welfare households would tie with the health ones and come first (b_ before c_):
    precision 0. If training did, the theme would read as lower risk: precision 0."""
    health = sharing["health alone"]
    assert (health["precision_at_5pct"], health["precision_at_1pct"]) == (1.0, 1.0)
    assert health["recall_at_1pct"] == pytest.approx(4 / 40)
    assert sharing["all but police"]["precision_at_5pct"] == 1.0  # health's theme again


def test_the_other_sets_by_hand(sharing):
    # every agency's records: the theme reads as lower risk (9% against 30%), so the top 5%
    # are households with no records, none with a crisis
    for joined in (JOINED, "all but fire", "all but social care"):
        assert sharing[joined]["precision_at_5pct"] == 0.0, joined
    # the police's records alone: the theme marks no crisis; no records ranks first, a_ first
    for police in ("police alone", "all but health"):
        assert sharing[police]["precision_at_5pct"] == 0.0, police
    # fire and social care hold no record of the theme: only the head count, all tied, a_ first
    for none in ("fire alone", "social care alone"):
        assert sharing[none]["features"] == 1 and sharing[none]["precision_at_5pct"] == 0.0
    # ... and so they are the very same model as the register's alone, which the table says
    # rather than leave the repeat to look like chance
    assert sharing[REGISTER]["features"] == 1 and sharing[REGISTER]["same_scores_as"] == ""
    assert sharing["fire alone"]["same_scores_as"] == REGISTER
    assert sharing["social care alone"]["same_scores_as"] == REGISTER
    assert sharing["health alone"]["same_scores_as"] == ""
    # the columns each set may use: the theme wherever the agencies hold a record kind of it
    sharing = {m: r for m, r in sharing.items() if not m.startswith("_")}
    assert {m: r["features"] for m, r in sharing.items()} == {
        JOINED: 2,
        REGISTER: 1,
        "fire alone": 1,
        "all but fire": 2,
        "health alone": 2,
        "all but health": 2,
        "police alone": 2,
        "all but police": 2,
        "social care alone": 1,
        "all but social care": 2,
    }
    assert all(r["training_households"] == 840 for r in sharing.values())
    table = pl.DataFrame(list(sharing.values()))
    # Under the monotone constraints (a count of records of need never lowers the risk:
    # hearth/modelling/training/fit.py) a theme that reads as lower risk cannot be split on, so
    # every set whose
    # theme counts the police's records repeats the register's model, and the note says so.
    repeats = {m for m, r in sharing.items() if r.get("same_scores_as") == REGISTER}
    assert repeats == {
        "fire alone",
        "social care alone",
        "police alone",
        "all but fire",
        "all but health",
        "all but social care",
    }
    note = sharing_note(table)
    assert (
        "Fire alone, all but fire, all but health, police alone, social care alone and all " in note
    )
    assert (
        "gave the very same scores as the register alone" in note and "all but police" not in note
    )


def test_lighter_refits_are_compared_with_the_joined_data_refitted_the_same_way(sharing):
    train, valid, names = sharing["_windows"]
    # fewer trees for the refits than the model had: they are lighter than the model
    params = TrainParams(max_iter=30, sharing_max_iter=20, min_samples_leaf=5)
    model = {"precision_at_1pct": 0.5, "precision_at_5pct": 0.5, "recall_at_1pct": 0.05}
    table = value_of_sharing(
        train, valid, CAT, params, 10, lambda _: None, names, "logistic", model
    )
    rows = {r["model"]: r for r in table.iter_rows(named=True)}
    assert list(rows)[:2] == [JOINED, JOINED_REFIT]
    assert rows[JOINED]["precision_at_1pct"] == 0.5  # the model's own number, not a refit's
    # the model's own cross-fit (the default) is heavier than the refits' one fit each
    same_trees = TrainParams(max_iter=20, sharing_max_iter=20, min_samples_leaf=5)
    crossfit = value_of_sharing(
        train, valid, CAT, same_trees, 10, lambda _: None, names, "logistic", model
    )
    assert crossfit["model"].to_list()[:2] == [JOINED, JOINED_REFIT]
    refit = rows[JOINED_REFIT]["precision_at_1pct"]
    for label, r in rows.items():
        expected = r["precision_at_1pct"] / refit if refit else float("nan")
        assert r["share_of_joined_p1"] == pytest.approx(expected, nan_ok=True), label


# ---- intervals on the value of sharing (issue 27, point 7) --------------------------------


def _noisy_world(n: int = 4000, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Households with a true chance of a crisis, a crisis drawn from it, and pseudonyms."""
    rng = np.random.default_rng(seed)
    risk = rng.beta(0.5, 8, n)
    y = (rng.random(n) < risk).astype(int)
    pids = np.array([f"{i:08x}" for i in range(n)])
    return risk, y, pids


def test_each_rows_precision_has_an_interval_around_it_and_a_paired_difference():
    risk, y, pids = _noisy_world()
    rng = np.random.default_rng(9)
    good = risk + rng.normal(0, 0.02, len(y))  # ranks nearly by the truth
    near = good.copy()
    near[np.argsort(-good)[:3]] -= 1  # the same ranking, three of its top 40 moved out
    noise = rng.random(len(y))  # ranks at random
    scored = {"good": good, "near": near, "noise": noise}
    bounds = sharing_intervals(y, scored, pids, "good", resamples=300)
    k = k_for(0.01, len(y))
    for label, s in scored.items():
        own = top_precision(y, s, pids, k)
        b = bounds[label]
        assert b["precision_at_1pct_low"] <= own <= b["precision_at_1pct_high"], label
        assert b["difference_p1_low"] <= b["difference_p1"] <= b["difference_p1_high"], label
    # the reference against itself: no difference in any resample
    assert bounds["good"]["difference_p1_low"] == bounds["good"]["difference_p1_high"] == 0
    # paired: two lists that share 37 of 40 households differ by at most 3 of 40 in every
    # resample, however much each list's own precision moves (unpaired, the interval of the
    # difference would be as wide as the two lists' own intervals together)
    near_b = bounds["near"]
    assert near_b["difference_p1_high"] - near_b["difference_p1_low"] <= 2 * 3 / 40 + 1e-9
    own_width = near_b["precision_at_1pct_high"] - near_b["precision_at_1pct_low"]
    assert own_width > near_b["difference_p1_high"] - near_b["difference_p1_low"]
    # the random list is clearly behind; the near one's difference holds 0 or is small
    assert bounds["noise"]["difference_p1_high"] < 0
    assert difference_words(bounds["noise"], "the model").startswith("behind the model by −")
    # a point estimate above the reference whose interval holds 0 is "within noise"
    row = {"difference_p1": 0.008, "difference_p1_low": -0.012, "difference_p1_high": 0.027}
    words = difference_words(row, "the model")
    assert words == "within noise of the model: +0.8 points (95% interval −1.2 to +2.7)"
    assert difference_words({**row, "difference_p1_low": 0.001}, "").startswith("ahead by +0.8")


def test_the_table_and_its_note_carry_the_intervals(sharing):
    """The value-of-sharing table: every row's precision at 1% with its interval, and its
    difference to the reference row (the model when nothing is lightened)."""
    train, valid, names = sharing["_windows"]
    params = TrainParams(
        max_iter=20, sharing_max_iter=20, min_samples_leaf=5, calibration="isotonic"
    )
    model = fit_candidate("gradient_boosting", train.X(names), train.y, train.pids, names, params)
    scores = model.predict_proba(valid.X(names))[:, 1]
    met = evaluate_scores(valid.y, scores, valid.pids, 10)
    table = value_of_sharing(
        train, valid, CAT, params, 10, lambda _: None, names, "gradient_boosting", met, scores
    )
    assert set(INTERVAL_COLUMNS) <= set(table.columns)
    for r in table.iter_rows(named=True):
        assert r["precision_at_1pct_low"] <= r["precision_at_1pct"] <= r["precision_at_1pct_high"]
        assert r["difference_p1"] == pytest.approx(
            r["precision_at_1pct"] - table.item(0, "precision_at_1pct")
        )
    joined = table.row(0, named=True)
    assert joined["model"] == JOINED and joined["difference_p1_high"] == 0
    # health alone (4 of 4) against the model (0 of 4) on 400 households: clearly ahead;
    # the register's refits (0 of 4, like the model): no difference at all
    note = sharing_note(table)
    assert "Clearly ahead of the model: health alone" in note
    assert "Within noise of the model" in note
    metrics = sharing_metrics(table)
    assert "sharing.health_alone.difference_p1_low" in metrics


def test_a_row_above_the_reference_within_noise_is_said_to_be_noise():
    table = pl.DataFrame(
        {
            "model": [JOINED, JOINED_REFIT, "all but fire", "fire alone"],
            "precision_at_1pct": [0.40, 0.39, 0.398, 0.20],
            "difference_p1": [0.01, 0.0, 0.008, -0.19],
            "difference_p1_low": [-0.01, 0.0, -0.012, -0.23],
            "difference_p1_high": [0.03, 0.0, 0.027, -0.15],
            "same_scores_as": ["", "", "", ""],
        }
    )
    note = sharing_note(table)
    assert "Clearly behind the joined data refitted the same way" in note and "fire alone" in note
    assert (
        "All but fire scored above the joined data refitted the same way on these households, "
        "by +0.8 points (95% interval −1.2 to +2.7): that is within noise, not a better list."
    ) in note
    assert "Clearly ahead" not in note
