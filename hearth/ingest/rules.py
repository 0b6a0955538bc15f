"""Row-level rules: each received row is either accepted (with its values typed as the contract
says) or quarantined with the first rule it breaks. Rules never look at other sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from hearth import settings
from hearth.ingest.files import BatchProblem
from hearth.ingest.landing import Extract
from hearth.ingest.shapes import column_shape, most_common_shape, shapes
from hearth.ingest.withhold import withhold
from hearth.months import add_months, month_end, month_start
from hearth.quality.contracts import Contract
from hearth.sources import SOURCES

# A rule that most rows of a column break is not bad rows but a changed extract.
MAJORITY_SHARE = 0.5
MAJORITY_MIN_ROWS = 20
# Rules about a value's form: judged against the column's values present, not all rows, so an
# optional column whose every value changed form (codes sent as numbers) is a changed column,
# however many rows leave it empty.
FORM_RULES = ("malformed_pid", "malformed_value", "unknown_code", "not_a_number", "invalid_date")
EARLIEST_DATE = date(1900, 1, 1)

RULE_TEXT = {
    "missing_value": "a required value is missing",
    "malformed_pid": "not a pseudonym (64 lowercase hex characters)",
    "malformed_value": "not of the form the contract declares (a record id of the agency's form, "
    "an ONS code)",
    "unknown_code": "a code not in the contract's list",
    "not_a_number": "not a whole number",
    "out_of_range": "outside the contract's range",
    "invalid_date": "not a date in YYYY-MM-DD form",
    "impossible_date": "a date before 1900",
    "future_date": "a date after the end of the extract month",
    "missing_required_detail": "a detail the contract requires for this record type is missing",
    "detail_not_allowed": "a detail the contract allows only for another record type is present "
    "(e.g. a completed date for an offer not accepted)",
    "date_out_of_order": "a date before the date it must follow (e.g. completed before offered)",
    "duplicate_row": "an exact copy of another row in the same extract",
    "duplicate_key": "a repeat, with different values, of an id or key that must be unique in the "
    "extract (e.g. one person in two households on the same date)",
    "duplicate_record_id": "a record already received in another extract",
}


@dataclass
class RuleOutcome:
    accepted: pl.DataFrame  # typed per contract, plus _extract_month and _row_number
    quarantined: pl.DataFrame  # _row_number, rule, column_name, row_json
    rows_received: int


def _typed(contract: Contract, df: pl.DataFrame) -> pl.DataFrame:
    out = []
    for col in contract.columns:
        v = pl.col(col.name)
        if col.logical_type == "integer":
            out.append(v.cast(pl.Int64, strict=False).alias(col.name))
        elif col.logical_type == "number":
            out.append(v.cast(pl.Float64, strict=False).alias(col.name))
        elif col.logical_type == "date":
            out.append(v.str.to_date("%Y-%m-%d", strict=False).alias(col.name))
        else:
            out.append(v)
    return df.select(out)


# The typed copy of each column sits beside the raw one under this prefix while the rules are
# judged, so that every rule is one expression over one frame.
TYPED = "__typed__"


def _failures(contract: Contract, month: str, today: date) -> list[tuple[str, str | None, pl.Expr]]:
    """(rule, column, expression true on the rows that break it) in priority order, over the
    raw columns and their typed copies (`TYPED` + name). A date after the extract month's end,
    or after the run's clock, has not happened yet."""
    end = min(month_end(month), today)
    checks: list[tuple[str, str | None, pl.Expr]] = []
    for col in contract.columns:
        r, t = pl.col(col.name), pl.col(TYPED + col.name)
        present = r.is_not_null()
        if col.required:
            checks.append(("missing_value", col.name, ~present))
        if col.pattern:
            rule = "malformed_pid" if col.name.endswith("_pid") else "malformed_value"
            checks.append((rule, col.name, present & ~r.str.contains(col.pattern).fill_null(False)))
        if col.allowed_values:
            checks.append(("unknown_code", col.name, present & ~r.is_in(list(col.allowed_values))))
        if col.logical_type in ("integer", "number"):
            checks.append(("not_a_number", col.name, present & t.is_null()))
            if col.minimum is not None:
                checks.append(("out_of_range", col.name, (t < col.minimum).fill_null(False)))
            if col.maximum is not None:
                checks.append(("out_of_range", col.name, (t > col.maximum).fill_null(False)))
        if col.logical_type == "date":
            checks.append(("invalid_date", col.name, present & t.is_null()))
            checks.append(("impossible_date", col.name, (t < EARLIEST_DATE).fill_null(False)))
            checks.append(("future_date", col.name, (t > end).fill_null(False)))
    for rule in contract.conditional_rules:
        other = rule.required_when_column
        if rule.kind == "not_before":  # both dates present and read: the later one is not earlier
            later, earlier = pl.col(TYPED + rule.column), pl.col(TYPED + other)
            checks.append(("date_out_of_order", rule.column, later < earlier))
            continue
        hit = pl.col(other).is_in(list(rule.in_values)).fill_null(False)
        if rule.kind == "only_when":
            present = pl.col(rule.column).is_not_null()
            checks.append(("detail_not_allowed", rule.column, ~hit & present))
        else:
            checks.append(
                ("missing_required_detail", rule.column, hit & pl.col(rule.column).is_null())
            )
    return checks


def apply_rules(
    contract: Contract,
    ex: Extract,
    raw: pl.DataFrame,
    known_record_ids: pl.Series | None,
    origin: pl.DataFrame | None = None,
    today: date | None = None,
) -> RuleOutcome:
    """Split an extract (already checked at batch level for its columns) into accepted and
    quarantined rows. Raises BatchProblem when a rule breaks on most rows of a column.

    `origin` gives each row's part file and row in it (`read_parts`), so that a quarantined row
    of a split extract is named by its own file."""
    today = today or settings.today()
    n = raw.height
    raw = raw.select([c.name for c in contract.columns]).with_row_index("_row_number", offset=1)
    typed = _typed(contract, raw)
    declared = {c.name: c for c in contract.columns}
    checks = _failures(contract, ex.month, today)
    # Every rule judged in one pass over the rows (a column of flags each), not one pass per
    # rule: an extract of a few hundred rows costs the same per pass as one of thousands.
    flags = raw.hstack(typed.select(pl.all().name.prefix(TYPED))).select(
        broken.fill_null(False).alias(str(i)) for i, (_, _, broken) in enumerate(checks)
    )
    counts = flags.sum().row(0) if checks else ()
    form_columns = sorted({col for name, col, _ in checks if name in FORM_RULES and col})
    present = (
        raw.select(pl.col(form_columns).is_not_null().sum()).row(0, named=True)
        if form_columns
        else {}
    )
    for i, (name, col, _) in enumerate(checks):
        broken = flags[str(i)]
        hits = int(counts[i])
        among = int(present[col]) if name in FORM_RULES and col else n
        if hits and among >= MAJORITY_MIN_ROWS and hits / among > MAJORITY_SHARE:
            if name == "future_date":
                raise BatchProblem(
                    "extract_month_matches_folder",
                    f"{ex.source}: file {ex.file_name} sits in folder {ex.month} but {hits} of "
                    f"{n} records in column '{col}' are dated after that month; check that it "
                    "was landed in the right folder.",
                    column=col,
                )
            if name in FORM_RULES and col:
                # The column's form changed: both forms are named, by shape, never a value.
                received = most_common_shape(raw[col].filter(broken))
                raise BatchProblem(
                    "schema_matches_contract",
                    f"{ex.source}: in file {ex.file_name}, column '{col}' is declared as "
                    f"{column_shape(declared[col]).declared} but {hits} of its {among} values "
                    f"are not (most are {received}): the column's format has changed, so the "
                    "whole extract was refused.",
                    column=col,
                )
            raise BatchProblem(
                "schema_matches_contract",
                f"{ex.source}: in file {ex.file_name}, column '{col}' breaks rule '{name}' "
                f"({RULE_TEXT[name]}) in {hits} of {n} rows; the extract's format has changed.",
                column=col,
            )
    # each row's first rule broken, in priority order, and its column
    first = (
        flags.select(
            pl.coalesce(
                [pl.when(pl.col(str(i))).then(pl.lit(i, pl.Int32)) for i in range(len(checks))]
                + [pl.lit(None, pl.Int32)]
            )
        ).to_series()
        if checks
        else pl.Series([None] * n, dtype=pl.Int32)
    )
    rule = first.replace_strict(
        {i: name for i, (name, _, _) in enumerate(checks)}, default=None, return_dtype=pl.String
    ).alias("rule")
    column = first.replace_strict(
        {i: col for i, (_, col, _) in enumerate(checks)}, default=None, return_dtype=pl.String
    ).alias("column_name")
    data_cols = [c.name for c in contract.columns]
    dup = raw.select(~pl.struct(data_cols).is_first_distinct()).to_series()
    first = dup & rule.is_null()
    rule = pl.select(pl.when(first).then(pl.lit("duplicate_row")).otherwise(rule)).to_series()
    for col in (c.name for c in contract.columns if c.unique):
        # Among the rows still accepted, a later row with the same id: the first one stands.
        key = pl.select(pl.when(rule.is_null()).then(raw[col])).to_series()
        first = key.is_not_null() & ~key.is_first_distinct()
        rule = pl.select(pl.when(first).then(pl.lit("duplicate_key")).otherwise(rule)).to_series()
        column = pl.select(pl.when(first).then(pl.lit(col)).otherwise(column)).to_series()
    if len(contract.key) > 1:
        # A composite key (a person on a date): two different rows for one key contradict
        # each other (one person in two households); the first stands, the rest are held.
        keyed = (
            rule.is_null()
            & raw.select(
                pl.all_horizontal(pl.col(c).is_not_null() for c in contract.key)
            ).to_series()
        )
        key = raw.select(pl.when(keyed).then(pl.struct(list(contract.key)))).to_series()
        first = key.is_not_null() & ~key.is_first_distinct()
        rule = pl.select(pl.when(first).then(pl.lit("duplicate_key")).otherwise(rule)).to_series()
        column = pl.select(
            pl.when(first).then(pl.lit(", ".join(contract.key))).otherwise(column)
        ).to_series()
    if "record_id" in raw.columns and known_record_ids is not None and len(known_record_ids):
        seen = raw["record_id"].is_in(known_record_ids)
        first = seen & rule.is_null()
        rule = pl.select(
            pl.when(first).then(pl.lit("duplicate_record_id")).otherwise(rule)
        ).to_series()
        column = pl.select(pl.when(first).then(pl.lit("record_id")).otherwise(column)).to_series()
    ok = rule.is_null()
    accepted = typed.with_columns(
        raw["_row_number"], pl.lit(ex.month).alias("_extract_month")
    ).filter(ok)
    if origin is None:
        origin = pl.DataFrame(
            {"file_name": [ex.file_name] * n, "file_row": raw["_row_number"]},
            schema={"file_name": pl.String, "file_row": pl.Int64},
        )
    held = raw.filter(~ok)
    # A value is kept, even in quarantine, only when it has its column's declared shape
    # (hearth/ingest/shapes.py); anything else is described by its shape.
    safe = withhold(held.select(data_cols), shapes(contract))
    quarantined = (
        safe.with_columns(
            origin["file_row"].filter(~ok).alias("_row_number"),
            origin["file_name"].filter(~ok),
        )
        .select(
            "_row_number",
            "file_name",
            pl.struct(data_cols).struct.json_encode().alias("row_json"),
        )
        .with_columns(rule.filter(~ok).alias("rule"), column.filter(~ok).alias("column_name"))
    )
    return RuleOutcome(accepted=accepted, quarantined=quarantined, rows_received=n)


def check_month_matches_folder(contract: Contract, ex: Extract, accepted: pl.DataFrame) -> None:
    """Most records in an event extract should be dated in its month or shortly before."""
    src = SOURCES[ex.source]
    if not src.dated or accepted.height < MAJORITY_MIN_ROWS:
        return
    lo, hi = month_start(add_months(ex.month, -2)), month_end(ex.month)
    d = accepted[src.date_column]
    inside = int(((d >= lo) & (d <= hi)).sum())
    if inside / accepted.height < MAJORITY_SHARE:
        raise BatchProblem(
            "extract_month_matches_folder",
            f"{ex.source}: file {ex.file_name} sits in folder {ex.month} but only {inside} of "
            f"{accepted.height} records in column '{src.date_column}' are dated in or just "
            "before that month; check that it was landed in the right folder.",
            column=src.date_column,
        )
