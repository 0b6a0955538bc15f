"""The expectation suite as a second, independent check of what ingest accepted.

Ingest's row rules (hearth/ingest/rules.py) send every row that breaks the contract to the
quarantine table, so the accepted rows of a source should always pass its GX suite
(`expectations/<source>.json`, generated from the same contract). This module runs that suite
with Great Expectations on the accepted rows of the months in a run, inside DuckDB (see
hearth/quality/gx_duckdb.py), and turns the result into a sentence and counts. A failure means rows
that break the contract got past the gate: the pipeline's check is blocking.

One documented adaptation: for a register (addresses, people) each month's file is a snapshot
or a set of changes, so the same household or person appears in many months; a column the
contract marks unique is checked as unique within each extract month
(`expect_compound_columns_to_be_unique` on the column and `_extract_month`). For event
sources a unique column (record_id) is checked across all the months in the run.

GX is imported only when a check runs (inside `validate_table`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import duckdb

from hearth.quality.contracts import load_contract
from hearth.quality.expectations import ValidationSummary, build_suite, validate_table
from hearth.sources import SOURCES
from hearth.warehouse import query, run_source_sql, run_sql


@dataclass(frozen=True)
class SuiteCheck:
    source: str
    months: tuple[str, ...]
    rows: int
    summary: ValidationSummary

    @property
    def passed(self) -> bool:
        return self.summary.success

    def describe(self) -> str:
        """One plain sentence: what was checked and, on failure, which rules broke in how many
        rows. Never a value."""
        span = _span(self.months)
        suite = f"expectations/{self.source}.json"
        if self.passed:
            return (
                f"{self.source}: {self.rows} accepted rows ({span}) meet all "
                f"{len(self.summary.results)} expectations of {suite}."
            )
        broken = []
        for o in self.summary.failures:
            if o.error:
                broken.append(f"{o.rule} could not be evaluated")
            else:
                n = o.unexpected_count or 0
                broken.append(f"{o.rule} ({n} row{'s' if n != 1 else ''})")
        return (
            f"{self.source}: accepted rows ({span}) break {len(broken)} of "
            f"{len(self.summary.results)} expectations of {suite}: {', '.join(broken)}; rows "
            "that break the contract got past the quarantine, so the run stops. Report this "
            "as a fault in Hearth's row rules."
        )

    def metadata(self) -> dict[str, object]:
        """Counts for the Dagster UI: never a value from the data."""
        rows = "\n".join(
            f"| {o.rule} | {o.expectation} | {'yes' if o.success else 'no'} | "
            f"{'' if o.unexpected_count is None else o.unexpected_count} |"
            for o in self.summary.results
        )
        return {
            "suite": f"expectations/{self.source}.json",
            "rows_checked": self.rows,
            "months_checked": len(self.months),
            "first_month": self.months[0] if self.months else "",
            "last_month": self.months[-1] if self.months else "",
            "expectations": len(self.summary.results),
            "expectations_failed": len(self.summary.failures),
            "unexpected_rows": sum(o.unexpected_count or 0 for o in self.summary.failures),
            "seconds": round(self.summary.seconds, 3),
            "results": "| rule | expectation | passed | unexpected rows |\n|---|---|---|---|\n"
            + rows,
        }


def _span(months: tuple[str, ...]) -> str:
    if not months:
        return "no months loaded"
    if len(months) == 1:
        return f"month {months[0]}"
    return f"months {months[0]} to {months[-1]}"


def suite_for_accepted_rows(source: str) -> dict:
    """The source's suite, built from its contract (the same as the stored
    `expectations/<source>.json`, kept in step by a test, so a new source needs no stored suite
    to be checked), with unique columns of a register checked per extract month."""
    suite = copy.deepcopy(build_suite(load_contract(source)))
    if SOURCES[source].kind == "register":
        for e in suite["expectations"]:
            if e["type"] == "expect_column_values_to_be_unique":
                column = e["kwargs"]["column"]
                e["type"] = "expect_compound_columns_to_be_unique"
                e["kwargs"] = {"column_list": [column, "_extract_month"]}
    return suite


def check_accepted_rows(
    con: duckdb.DuckDBPyConnection, source: str, months: list[str] | None = None
) -> SuiteCheck:
    """Validate the accepted rows of `months` (every loaded month when None) of one source with
    its expectation suite, in DuckDB on the open connection."""
    if source not in SOURCES:
        raise KeyError(f"{source!r} is not a Hearth source")
    run_sql(con, "quality/views")
    run_source_sql(con, "quality/source_view", SOURCES[source])
    run_sql(con, "quality/set_months", {"source": source, "months": months})
    checked = tuple(
        r[0] for r in query(con, "quality/months_checked", {"source": source}).fetchall()
    )
    summary = validate_table(con, f"quality.{source}", suite_for_accepted_rows(source))
    rows = max((o.element_count or 0 for o in summary.results), default=0)
    return SuiteCheck(source, checked, rows, summary)
