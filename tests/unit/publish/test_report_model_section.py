"""The report's model section (hearth/publish/report/model_card.py, model_tables.py,
monitoring.py) reads the champion's card and tables: fairness rows carry intervals and counts
and a verdict in words, the card's fairness rule is the report's, the joined row is the
model's, and monitoring between months shows with counts under the small-number rule."""

import re
from html import unescape

import numpy as np
import polars as pl

from hearth.modelling.evaluation.card import model_card
from hearth.modelling.evaluation.fairness import RULE, TOO_FEW
from hearth.publish.report.model_card import _model_card
from tests.unit.modelling.test_card import result

MODEL = {"version": "3", "name": "household_crisis_risk", "metrics": {"precision_at_1pct": 0.28}}


def folder(tmp_path):
    r = result()
    (tmp_path / "model_card.md").write_text(model_card(r), encoding="utf-8")
    r.fairness.write_csv(tmp_path / "fairness.csv")
    r.sharing.write_csv(tmp_path / "sharing.csv")
    return tmp_path, r


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_fairness_rows_carry_intervals_counts_and_the_cards_rule(tmp_path):
    model_dir, r = folder(tmp_path)
    html = _model_card(MODEL, model_dir)
    assert RULE in text(html)
    a = r.fairness.filter(pl.col("group") == "a").row(0, named=True)
    shown = f"{a['recall']:.1%} ({a['recall_low']:.1%} to {a['recall_high']:.1%})"
    assert shown in html
    assert "Where quality was measured" in html and "What a small council should expect" in html
    assert "the same scores as fire alone" in html


def test_a_small_group_is_too_few_to_judge_and_shows_no_share(tmp_path):
    r = result()
    small = r.fairness.with_columns(
        pl.lit(5).alias("crises"),
        pl.lit(False).alias("judged"),
        pl.lit(TOO_FEW).alias("verdict"),
    )
    small.write_csv(tmp_path / "fairness.csv")
    html = _model_card(MODEL, tmp_path)
    table = html[html.index('id="fairness-table"') :]
    table = table[table.index("<tbody>") : table.index("</table>")]
    assert TOO_FEW in table and "%" not in table  # no share for a handful of households
    assert ">*<" in table  # five crises: suppressed


def test_monitoring_between_months_is_shown_with_suppressed_counts(tmp_path):
    model_dir, _ = folder(tmp_path)
    counts = {"new_household": 0, "moved": 3, "new_records": 14, "no_change_of_its_own": 23}
    report = {
        "as_of": "2026-01",
        "previous_as_of": "2025-12",
        "model_version": "3",
        "previous_model_version": "2",
        "new_model_version": True,
        "overlap": {
            "1pct": {"share_kept": 0.26, "entered": counts, "left": counts},
            "5pct": {"share_kept": 0.404, "entered": counts, "left": counts},
        },
        "reference_as_of": "2025-01",
        "score_psi": 0.0123,
        "features_compared": 299,
        "features_large_shift": 2,
        "most_shifted": [["breathing_records_24m", 0.31]],
    }
    html = _model_card({**MODEL, "monitoring": report}, model_dir)
    words = text(html)
    assert "26.0% of this month's top 1% was in last month's" in words
    assert "version 2 then, 3 now" in words
    assert "the scores' PSI is 0.01, and 2 of 299 features" in words
    table = html[html.index('id="monitoring-overlap"') :]
    table = table[: table.index("</table>")]
    assert ">*<" in table and ">15<" in table and ">25<" in table and ">3<" not in table
    first = _model_card(
        {**MODEL, "monitoring": {"as_of": "2026-01", "model_version": "3"}}, model_dir
    )
    assert "no last month to compare with" in first
    assert np.isfinite(report["score_psi"])


def test_the_value_of_sharing_shows_its_intervals_and_says_what_is_noise(tmp_path):
    """Each row's precision at 1% with its 95% interval, and its difference to the reference
    row in words that claim no more than the interval (issue 27, point 7)."""
    model_dir, r = folder(tmp_path)
    sharing = r.sharing.with_columns(
        pl.Series("precision_at_1pct", [0.28, 0.12, 0.29]),
        pl.Series("precision_at_1pct_low", [0.22, 0.08, 0.23]),
        pl.Series("precision_at_1pct_high", [0.34, 0.16, 0.35]),
        pl.Series("difference_p1", [0.0, -0.16, 0.01]),
        pl.Series("difference_p1_low", [0.0, -0.21, -0.02]),
        pl.Series("difference_p1_high", [0.0, -0.11, 0.04]),
    )
    sharing.write_csv(model_dir / "sharing.csv")
    html = _model_card(MODEL, model_dir)
    table = html[html.index('id="sharing-table"') :]
    table = text(table[: table.index("</table>")])
    assert "12.0% (8.0% to 16.0%) behind by −16.0 points (95% interval −21.0 to −11.0)" in table
    assert "29.0% (23.0% to 35.0%) within noise: +1.0 points (95% interval −2.0 to +4.0)" in table
    assert "ahead" not in table  # no row's interval is clear of 0 above
    # a table logged before intervals were kept shows the shares alone
    r.sharing.write_csv(model_dir / "sharing.csv")
    old = _model_card(MODEL, model_dir)
    body = old[old.index('id="sharing-table"') :].split("</table>")[0].split("<tbody>")[1]
    assert "28.0% 20.0% 5.0% 100.0%" in text(body) and "interval" not in text(body)
