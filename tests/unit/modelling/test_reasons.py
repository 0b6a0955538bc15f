"""Reasons are the catalogue's words for the features that raised a household's risk, and the
lead agency comes from the readable rules file."""

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from hearth.features.catalogue import load_catalogue
from models.params import TrainParams
from models.reasons import contributions, lead_agency, load_rules, top_reasons
from models.train import make_estimator


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
    # the logistic model weighs themes, not each record kind (models/train.py:logistic_columns)
    first = "ae_respiratory_12m" if kind == "gradient_boosting" else "breathing_records_12m"
    row[0, names.index(first)] = 4
    contrib = contributions(model, row)
    if isinstance(model, HistGradientBoostingClassifier):  # shap is additive to the log-odds
        import shap

        base = float(np.ravel(shap.TreeExplainer(model).expected_value)[0])
        assert contrib.sum() == pytest.approx(model.decision_function(row)[0] - base, abs=1e-6)
    reasons = top_reasons(contrib, row, names, cat)
    assert reasons.features[0][0] == first
    assert reasons.texts[0][0] == cat.by_name(first).describe(4)
    for feature, text in zip(reasons.features[0], reasons.texts[0], strict=True):
        assert text == cat.by_name(feature).describe(row[0, names.index(feature)])
    assert len(reasons.texts[0]) <= 3


def test_describe_reads_as_plain_words():
    cat = load_catalogue()
    assert (
        cat.by_name("copd_register_36m").describe(1) == "1 COPD register record in the last 3 years"
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
        assert f.describe(1.0) and f.roles and f.agency


def test_lead_agency_rules_in_order():
    cat = load_catalogue()
    rules = load_rules()
    assert rules["rules"][0]["lead"].startswith("Fire and rescue")
    smoker = {"smoker_without_alarm": 1.0, "abuse_with_children": 1.0}
    assert lead_agency(smoker, None, cat).startswith("Fire and rescue")
    abuse = {"abuse_with_children": 1.0}
    assert lead_agency(abuse, None, cat) == "Early help (children's services)"
    copd = {"copd_register_36m": 2.0, "ae_respiratory_12m": 1.0}
    assert lead_agency(copd, None, cat) == "Community respiratory team (health)"
    # no rule matches: the agency behind the strongest reason leads
    assert lead_agency({}, "asb_12m", cat) == rules["by_agency"]["police"]
    assert lead_agency({}, None, cat) == rules["by_agency"]["register"]
    # a theme leads to its service
    assert lead_agency({}, "breathing_records_12m", cat) == "Community respiratory team (health)"
    assert set(rules["by_theme"]) == set(cat.themes)
    for rule in rules["rules"]:
        for cond in rule["when"]:
            assert cond["feature"] in cat.names, cond


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
