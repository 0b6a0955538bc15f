"""run_summary.json: what a machine (or an officer) needs to know about a run."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl

from hearth.ingest.freshness import expected_month, freshness_report
from hearth.ingest.removals import pending
from hearth.linkage.link import linkage_by_month, linkage_by_source
from hearth.linkage.probabilistic import measures as token_linkage_measures
from hearth.modelling.scoring.ranking import explained_through
from hearth.publish.model_files import suppressed_metrics
from hearth.quality.retention import logged_summary
from hearth.warehouse import query


def sources_accounted(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Rows received, accepted and quarantined per source, whether they balance, and what under
    the landing was not read."""
    sources = {
        r["source"]: r for r in query(con, "publish/summary_sources").pl().iter_rows(named=True)
    }
    rules = query(con, "publish/summary_quarantine_rules").pl()
    issues = query(con, "publish/summary_landing_issues").pl().to_dicts()
    for name, entry in sources.items():
        entry.pop("source")
        part = rules.filter(pl.col("source") == name)
        entry["quarantined_by_rule"] = dict(zip(part["rule"], part["rows"], strict=True))
        not_read = [i for i in issues if i["source"] == name and i["kind"] == "unread"]
        entry["files_not_read"] = sum(i["blocking"] for i in not_read)
        entry["months_missing"] = [
            i["extract_month"] for i in issues if i["source"] == name and i["kind"] == "gap"
        ]
        # Balanced only if every row received is accepted or quarantined and no file that may
        # hold rows went unread.
        entry["balanced"] = (
            entry["rows_received"] == entry["rows_accepted"] + entry["rows_quarantined"]
            and entry["files_not_read"] == 0
        )
    return {"sources": sources, "not_read": [i for i in issues if i["kind"] == "unread"]}


def data_quality(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    return {
        **sources_accounted(con),
        "by_month": query(con, "publish/summary_by_month").pl().to_dicts(),
        "refused_extracts": query(con, "publish/summary_refusals").pl().to_dicts(),
        "linkage": linkage_by_source(links := query(con, "linkage/summary").pl()),
        "linkage_by_month": linkage_by_month(links),
        # records without an exact key linked by their tokens (hearth/linkage/probabilistic.py):
        # rates, precision and recall on exact-keyed records, calibration, cluster sizes
        "token_linkage": token_linkage_measures(con),
    }


def freshness(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, object]:
    """Each source's newest loaded extract against the month a run at `as_of` needs."""
    newest = dict(query(con, "publish/summary_newest_by_source").fetchall())
    return freshness_report(newest, expected_month(as_of, []))


def pending_removals(con: duckdb.DuckDBPyConnection) -> list[dict]:

    return [{k: r[k] for k in r if k != "sentence"} | {"why": r["sentence"]} for r in pending(con)]


def run_summary(
    con: duckdb.DuckDBPyConnection,
    as_of: str,
    ranked: pl.DataFrame,
    model: dict[str, object],
    status: str = "published",
    area_names: dict | None = None,
) -> dict[str, object]:
    """`area_names`: what the area names lookup gave (hearth/publish/areas.py, name_areas)."""
    dq = data_quality(con)
    tiers = dict(ranked.group_by("risk_tier").len().iter_rows()) if ranked.height else {}
    return {
        "as_of": as_of,
        "status": status,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sources": dq["sources"],
        "linkage": dq["linkage"],
        "linkage_by_month": dq["linkage_by_month"],
        "token_linkage": dq["token_linkage"],
        "refused_extracts": dq["refused_extracts"],
        "not_read": dq["not_read"],
        "extracts_by_month": dq["by_month"],
        "freshness": freshness(con, as_of),
        # months the warehouse keeps though the landing no longer has them, or would lose to a
        # shrunk copy: not removed until an officer accepts (hearth/ingest/removals.py)
        "removals_pending": pending_removals(con),
        "area_names": area_names,
        # what retention deleted in this run, per source (hearth/quality/retention.py)
        "retention": logged_summary(con),
        "households_scored": ranked.height,
        # ranks 1 to this have reasons, lead and "also"; beyond, explained when a longer list
        # is asked for (`hearth publish --top N`: hearth/modelling/scoring/on_demand.py)
        "households_explained": explained_through(ranked) if "reason_1" in ranked.columns else 0,
        "risk_tiers": tiers,
        "model": _model_for_summary(model),
    }


def _model_for_summary(model: dict[str, object]) -> dict[str, object]:
    """The champion's facts as they are handed over: its counts of crises follow the
    small-number rule (hearth/publish/model_files.py)."""
    metrics = model.get("metrics")
    if not isinstance(metrics, dict):
        return model
    return {**model, "metrics": suppressed_metrics(metrics)}
