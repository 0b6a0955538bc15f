"""Linking the records that no exact key linked, by their tokens, to the person register
(issue 25): the step after the exact joins in hearth/linkage/link.py.

1. `link_records` and `link_register` gather the token records (sql/linkage/link_records.sql);
   records an exact key linked join them in a fixed sample, as labels.
2. If no record lacks an exact key, nothing more is done (no splink cost): the run says so.
3. The splink model is reused from MLflow or retrained by the rule in
   hearth/linkage/model_store.py, then scores the blocked pairs; each record's candidates are
   people, ranked (sql/linkage/link_candidates.sql).
4. Best candidates and runners-up are recalibrated separately on the labelled records
   (hearth/linkage/recalibration.py); each record's best link goes into `linked_events` with
   its `link_probability` when that is at least `LINK_FLOOR` (sql/linkage/token_links.sql).
5. The measures (link rates, precision and recall at 0.5/0.9/0.99, calibration before and
   after, cluster sizes) are returned and kept in `linkage_measures` for the run summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import polars as pl

from hearth import settings
from hearth.linkage import recalibration, splink_model
from hearth.linkage.address import link_by_address
from hearth.linkage.model_store import ModelStore, contract_fingerprint, retrain_reason
from hearth.sources import SOURCES
from hearth.warehouse import query, query_one, run_source_sql, run_sql, union_parts

LINK_FLOOR = 0.5  # a best candidate below this is not linked (no household is more likely)
LABELLED_PER_SOURCE = 20_000  # exact-keyed records per source kept as labels each run
MAX_CANDIDATES = 5
# the token columns of link_records (hearth/privacy/tokens.py makes them; a source's contract
# says which it sends, the others are NULL)
LINK_COLUMNS = (
    *("given_token", "given_phonetic_token", "given_bigram_tokens"),
    *("family_token", "family_phonetic_token", "family_bigram_tokens"),
    *("birth_token", "birth_year_token", "birth_month_token", "birth_day_token"),
    *("pc_unit_token", "pc_sector_token", "pc_district_token", "premise_token"),
)
Progress = Callable[[str], None]


def _token_sources() -> list:
    """Event sources that send name or date-of-birth tokens (a person can be found from them)."""
    return [
        s
        for s in SOURCES.values()
        if s.kind == "event" and ({"family_token", "birth_token"} & set(s.tokens))
    ]


def token_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The token version of the person register's tokens, or None if it holds none."""
    row = query_one(con, "linkage/token_version")
    return row[0] if row else None


def gather(con: duckdb.DuckDBPyConnection, version: str | None) -> dict[str, int]:
    """Fill link_records and link_register with the tokens of `version`; the counts of records
    needing a link, of labelled records and of register identities."""
    run_sql(con, "linkage/link_records", {"token_version": version})
    for s in _token_sources():
        extra = {c: (c if c in s.tokens else None) for c in LINK_COLUMNS}
        params = {"source": s.name, "token_version": version}
        params["labelled"] = LABELLED_PER_SOURCE
        run_source_sql(con, "linkage/source_link_records", s, params, extra=extra)
    needing, labelled, register = query_one(con, "linkage/link_counts") or (0, 0, 0)
    return {"needing_link": needing, "labelled": labelled, "register": register}


def _prior(register_people: int) -> float:
    # each record is one register person: of a record's pairs, one in `people` is a match
    return 1.0 / max(register_people, 2)


def _measure(
    con: duckdb.DuckDBPyConnection, counts: dict[str, int]
) -> tuple[dict[str, Any], dict[str, float]]:
    cands = query(con, "linkage/candidates_for_measures").pl()
    labelled = query(con, "linkage/labelled_records").pl()
    best = cands.filter(pl.col("rank") == 1)
    pr = recalibration.precision_recall(best, labelled)
    needing = best.filter(pl.col("needs_link"))
    rates = query(con, "linkage/token_rates").pl()
    by_source = {
        r["source"]: {
            "needing_link": r["needing"],
            "linked": r["linked"],
            "linkage_rate": round(r["linked"] / r["needing"], 4) if r["needing"] else None,
            "mean_link_probability": None
            if r["mean_probability"] is None
            else round(r["mean_probability"], 4),
        }
        for r in rates.iter_rows(named=True)
    }
    person_best = best.filter(pl.col("person_label").is_not_null())
    at5 = person_best.filter(pl.col("link_probability") >= LINK_FLOOR)
    drift = {
        "precision_at_0_5": float(at5["person_label"].mean()) if at5.height else None,
        "linked_share": float((needing["link_probability"] >= LINK_FLOOR).mean())
        if needing.height
        else None,
    }
    measures = {
        **counts,
        "by_source": by_source,
        "precision_recall": pr,
        "calibration": recalibration.calibration_tables(cands),
        "cluster_sizes": recalibration.cluster_sizes(best, LINK_FLOOR),
    }
    return measures, {k: v for k, v in drift.items() if v is not None}


def _predict_and_link(
    con: duckdb.DuckDBPyConnection, model: dict[str, Any], progress: Progress = lambda _: None
) -> None:
    cleanup = splink_model.predict(con, model)
    try:
        run_sql(con, "linkage/link_candidates", {"max_candidates": MAX_CANDIDATES})
    finally:
        cleanup()
    progress("recalibrating the link probabilities")
    cands = query(con, "linkage/candidates_for_measures").pl()
    con.register("link_calibration_fit", recalibration.fit(cands).to_arrow())
    try:
        run_sql(con, "linkage/link_calibration")
    finally:
        con.unregister("link_calibration_fit")
    progress("writing the token links")
    con.execute("BEGIN TRANSACTION")  # the links land whole or not at all
    try:
        run_sql(con, "linkage/token_links", {"floor": LINK_FLOOR})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def link_by_tokens(
    con: duckdb.DuckDBPyConnection,
    store: ModelStore | None = None,
    progress: Progress = lambda _: None,
    today: date | None = None,
) -> dict[str, Any]:
    """Link what the exact keys did not (see the module's docstring); the run's measures.
    Without a `store` the model is trained for this run and not kept (tests, benchmarks)."""
    started = time.perf_counter()
    version = token_version(con)
    progress("gathering the token records")
    counts = gather(con, version)
    progress("linking address-only records by their premise")
    by_address = link_by_address(con, version, LINK_FLOOR)
    if counts["needing_link"] == 0:
        run_sql(con, "linkage/no_token_links")
        needing_address = sum(v["needing_link"] for v in by_address.values())
        out = {
            **counts,
            "ran": False,
            "address_links": by_address,
            "note": "every record with a name or date of birth was linked by an exact key (or "
            "carries no tokens): no probabilistic linkage was needed"
            + (
                f"; {needing_address:,} address-only records were linked by their premise."
                if needing_address
                else ", every link has probability 1."
            ),
        }
        _keep(con, out)
        return out
    assert version is not None  # records needing a link carry tokens of the register's version
    today = today or settings.today()
    stored = store.latest() if store is not None else None
    reason = retrain_reason(stored, version, today)
    register_people = query_one(con, "linkage/register_people")[0]  # type: ignore[index]
    trained_now = False
    if reason is None:
        assert stored is not None
        progress(f"reusing linkage model version {stored.version}")
        model = stored.model
    else:
        progress(f"training the linkage model: {reason}")
        model = splink_model.train(con, _prior(register_people), progress)
        trained_now = True
    progress(f"linking {counts['needing_link']:,} records without an exact key")
    _predict_and_link(con, model, progress)
    progress("measuring the links")
    measures, drift = _measure(con, counts)
    if not trained_now:
        drifted = retrain_reason(stored, version, today, drift)
        if drifted is not None:
            reason = drifted
            progress(f"retraining the linkage model: {reason}")
            model = splink_model.train(con, _prior(register_people), progress)
            trained_now = True
            _predict_and_link(con, model, progress)
            measures, drift = _measure(con, counts)
    model_version = stored.version if stored is not None and not trained_now else None
    if trained_now and store is not None:
        tags = {
            "settings_version": splink_model.SETTINGS_VERSION,
            "token_version": version,
            "contract_fingerprint": contract_fingerprint(),
            "trained_on": today.isoformat(),
            "linked_share": f"{drift.get('linked_share', 0.0):.4f}",
        }
        model_version = store.log(model, tags, reason or "")
    out = {
        **measures,
        "address_links": by_address,
        "ran": True,
        "model": {
            "name": "hearth_record_linkage" if store is not None else None,
            "version": model_version,
            "retrained": trained_now,
            "retrain_reason": reason,
        },
        "seconds": round(time.perf_counter() - started, 2),
    }
    _keep(con, out)
    return out


def _keep(con: duckdb.DuckDBPyConnection, measures: dict[str, Any]) -> None:
    """The run's measures in the warehouse (linkage_measures), for the run summary."""
    run_sql(con, "linkage/keep_measures", {"measures": json.dumps(measures)})


def measures(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The last run's token-linkage measures, or None before any run."""
    try:
        row = query_one(con, "linkage/read_measures")
    except duckdb.CatalogException:  # a warehouse linked before token linkage existed
        return None
    return json.loads(row[0]) if row else None


def measures_each(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any] | None]:
    """The last token-linkage measures of every warehouse `con` reads: one warehouse's own as
    {"": its measures}; a union of warehouses (hearth/warehouse.py: union_of, a partnership's
    model trained on its authorities') each one's, named by the folder that holds it (an
    authority's home is named by its code), in the order the union was given."""
    parts = union_parts(con)
    if not parts:
        return {"": measures(con)}
    out: dict[str, dict[str, Any] | None] = {}
    for name, path in parts:
        try:
            row = query_one(con, "linkage/read_measures_of", {"table": f"{name}.linkage_measures"})
        except duckdb.CatalogException:  # that warehouse never ran token linkage
            row = None
        out[path.parent.name] = json.loads(row[0]) if row else None
    return out


def metadata(measures: dict[str, Any]) -> dict[str, Any]:
    """What the linkage asset shows in Dagster: counts, rates, the model version and the
    calibration error, never a token, a pseudonym or a record id (plain numbers and words)."""
    address = {
        f"address_linkage_rate_{source}": v["linkage_rate"]
        for source, v in (measures.get("address_links") or {}).items()
        if v["needing_link"]
    }
    if not measures.get("ran"):
        if not address:
            return {"token_linkage": "not needed: every record was linked by an exact key"}
        return {"token_linkage": "address-only records linked by their premise", **address}
    out: dict[str, Any] = {
        "token_linkage": "ran",
        "records_needing_link": measures["needing_link"],
        "labelled_records": measures["labelled"],
        "linkage_model_version": measures["model"]["version"] or "not kept",
        "linkage_model_retrained": measures["model"]["retrained"],
        "linkage_model_reason": measures["model"]["retrain_reason"] or "reused",
    }
    for source, v in measures["by_source"].items():
        out[f"token_linkage_rate_{source}"] = v["linkage_rate"]
    out.update(address)
    for which, table in measures["calibration"].items():
        if isinstance(table, dict) and "max_error_after" in table:
            out[f"calibration_error_{which}_before"] = table["max_error_before"]
            out[f"calibration_error_{which}_after"] = table["max_error_after"]
    return out
