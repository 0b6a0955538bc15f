"""Issue 23: a run that allowed missing sources says which source is stale and by how many
months — in run_summary.json's freshness (from the warehouse), the report's data-quality
section, and the model card — and names months kept though the landing no longer has them."""

from __future__ import annotations

from hearth.ingest.freshness import freshness_report
from hearth.publish.report.behind import behind_html
from hearth.warehouse import connect


def test_the_report_names_a_stale_source_and_kept_months():
    newest = {s: "2025-12" for s in ("addresses", "people", "social_care", "health", "police")}
    newest["fire"] = "2025-10"
    summary = {
        "freshness": freshness_report(newest, "2025-12"),
        "removals_pending": [
            {"source": "police", "month": "2025-03", "rows_accepted": 1033, "kind": "not_landed"}
        ],
    }
    html = behind_html(summary)
    assert "fire: 2 months behind: its newest accepted extract is 2025-10" in html
    assert "police: 2025-03 kept though no longer landed" in html and "1,033" in html
    assert "health" not in html
    quiet = behind_html({"freshness": freshness_report({**newest, "fire": "2025-12"}, "2025-12")})
    assert quiet.startswith("<p>Every source had sent the month the run needed")


def test_the_model_card_says_which_source_the_model_was_trained_without(tmp_path):
    from models.recipe import stale_sources

    with connect(tmp_path / "w.duckdb") as con:
        for source, month in [("health", "2025-12"), ("fire", "2025-09"), ("police", "2025-12")]:
            con.execute(
                "INSERT INTO ingest_log VALUES (?, ?, 'f', 'sha', 1, 1, 0, 'loaded', NULL, "
                "now()::TIMESTAMP)",
                [source, month],
            )
        out = stale_sources(con, "2026-01")
    fire = next(s for s in out if s.startswith("fire:"))
    assert fire.startswith("fire: 3 months behind; its newest accepted extract is 2025-09")
    assert not any(s.startswith(("health:", "police:")) for s in out)
    assert any(s.startswith("social_care: no extract accepted") for s in out)
