"""Reasons are the catalogue's words for the features that raised a household's risk, and the
lead agency comes from the readable rules file."""

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from hearth.features.catalogue import load_catalogue
from hearth.features.wording import say
from hearth.modelling.scoring.reason_choice import top_reasons
from hearth.modelling.scoring.reasons import (
    check_rules,
    contributions,
    lead_agency,
    load_rules,
)
from hearth.modelling.training.fit import make_estimator
from hearth.modelling.training.params import TrainParams


@pytest.fixture(scope="module")
def fitted():
    cat = load_catalogue()
    names = cat.names
    rng = np.random.default_rng(3)
    X = rng.poisson(0.3, size=(3000, len(names))).astype(float)
    i_resp, i_da = names.index("ae_respiratory_12m"), names.index("domestic_abuse_high_36m")
    # the breathing theme adds up its members' records, as built (the logistic model reads themes)
    members = [names.index(f"{k}_12m") for k in cat.theme_members("breathing_records")]
    X[:, names.index("breathing_records_12m")] = X[:, members].sum(axis=1)
    logit = -3 + 1.5 * X[:, i_resp] + 1.0 * X[:, i_da]
    y = (rng.random(3000) < 1 / (1 + np.exp(-logit))).astype(int)
    return cat, names, X, y, i_resp


@pytest.mark.parametrize("kind", ["gradient_boosting", "logistic"])
def test_reasons_are_catalogue_words_for_what_raised_the_risk(fitted, kind):
    cat, names, X, y, i_resp = fitted
    model = make_estimator(kind, TrainParams(max_iter=50), names).fit(X, y)
    row = np.zeros((1, len(names)))
    row[0, i_resp] = 4
    # the logistic model weighs themes, not each record kind
    # (hearth/modelling/training/fit.py:logistic_columns)
    first = "ae_respiratory_12m" if kind == "gradient_boosting" else "breathing_records_12m"
    row[0, names.index(first)] = 4
    contrib = contributions(model, row)
    if isinstance(model, HistGradientBoostingClassifier):  # shap is additive to the log-odds
        import shap

        base = float(np.ravel(shap.TreeExplainer(model).expected_value)[0])
        assert contrib.sum() == pytest.approx(model.decision_function(row)[0] - base, abs=1e-6)
    reasons = top_reasons(contrib, row, names, cat)
    assert reasons.features[0][0] == first
    values = dict(zip(names, row[0].tolist(), strict=True))
    # a theme names the kind of record behind it for this household (hearth/features/wording.py)
    assert reasons.texts[0][0] == say(cat, first, values)
    assert "A&E attendances for breathing problems" in reasons.texts[0][0]
    for feature, text in zip(reasons.features[0], reasons.texts[0], strict=True):
        assert text == say(cat, feature, values)
    assert len(reasons.texts[0]) <= 3 and len(set(reasons.texts[0])) == len(reasons.texts[0])


def test_describe_reads_as_plain_words():
    cat = load_catalogue()
    assert (
        cat.by_name("copd_register_12m").describe(1)
        == "1 COPD register record in the last 12 months"
    )
    assert (
        cat.by_name("ae_fall_months_since").describe(99)
        == "no A&E attendance after a fall in the last 3 years"
    )
    assert (
        cat.by_name("ae_fall_months_since").describe(1)
        == "latest A&E attendance after a fall 1 month ago"
    )
    assert cat.by_name("asb_trend").describe(2).startswith("2 more anti-social behaviour reports")
    assert cat.by_name("lives_alone").describe(1) == "one person living alone"
    every = {f.name for f in cat.features}
    assert len(every) == len(cat.features)  # names are unique
    for f in cat.features:
        # the share of every agency's records linked below high confidence: no one agency may
        # read all their linkage tokens (a model input, never a reason)
        assert f.describe(1.0) and (f.roles or f.name == "uncertain_share_12m") and f.agency


def test_lead_agency_rules_in_order_and_about_the_reasons():
    cat = load_catalogue()
    rules = load_rules()
    assert rules["rules"][0]["lead"].startswith("Fire and rescue")
    smoker = {"smoker_without_alarm": 1.0, "abuse_with_children": 1.0, "children": 2.0}
    assert lead_agency(smoker, ["smoker_without_alarm"], cat).lead.startswith("Fire and rescue")
    # the fire rule holds but no reason shows it: the rule the reasons are about leads
    abuse = lead_agency(smoker, ["abuse_with_children"], cat)
    assert abuse.lead == "Early help (children's services)"
    assert abuse.why == rules["rules"][1]["why"] and abuse.facts == ("abuse_with_children",)
    # ranks 14 and 50 of issue 16: smoker without alarm, reasons from the police
    asb = lead_agency(smoker | {"asb_12m": 3.0}, ["asb_12m"], cat)
    assert asb.lead == rules["by_agency"]["police"]
    assert asb.why == "strongest reason: 3 anti-social behaviour reports in the last 12 months"
    # one COPD register record in the last 3 years: 24/36 of a record per 2 years
    copd = {"copd_register_36m": 24 / 36, "ae_respiratory_12m": 1.0}
    copd_lead = lead_agency(copd, ["ae_respiratory_12m"], cat)
    assert copd_lead.lead == "Community respiratory team (health)"
    assert copd_lead.why == (
        "COPD with recent A&E use for breathing problems (0.7 COPD register records per 2 years "
        "over the last 3 years; 1 A&E attendance for breathing problems in the last 12 months)"
    )
    # no rule is about the reasons: the agency behind the strongest reason leads
    assert lead_agency({"asb_12m": 1.0}, ["asb_12m"], cat).lead == rules["by_agency"]["police"]
    none = lead_agency({}, [], cat)
    assert none.lead == rules["by_agency"]["register"] and none.why and none.facts == ()
    # a theme leads to its service
    breathing = {"breathing_records_12m": 1.0, "ae_respiratory_12m": 1.0}
    assert (
        lead_agency(breathing | {"copd_register_36m": 0.0}, ["breathing_records_12m"], cat).lead
        == "Community respiratory team (health)"
    )
    assert set(rules["by_theme"]) == set(cat.themes)
    for rule in rules["rules"]:
        assert rule["why"] and rule["lead"]
        for cond in rule["when"]:
            assert cond["feature"] in cat.names, cond


def test_a_past_crisis_leads_by_the_kind_of_record_it_names():
    """Rank 14 of a demo: the strongest reason is a high-risk domestic abuse incident 14
    months ago (a past crisis), and the domestic abuse service leads, not the early help hub."""
    cat = load_catalogue()
    rules = load_rules()
    quiet = {f.name: 99.0 if f.kind == "recency" else 0.0 for f in cat.features}
    reason = ["crisis_records_months_since"]
    da = quiet | {"domestic_abuse_high_months_since": 14.0, "crisis_records_months_since": 14.0}
    lead = lead_agency(da, reason, cat)
    assert lead.lead == rules["by_theme"]["domestic_abuse_records"]
    assert lead.why == (
        "strongest reason: latest past crisis: high-risk domestic abuse incident, 14 months ago"
    )
    fire = quiet | {"fire_clutter_months_since": 3.0, "crisis_records_months_since": 3.0}
    assert lead_agency(fire, reason, cat).lead == rules["by_agency"]["fire"]
    both = fire | {"admission_fall_months_since": 3.0}  # two kinds that would lead apart
    assert lead_agency(both, reason, cat).lead == rules["by_theme"]["crisis_records"]


def test_the_domestic_abuse_lead_reads_the_records_the_reason_shows():
    """Rank 10 of issue 16: ten domestic abuse records in two years, none of them a standard-
    risk police incident, led to the early help hub because the rule read another feature."""
    cat = load_catalogue()
    values = {f: 0.0 for f in cat.names} | {
        "domestic_abuse_medium_12m": 3.0,
        "domestic_abuse_medium_24m": 6.0,
        "child_safeguarding_12m": 2.0,
        "child_safeguarding_24m": 4.0,
        "domestic_abuse_records_12m": 5.0,
        "domestic_abuse_records_24m": 10.0,
    }
    lead = lead_agency(values, ["domestic_abuse_records_24m", "residents"], cat)
    assert lead.lead == "Domestic abuse service (police-led MARAC)"
    assert lead.why == (
        "domestic abuse recorded in the last year (5 domestic abuse records in the last 12 "
        "months: 3 medium-risk domestic abuse incidents and 2 child safeguarding concerns)"
    )


@pytest.mark.parametrize(
    "break_it, words",
    [
        (lambda r: r["rules"][0]["when"][0].update(feature="domestic_abuse_1m"), "rule 1"),
        (lambda r: r["rules"][1]["when"][0].update(op="=>"), "use one of"),
        (lambda r: r["by_agency"].pop("fire"), "no lead for fire"),
        (lambda r: r["by_theme"].update(no_such_theme="x"), "no_such_theme"),
    ],
)
def test_a_rules_file_the_scorer_cannot_apply_is_refused(break_it, words):
    import copy

    rules = copy.deepcopy(load_rules())
    check_rules(rules, load_catalogue(), "lead_agency.yaml")  # as shipped: accepted
    break_it(rules)
    with pytest.raises(ValueError, match="lead_agency.yaml") as e:
        check_rules(rules, load_catalogue(), "lead_agency.yaml")
    assert words in str(e.value)


def test_models_rules_prints_the_rules_in_order():
    from typer.testing import CliRunner

    from hearth.cli.app import app

    result = CliRunner().invoke(app, ["models", "rules"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    rules = load_rules()
    positions = [result.output.index(r["when"][0]["feature"]) for r in rules["rules"]]
    assert positions == sorted(positions)
    assert "smoker_without_alarm >= 1" in result.output
    assert "breathing_records" in result.output and "Council early help hub" in result.output
