"""What a data contract says, as Hearth uses it: a small frozen `Contract` of `Column`s and
conditional rules, which the ingest, quality and publish code read without knowing ODCS.
Loading and checking the contract files is `hearth/quality/contracts.py`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Who may see a column (each column's customProperties `roles`): the commissioner and every
# agency, as the contracts declare them (hearth/sources.py); DuckDB types, as the raw tables.
from hearth.sources import DUCKDB_TYPES, ROLES


class ContractError(ValueError):
    """A contract file is missing, malformed, or disagrees with hearth/sources.py."""


@dataclass(frozen=True)
class Column:
    name: str
    logical_type: str  # string | integer | date | number
    required: bool
    unique: bool
    allowed_values: tuple[str, ...] | None
    minimum: int | float | None
    maximum: int | float | None
    pattern: str | None
    description: str
    roles: tuple[str, ...]
    classification: str | None = None


# The kinds of rule between columns a contract's table-level `quality` may declare, each by its
# customProperties: `required_when` (requiredColumn, whenColumn, whenIn: the column must be present
# on rows whose whenColumn is one of whenIn), `only_when` (absentColumn, unlessColumn, unlessIn:
# the column must be empty unless unlessColumn is one of unlessIn) and `not_before` (laterColumn,
# earlierColumn: the later date must not be before the earlier one where both are present).
RULE_KINDS = ("required_when", "only_when", "not_before")


@dataclass(frozen=True)
class ConditionalRule:
    """A rule between two columns of a row (see RULE_KINDS). For `required_when`, `column` must
    not be null on rows where `required_when_column` is one of `in_values`; for `only_when`,
    `column` must be null unless it is; for `not_before`, `column` (a date) must not be before
    `required_when_column` (`in_values` is empty)."""

    column: str
    required_when_column: str
    in_values: tuple[str, ...]
    description: str
    kind: str = "required_when"

    @property
    def name(self) -> str:
        verb = {"required_when": "required_when", "only_when": "only_when"}.get(self.kind)
        return f"{self.column}_{verb or self.kind}_{self.required_when_column}"

    @property
    def when_column(self) -> str:
        """Short alias of `required_when_column`."""
        return self.required_when_column

    def violation_sql(self) -> str:
        """SQL predicate that is true for a row breaking the rule."""
        col, other = _q(self.column), _q(self.required_when_column)
        if self.kind == "not_before":
            return f"{col} < {other}"
        if self.kind == "only_when":
            return f"{other} NOT IN ({_values(self.in_values)}) AND {col} IS NOT NULL"
        return f"{other} IN ({_values(self.in_values)}) AND {col} IS NULL"


@dataclass(frozen=True)
class RowRule:
    """One row-level rule, as a SQL predicate that is true for a row that breaks it."""

    name: str  # e.g. "required:person_pid", "allowed_values:event_type"
    column: str
    violation_sql: str
    description: str


@dataclass(frozen=True)
class Contract:
    source: str
    file_format: str
    columns: tuple[Column, ...]
    conditional_rules: tuple[ConditionalRule, ...]
    purpose: str
    lawful_basis: tuple[str, ...]
    owner: str
    retention: str  # e.g. "6 years"
    id: str = ""
    version: str = ""
    path: Path | None = None
    latency_days: int | None = None  # slaProperties latency: days after month end a file is due
    # ODCS primaryKey columns in primaryKeyPosition order: at most one row per key in a file
    key: tuple[str, ...] = ()
    # slaProperties retention as months (6 y = 72) and the column its clock reads (`element`,
    # e.g. event_date): applied at each run by hearth/quality/retention.py
    retention_months: int | None = None
    retention_element: str | None = None

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"the {self.source} contract has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def duckdb_type(self, col: str | Column) -> str:
        """DuckDB type for a column: VARCHAR, BIGINT, DATE or DOUBLE."""
        column = col if isinstance(col, Column) else self.column(col)
        return DUCKDB_TYPES[column.logical_type]

    def duckdb_columns(self) -> dict[str, str]:
        """Column name to DuckDB type, in contract order (e.g. for `read_csv(columns=...)`)."""
        return {c.name: self.duckdb_type(c) for c in self.columns}

    def visible_to(self, role: str) -> tuple[str, ...]:
        """The columns that `role` may see."""
        if role not in ROLES:
            raise KeyError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        return tuple(c.name for c in self.columns if role in c.roles)

    def row_rules(self) -> tuple[RowRule, ...]:
        """Row-level rules as SQL predicates, for quarantining rows (uniqueness not included)."""
        rules: list[RowRule] = []
        for c in self.columns:
            q = _q(c.name)
            if c.required:
                rules.append(
                    RowRule(f"required:{c.name}", c.name, f"{q} IS NULL", f"{c.name} is missing")
                )
            if c.allowed_values is not None:
                rules.append(
                    RowRule(
                        f"allowed_values:{c.name}",
                        c.name,
                        f"{q} IS NOT NULL AND {q} NOT IN ({_values(c.allowed_values)})",
                        f"{c.name} is not one of the allowed codes",
                    )
                )
            if c.minimum is not None or c.maximum is not None:
                bounds = []
                if c.minimum is not None:
                    bounds.append(f"{q} < {c.minimum}")
                if c.maximum is not None:
                    bounds.append(f"{q} > {c.maximum}")
                rules.append(
                    RowRule(
                        f"range:{c.name}",
                        c.name,
                        f"{q} IS NOT NULL AND ({' OR '.join(bounds)})",
                        f"{c.name} is outside {c.minimum}..{c.maximum}",
                    )
                )
            if c.pattern is not None:
                rules.append(
                    RowRule(
                        f"pattern:{c.name}",
                        c.name,
                        f"{q} IS NOT NULL AND NOT regexp_matches({q}, {_lit(c.pattern)})",
                        f"{c.name} does not match {c.pattern}",
                    )
                )
        for r in self.conditional_rules:
            rules.append(
                RowRule(f"{r.kind}:{r.column}", r.column, r.violation_sql(), r.description)
            )
        return tuple(rules)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _values(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(_lit(v) for v in values)


def conditional_rule_query(rule: ConditionalRule) -> str:
    """The SQL a contract's conditional rule must carry (`${table}` is the ODCS placeholder)."""
    col, other = rule.column, rule.required_when_column
    if rule.kind == "not_before":
        return f"SELECT COUNT(*) FROM ${{table}} WHERE {col} < {other}"
    if rule.kind == "only_when":
        unless = f"{other} NOT IN ({_values(rule.in_values)})"
        return f"SELECT COUNT(*) FROM ${{table}} WHERE {unless} AND {col} IS NOT NULL"
    when = f"{other} IN ({_values(rule.in_values)})"
    return f"SELECT COUNT(*) FROM ${{table}} WHERE {when} AND {col} IS NULL"
