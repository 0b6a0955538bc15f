"""`hearth quarantine list|show`: the rows the quality gate held back, and why.

Rows that break a row rule (unknown code, impossible or future date, missing key, duplicate)
are kept in the warehouse's quarantine table with the rule, the column and the row as received,
each value only when it has its column's declared shape (`hearth/ingest/shapes.py`); anything
else was withheld at ingest and is shown by its shape. The same check runs again here, so a
warehouse written before that rule shows nothing more. Rows are released by correcting the
extract and landing it again in the same month folder: the next run replaces that month,
quarantine included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from hearth import settings
from hearth.cli.console import console, fail
from hearth.ingest.rules import RULE_TEXT
from hearth.ingest.shapes import Shape, shapes
from hearth.ingest.withhold import KEY_FILE, is_marker, safe_value
from hearth.months import MONTH_RE
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.warehouse import query, query_one

PID_SHOWN = 12  # characters of a 64-character pseudonym shown in the table (--json: all)
WIDE_TABLE = 150  # terminal width from which rows are shown one a line


def _cell(column: str, value: object, offending: bool) -> str:
    text = "" if value is None else escape(str(value))
    if column.endswith("_pid") and len(text) > PID_SHOWN and not is_marker(value):
        text = text[:PID_SHOWN] + "…"
    return f"[bold red]{text or '(empty)'}[/]" if offending else text


def _key() -> bytes | None:
    """The home's fingerprint key if there is one (a reader never makes it)."""
    try:
        return (settings.hearth_home() / KEY_FILE).read_bytes()
    except OSError:
        return None


def _safe(contract: dict[str, Shape], row_json: str, key: bytes | None) -> dict[str, object]:
    """A stored row with each value not of its column's shape shown by its shape only."""
    return {c: safe_value(contract.get(c), v, key) for c, v in json.loads(row_json).items()}


def _check_filters(source: str | None, month: str | None, rule: str | None = None) -> None:
    if source is not None and source not in SOURCES:
        fail(f"'{source}' is not a source; sources are {', '.join(SOURCES)}.")
    if month is not None and not MONTH_RE.match(month):
        fail(f"'{month}' is not a month; give it as YYYY-MM.")
    if rule is not None and rule not in RULE_TEXT:
        fail(f"'{rule}' is not a row rule; rules are {', '.join(RULE_TEXT)}.")


def _open(path: Path | None) -> duckdb.DuckDBPyConnection:
    path = path or settings.warehouse_path()
    if not path.is_file():
        fail(f"There is no warehouse at {path} yet: run `hearth run` first.")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        fail(f"The warehouse {path} is in use by a running pipeline; try again when the run ends.")


WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="Warehouse file (default HEARTH_HOME/warehouse.duckdb)."),
]


def list_quarantine(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    month: Annotated[str | None, typer.Option(help="Only this extract month, YYYY-MM.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    warehouse: WarehouseOption = None,
) -> None:
    """Quarantined rows counted by source, extract month, rule and column."""
    _check_filters(source, month)
    con = _open(warehouse)
    try:
        rows = query(con, "ingest/quarantine_counts", {"source": source, "month": month}).fetchall()
    finally:
        con.close()
    keys = ("source", "month", "rule", "column", "rows", "rows_received", "file")
    if as_json:
        for r in rows:
            console.print_json(json.dumps(dict(zip(keys, r, strict=True))), indent=None)
        return
    if not rows:
        where = " ".join(x for x in (source, month) if x)
        console.print(f"No rows are quarantined{' for ' + where if where else ''}.")
        return
    table = Table(title="Quarantined rows", show_lines=False)
    for name in ("source", "month", "rule", "column", "rows", "of received"):
        table.add_column(name, justify="right" if name in ("rows", "of received") else "left")
    for src, m, rule, column, n, received, _file in rows:
        table.add_row(src, m, rule, column or "", f"{n:,}", f"{received:,}" if received else "")
    console.print(table)
    total = sum(r[4] for r in rows)
    console.print(
        f"{total:,} rows in {len({(r[0], r[1]) for r in rows})} extract(s). See them with "
        "`hearth quarantine show --source S --month M`."
    )


def show_quarantine(
    source: Annotated[str, typer.Option(help="The source.")],
    month: Annotated[str, typer.Option(help="The extract month, YYYY-MM.")],
    rule: Annotated[str | None, typer.Option(help="Only rows caught by this rule.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per row, full pseudonyms.")
    ] = False,
    warehouse: WarehouseOption = None,
) -> None:
    """Quarantined rows of one extract as received (pseudonymised), with rule and column."""
    _check_filters(source, month, rule)
    con = _open(warehouse)
    params = {"source": source, "month": month, "rule": rule}
    try:
        total = query_one(con, "ingest/quarantine_total", params)[0]
        rows = query(con, "ingest/quarantine_rows", {**params, "limit": limit}).fetchall()
    finally:
        con.close()
    contract = shapes(load_contract(source))
    key = _key()
    if as_json:
        for row_number, r, column, row_json, file_name, _at in rows:
            record = {"row": row_number, "rule": r, "column": column, "file": file_name}
            record["values"] = _safe(contract, row_json, key)
            console.print_json(json.dumps(record), indent=None)
        return
    if not rows:
        console.print(
            f"No quarantined rows for {source} {month}{' under rule ' + rule if rule else ''}."
        )
        return
    # token columns (issue 25) mean nothing to a reader: shown only when one caught a row
    spec = SOURCES[source]
    caught = {row[2] for row in rows}
    columns = (*spec.base_columns, *(c for c in spec.tokens if c in caught))
    console.print(f"[bold]{source} {month}[/]: {rows[0][4]}")
    wide = console.width >= WIDE_TABLE
    table = Table(show_header=wide, box=None if not wide else box.SIMPLE_HEAD)
    for name in ("row", "rule", "column", *columns) if wide else ("field", "value"):
        table.add_column(name)
    for row_number, r, column, row_json, _file, _at in rows:
        values = _safe(contract, row_json, key)
        cells = [_cell(c, values.get(c), c == column) for c in columns]
        if wide:
            table.add_row(str(row_number), r, column or "", *cells)
            continue
        # one block per row, one line per field: readable at any terminal width
        table.add_row(f"[bold]row {row_number}[/]", f"[bold]{r}[/] ({RULE_TEXT[r]})")
        for c, cell in zip(columns, cells, strict=True):
            table.add_row(f"  {c}", cell)
        table.add_row("", "")
    console.print(table)
    console.print(
        f"Showing {len(rows)} of {total} rows. Rules: "
        + "; ".join(f"{r}: {RULE_TEXT[r]}" for r in sorted({row[1] for row in rows}))
    )
    console.print(
        f"To release them, correct the file and land it again in {source}/{month}/: the next "
        "run replaces that month, its quarantine included."
    )
