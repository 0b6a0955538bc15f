"""What is handed over in outputs/<as_of>/model/ follows the small-number rule: fairness counts
of 1-7 are `*`, others rounded to 5, and a group too small to judge (or with a suppressed count)
carries no shares; run_summary.json's baseline counts likewise; the report still reads the copy."""

from __future__ import annotations

import csv
import json

from hearth.publish.model_files import (
    deliver_model_files,
    suppressed_fairness,
    suppressed_metrics,
)
from hearth.publish.report.model_tables import fairness_html
from hearth.suppression import is_disclosive

HEAD = "grouping,group,households,crises,listed,found,precision,recall,judged,flag,verdict\n"


def test_fairness_counts_are_suppressed_and_small_groups_lose_their_shares(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "fairness.csv").write_text(
        HEAD
        + "q,most deprived fifth,2901,206,382,62,0.162,0.301,true,false,no clear gap\n"
        + "q,not known,40,3,5,1,0.2,0.333,false,false,too few to judge\n"
    )
    (src / "model_card.md").write_text("# card\n")
    deliver_model_files(src, tmp_path / "dst")
    rows = list(csv.DictReader((tmp_path / "dst" / "fairness.csv").open()))
    assert [r["households"] for r in rows] == ["2900", "40"]
    assert [r["crises"] for r in rows] == ["205", "*"]
    assert rows[0]["found"] == "60" and rows[0]["precision"] == "0.162"
    assert rows[1]["found"] == "*" and rows[1]["precision"] == "" and rows[1]["recall"] == ""
    assert (tmp_path / "dst" / "model_card.md").is_file()
    assert (src / "fairness.csv").read_text().count("206") == 1  # the source is left exact
    for r in rows:
        assert not any(is_disclosive(v) for v in r.values())
    # the report (e.g. rewritten by `hearth plans`) reads the delivered copy
    html = fairness_html(rows)
    assert ">*<" in html and "206" not in html


def test_a_judged_group_with_a_small_count_loses_its_shares_too():
    text = HEAD + "q,mixed,400,9,6,2,0.33,0.22,true,false,no clear gap\n"
    (row,) = csv.DictReader(suppressed_fairness(text).splitlines())
    assert row["listed"] == "*" and row["found"] == "*" and row["precision"] == ""


def test_baseline_counts_in_the_summary_follow_the_rule():
    got = suppressed_metrics(
        {
            "precision_at_1pct": 0.28,
            "baseline_check.found_only_by_model": 12.0,
            "baseline_check.found_only_by_baseline": 3.0,
            "baseline_check.p_value": 0.5,
        }
    )
    assert got["baseline_check.found_only_by_model"] == 10
    assert got["baseline_check.found_only_by_baseline"] is None
    assert got["precision_at_1pct"] == 0.28 and got["baseline_check.p_value"] == 0.5
    json.dumps(got)
