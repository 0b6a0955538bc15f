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
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hearth.settings import project_path

# A name that may become a DuckDB identifier (a table or column): lower case, digits and `_`.
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
KINDS = ("register", "event")
FILE_FORMATS = ("csv", "parquet")
# The column property saying what part of an event's code a column gives (linked_events.event_code
# is `<source>:<qualifier>:...:<kind>[:<first detail present>]`, the catalogue's `codes`).
EVENT_CODE_PARTS = ("qualifier", "kind", "detail")
LINK_KEYS = ("person", "household")
# The folder of `landing/` (and `data_contracts/`) holding the reference files.
REFERENCE_FOLDER = "reference"
# The role that sees every household's results but no agency's detail; every other role is an
# agency, declared by its sources' contracts.
COMMISSIONER = "commissioner"


# The DuckDB type of each ODCS logicalType Hearth reads.
DUCKDB_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "date": "DATE", "number": "DOUBLE"}


class SourceError(ValueError):
    """A contract does not declare what Hearth needs of a source, in a sentence."""


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # "register" (baseline then monthly changes), "event" or "reference"
    file_format: str  # "csv" or "parquet", as the agency sends it
    columns: tuple[str, ...]
    date_column: str
    types: Mapping[str, str] = field(default_factory=dict)  # column: ODCS logicalType
    key: tuple[str, ...] = ()  # ODCS primaryKey columns, in primaryKeyPosition order
    agency: str | None = None  # the agency (and role) that sends it; None for the council's
    person_key: str | None = None  # event sources: the column holding the person pseudonym
    household_key: str | None = None  # ... and the household pseudonym
    code_qualifiers: tuple[str, ...] = ()  # event code parts before the kind
    code_kind: str | None = None  # the column holding the kind of event
    code_details: tuple[str, ...] = ()  # the first of these present ends the code
    crisis_events: tuple[str, ...] = ()  # event codes that are crises (see is_crisis_code)
    order: int = 0
    register_of: str | None = None  # a register: whose register it is (household or person)
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # keyed-hash tokens of quasi-identifiers (issue 25; hearth/privacy/tokens.py makes them):
    # optional columns marked `linkageToken: true`, last in `columns`, read only by linkage
    tokens: tuple[str, ...] = ()

    @property
    def base_columns(self) -> tuple[str, ...]:
        """The columns an extract without tokens has (a world with shared keys sends these)."""
        return tuple(c for c in self.columns if c not in self.tokens)


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


def _custom(items: list | None) -> dict[str, Any]:
    return {p.get("property"): p.get("value") for p in items or [] if isinstance(p, dict)}


def _read(path: Path, kind_expected: tuple[str, ...]) -> Source:
    def fail(problem: str) -> SourceError:
        return SourceError(f"{path}: {problem}")

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (safe)
    except yaml.YAMLError:
        raise fail("is not valid YAML.") from None
    tables = data.get("schema") if isinstance(data, dict) else None
    if not tables or len(tables) != 1 or tables[0].get("name") != path.stem:
        raise fail(f"must describe exactly one table, named {path.stem!r} like the file.")
    name, table, custom = path.stem, tables[0], _custom(data.get("customProperties"))
    if not NAME.fullmatch(name):
        raise fail(f"the source name {name!r} must be lower case letters, digits and _.")
    kind = custom.get("sourceKind")
    if kind not in kind_expected:
        raise fail(f"customProperties sourceKind must be one of {', '.join(kind_expected)}.")
    file_format = custom.get("fileFormat")
    if file_format not in FILE_FORMATS:
        raise fail(f"customProperties fileFormat must be one of {', '.join(FILE_FORMATS)}.")
    props = [p for p in table.get("properties") or [] if isinstance(p, dict)]
    columns = tuple(str(p.get("name")) for p in props)
    for c in columns:
        if not NAME.fullmatch(c):
            raise fail(f"column {c!r}: a column name must be lower case letters, digits and _.")
    types = {str(p.get("name")): p.get("logicalType") for p in props}
    for c, t in types.items():
        if t not in DUCKDB_TYPES:
            raise fail(f"column {c!r}: logicalType must be one of {', '.join(DUCKDB_TYPES)}.")
    date_column = custom.get("dateColumn") or ""
    if kind != "reference" and date_column not in columns:
        raise fail("customProperties dateColumn must name one of its columns.")
    keyed = sorted(
        (p for p in props if p.get("primaryKey")), key=lambda p: p.get("primaryKeyPosition") or 0
    )

    codes: dict[str, tuple[str, ...]] = {}
    parts: dict[str, list[str]] = {p: [] for p in EVENT_CODE_PARTS}
    links: dict[str, str] = {}
    tokens = tuple(
        str(p["name"]) for p in props if _custom(p.get("customProperties")).get("linkageToken")
    )
    if tokens and columns[-len(tokens) :] != tokens:
        raise fail("columns marked linkageToken must come last, after every other column.")
    for p in props:
        for q in p.get("quality") or []:
            valid = (q.get("arguments") or {}).get("validValues")
            if q.get("metric") == "invalidValues" and valid:
                codes[p["name"]] = tuple(str(v) for v in valid)
        col_custom = _custom(p.get("customProperties"))
        part = col_custom.get("eventCode")
        if part is not None:
            if part not in EVENT_CODE_PARTS:
                raise fail(f"column {p['name']!r}: eventCode must be one of {EVENT_CODE_PARTS}.")
            parts[part].append(p["name"])
        link = col_custom.get("linkKey")
        if link is not None:
            if link not in LINK_KEYS or link in links:
                raise fail(f"column {p['name']!r}: linkKey must be one of {LINK_KEYS}, once each.")
            links[link] = p["name"]

    agency = custom.get("agency")
    crisis = custom.get("crisisEvents") or []
    if kind == "event":
        if len(parts["kind"]) != 1:
            raise fail("an event source marks exactly one column with eventCode: kind.")
        if not links:
            raise fail("an event source marks its person or household key column (linkKey).")
        if agency is None or not NAME.fullmatch(str(agency)) or agency == COMMISSIONER:
            raise fail("an event source names the agency that sends it (customProperties agency).")
        for part_name in (*parts["qualifier"], *parts["kind"], *parts["detail"]):
            if part_name not in codes:
                raise fail(f"column {part_name!r} is part of the event code but has no codes.")
        if not isinstance(crisis, list):
            raise fail("customProperties crisisEvents must be a list of event codes.")
    elif parts["kind"] or links or crisis:
        raise fail("only an event source declares eventCode, linkKey or crisisEvents.")
    register_of = custom.get("registerOf")
    if register_of is not None and (kind != "register" or register_of not in LINK_KEYS):
        raise fail(f"customProperties registerOf is for a register, one of {LINK_KEYS}.")
    source = Source(
        name=name,
        kind=kind,
        file_format=file_format,
        columns=columns,
        date_column=date_column,
        types=types,
        key=tuple(str(p["name"]) for p in keyed),
        agency=agency,
        person_key=links.get("person"),
        household_key=links.get("household"),
        code_qualifiers=tuple(parts["qualifier"]),
        code_kind=parts["kind"][0] if parts["kind"] else None,
        code_details=tuple(parts["detail"]),
        crisis_events=tuple(str(c) for c in crisis),
        order=int(custom.get("listOrder") or 0),
        register_of=custom.get("registerOf"),
        codes=codes,
        tokens=tokens,
    )
    for pattern in source.crisis_events:
        _check_crisis(source, pattern, fail)
    return source


def _check_crisis(source: Source, pattern: str, fail) -> None:
    """A crisis event is written as the code after `<source>:`, `*` for any code of a part; it
    must name codes the contract allows, in the order the event code has them."""
    order = (*source.code_qualifiers, source.code_kind, *source.code_details)
    bits = pattern.split(":")
    if len(bits) < len(source.code_qualifiers) + 1 or len(bits) > len(source.code_qualifiers) + 2:
        raise fail(f"crisisEvents {pattern!r} does not have the parts of this source's event code.")
    for i, bit in enumerate(bits):
        columns = order[i : i + 1] if i <= len(source.code_qualifiers) else source.code_details
        if bit != "*" and not any(bit in source.codes.get(c, ()) for c in columns):
            raise fail(f"crisisEvents {pattern!r}: {bit!r} is not a code of {', '.join(columns)}.")


@cache
def sources() -> dict[str, Source]:
    """Every source, in the order its contract gives (`listOrder`, then name)."""
    root = project_path("data_contracts")
    read = [_read(p, KINDS) for p in sorted(root.glob("*.yaml"))]
    read.sort(key=lambda s: (s.order, s.name))
    return {s.name: s for s in read}


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
EVENT_CODE_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "social_care": (("service",), ("event_type",)),
    "health": (("event_type",), ("category", "condition", "smoking_status")),
    "fire": (("event_type",), ("cause",)),
    "police": (("event_type",), ("risk_level",)),
}


def event_code_parts(code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An event code's source and its parts as (column, value), e.g. `health:LTC_REGISTER:COPD`
    is ("health", (("event_type", "LTC_REGISTER"), ("condition", "COPD"))). A code that is not
    written the way `sql/linkage/events.sql` writes codes raises ValueError naming it."""
    source, *values = code.split(":")
    grammar = EVENT_CODE_COLUMNS.get(source)
    if grammar is None or not values or len(values) > len(grammar):
        raise ValueError(
            f"{code!r} is not an event code: <source>:<part>[:<part>] with a source of "
            f"{', '.join(EVENT_CODE_COLUMNS)}"
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
