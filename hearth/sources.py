"""The sources of the Hearth data world, read from their data contracts.

A source is its contract (`data_contracts/<source>.yaml`): its name, kind, file format, columns,
date column, keys, allowed codes, the agency that sends it, how its events are coded and which
of them are crises are all declared there, and everything here is read from it. Adding a source
is adding its contract; no Python or SQL names one.

The contracts are read once, on first use, with a plain YAML reader (this is a core module: the
full ODCS checks are `hearth/quality/contracts.py`'s). `SOURCES`, `CODES`, `EVENT_SOURCES`,
`REGISTER_SOURCES`, `AGENCIES`, `ROLES`, `REFERENCES` and `REFERENCE_CODES` keep the names other
code imports: the mappings load when first read, the tuples when first imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from hearth.settings import project_path
from hearth.source_contract import (  # noqa: F401 (the names others import from here)
    COMMISSIONER,
    DUCKDB_TYPES,
    EVENT_CODE_PARTS,
    FILE_FORMATS,
    KINDS,
    LINK_KEYS,
    NAME,
    REFERENCE_FOLDER,
    Source,
    SourceError,
    _read,
)


def quote(name: str | None, as_text: bool = False) -> str:
    """A contract's name for SQL text, the one way a name enters a template
    (`hearth.warehouse.source_sql`; DuckDB cannot bind a table or column): `"name"` as an
    identifier, `'name'` as text (where DuckDB takes no parameter, e.g. in a view), NULL for
    none. Only a plain lower-case name is accepted, so neither quote can be closed early."""
    if name is None:
        return "NULL"
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SourceError(f"{name!r} is not a name Hearth uses in SQL (lower case, digits, _).")
    return f"'{name}'" if as_text else f'"{name}"'


def sql_names(source: Source) -> dict[str, str]:
    """The placeholders of the per-source SQL templates, each quoted from the contract."""
    names = lambda cols: ", ".join(quote(c) for c in cols)  # noqa: E731
    return {
        **register_names(),
        "source_text": quote(source.name, as_text=True),
        "source_table": quote(source.name),
        "raw_table": quote(f"raw_{source.name}"),
        "column_definitions": ", ".join(
            f"{quote(c)} {DUCKDB_TYPES[source.types[c]]}" for c in source.columns
        ),
        "date_column": quote(source.date_column or None),
        "record_key": quote(source.key[0] if len(source.key) == 1 else None),
        # a register's subject: the pseudonym column of what it is the register of
        "register_key": quote(f"{source.register_of}_pid" if source.register_of else None),
        "person_key": quote(source.person_key),
        "household_key": quote(source.household_key),
        "kind_column": quote(source.code_kind),
        "qualifier_columns": names(source.code_qualifiers),
        "detail_columns": names(source.code_details),
    }


@cache
def sources() -> dict[str, Source]:
    """Every source, in the order its contract gives (`listOrder`, then name)."""
    root = project_path("data_contracts")
    read = [_read(p, KINDS) for p in sorted(root.glob("*.yaml"))]
    read.sort(key=lambda s: (s.order, s.name))
    check_agency_columns(read, root)
    return {s.name: s for s in read}


def check_agency_columns(read: list[Source], root: Path) -> None:
    """A column marked agencyCode (the interventions' `agency`) holds only agencies the event
    sources declare. An agency whose source is added by its contract alone makes offers once
    the interventions contract lists it too (its offers are shared only when that is agreed)."""
    agencies = tuple(dict.fromkeys(s.agency for s in read if s.agency))
    for s in read:
        codes = s.codes.get(s.agency_column, ()) if s.agency_column else ()
        unknown = [c for c in codes if c not in agencies]
        if s.agency_column and (unknown or not codes):
            raise SourceError(
                f"{root / (s.name + '.yaml')}: column {s.agency_column!r} is marked agencyCode, "
                f"so each of its codes must be an agency an event source declares "
                f"({', '.join(agencies)}); {len(unknown)} code(s) are not."
            )


@cache
def references() -> dict[str, Source]:
    """The reference files: not a partner's monthly extract but a lookup that changes rarely,
    landed once as `landing/reference/<file>` (no month folders), contracts in
    `data_contracts/reference/`."""
    root = project_path("data_contracts") / REFERENCE_FOLDER
    return {p.stem: _read(p, ("reference",)) for p in sorted(root.glob("*.yaml"))}


@cache
def register_names() -> dict[str, str]:
    """The placeholders `{household_register}` and `{person_register}` of the linkage and
    feature SQL: the raw tables of the registers whose contracts say whose register they are
    (registerOf). Each must be declared by exactly one register."""
    names = {}
    for of in LINK_KEYS:
        found = [s for s in sources().values() if s.register_of == of]
        if len(found) != 1:
            raise SourceError(
                f"data_contracts/: exactly one register must declare registerOf: {of} "
                f"(found {len(found)})."
            )
        names[f"{of}_register"] = quote(f"raw_{found[0].name}")
    return names


def agencies() -> tuple[str, ...]:
    """The agencies, each once, in source order: whoever sends an event source. Each is a role."""
    return tuple(dict.fromkeys(s.agency for s in sources().values() if s.agency))


class _Lazy(Mapping):
    """A read-only mapping filled from the contracts the first time it is read."""

    def __init__(self, load) -> None:
        self._load = load

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self) -> Iterator:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return repr(self._load())


def _codes() -> dict[tuple[str, str], tuple[str, ...]]:
    return {(s.name, c): v for s in sources().values() for c, v in s.codes.items()}


def _reference_codes() -> dict[tuple[str, str], tuple[str, ...]]:
    return {(s.name, c): v for s in references().values() for c, v in s.codes.items()}


SOURCES: Mapping[str, Source] = _Lazy(sources)
REFERENCES: Mapping[str, Source] = _Lazy(references)
# Allowed codes per (source, column). A null is allowed only where the contract says so.
CODES: Mapping[tuple[str, str], tuple[str, ...]] = _Lazy(_codes)
REFERENCE_CODES: Mapping[tuple[str, str], tuple[str, ...]] = _Lazy(_reference_codes)


def __getattr__(name: str) -> tuple[str, ...]:
    """The tuples of names, read from the contracts when first imported."""
    if name == "EVENT_SOURCES":
        return tuple(n for n, s in sources().items() if s.kind == "event")
    if name == "INTERVENTION_SOURCES":
        return tuple(n for n, s in sources().items() if s.kind == "intervention")
    if name == "REGISTER_SOURCES":
        return tuple(n for n, s in sources().items() if s.kind == "register")
    if name == "AGENCIES":
        return agencies()
    if name == "ROLES":
        return (COMMISSIONER, *agencies())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def crisis_pattern() -> str:
    """One regular expression matching every event code that is a crisis (DESIGN.md, labels):
    the contracts' crisisEvents, each `<source>:<code>` with `*` for any one part, and any
    detail after it (`EMERGENCY_ADMISSION` covers `EMERGENCY_ADMISSION:FALL`)."""
    alternatives = []
    for s in sources().values():
        for pattern in s.crisis_events:
            parts = [s.name, *pattern.split(":")]
            body = ":".join("[^:]+" if p == "*" else re.escape(p) for p in parts)
            if len(parts) == len(s.code_qualifiers) + 2:  # no detail given: any detail, or none
                body += "(:[^:]+)?"
            alternatives.append(body)
    return "|".join(alternatives) if alternatives else "(?!)"


def is_crisis_code(code: str) -> bool:
    """Whether a linked event code (`fire:DWELLING_FIRE:COOKING`) is a crisis."""
    return re.fullmatch(crisis_pattern(), code) is not None


# How an event's code is written (`sql/linkage/events.sql`): `<source>:<part>[:<part>]`, each
# part the value of one of the source's columns, in this order. A part with several columns is
# the value of whichever one the row has (health's detail is its category, condition or smoking
# status, by event type); `event_code_parts` tells them apart by their allowed codes. Who may
# read a code follows from who may read each of these columns (`hearth/features/catalogue.py`).
# Read from the contracts (eventCode), e.g. health's is (("event_type",), ("category", ...)).
def _code_grammar(s: Source) -> tuple[tuple[str, ...], ...]:
    return (
        *((q,) for q in s.code_qualifiers),
        (s.code_kind,),
        *((s.code_details,) * bool(s.code_details)),
    )


def event_code_parts(code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An event code's source and its parts as (column, value), e.g. `health:LTC_REGISTER:COPD`
    is ("health", (("event_type", "LTC_REGISTER"), ("condition", "COPD"))). A code that is not
    written the way `sql/linkage/events.sql` writes codes raises ValueError naming it."""
    source, *values = code.split(":")
    events = {n: _code_grammar(s) for n, s in sources().items() if s.kind == "event"}
    grammar = events.get(source)
    if grammar is None or not values or len(values) > len(grammar):
        raise ValueError(
            f"{code!r} is not an event code: <source>:<part>[:<part>] with a source of "
            f"{', '.join(events)}"
        )
    parts = []
    for value, columns in zip(values, grammar, strict=False):
        holding = [c for c in columns if value in CODES[(source, c)]]
        if len(holding) != 1:
            raise ValueError(
                f"{code!r}: {value!r} is not an allowed code of {' or '.join(columns)} in the "
                f"{source} contract"
            )
        parts.append((holding[0], value))
    return source, tuple(parts)


def reference_file_name(name: str) -> str:
    """The file name of a reference file in `landing/reference/`, e.g. `areas.csv`."""
    return f"{name}.{REFERENCES[name].file_format}"


def landing_file_name(source: str, month: str) -> str:
    """The file name an agency uses for one month's extract, e.g. `health_2025-03.parquet`."""
    return f"{source}_{month}.{SOURCES[source].file_format}"
