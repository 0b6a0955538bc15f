"""How a source's contract is read into a `Source` (hearth/sources.py holds the sources read).

A plain YAML reader of `data_contracts/<source>.yaml` (this is a core module: the full ODCS
checks are `hearth/quality/contracts.py`'s): what Hearth needs of a source is declared there,
and anything missing or contradictory is a `SourceError` naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A name that may become a DuckDB identifier (a table or column): lower case, digits and `_`.
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# intervention: what the partnership did after a list (issue 26): landed, checked and kept like
# an event, keyed by its household, never linked into features or a crisis.
KINDS = ("register", "event", "intervention")
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
class VolumeRule:
    """How many rows a month of the source may have (customProperties volumeExpectation; judged
    by hearth/ingest/volume.py). The defaults are every source's rule unless its contract says
    otherwise: within 3 times the previous accepted month, judged once that month had 50 rows."""

    tolerance: float = 3.0  # times above, or its inverse below, a baseline (the officer may
    # raise it for one run: run_settings volume_tolerance)
    min_rows: int = 50  # a baseline of fewer rows judges nothing (too few to tell)
    baseline_months: int = 1  # the median of this many latest accepted months is a baseline
    ramp_up_months: int = 0  # the source's first months: never a baseline
    cycle_months: int = 0  # a month also matches the same month this many months before
    reason: str = ""  # the contract's words for a rule other than the default


# volumeExpectation's keys, as the contract writes them.
VOLUME_KEYS = {
    "tolerance": "tolerance",
    "minimumRows": "min_rows",
    "baselineMonths": "baseline_months",
    "rampUpMonths": "ramp_up_months",
    "cycleMonths": "cycle_months",
    "reason": "reason",
}


def volume_rule(value: Any, kind: str, fail) -> VolumeRule:
    """A contract's volumeExpectation, each key checked; absent keys keep the default. A
    register's first month is its full baseline snapshot, not a month of changes: its ramp-up."""
    default = VolumeRule(ramp_up_months=1 if kind == "register" else 0)
    if value is None:
        return default
    if not isinstance(value, dict) or not set(value) <= set(VOLUME_KEYS):
        raise fail(f"customProperties volumeExpectation takes only {', '.join(VOLUME_KEYS)}.")
    given = {VOLUME_KEYS[k]: v for k, v in value.items()}
    rule = VolumeRule(**{**default.__dict__, **given})
    whole = (rule.min_rows, rule.baseline_months, rule.ramp_up_months, rule.cycle_months)
    if (
        isinstance(rule.tolerance, bool)
        or not isinstance(rule.tolerance, int | float)
        or rule.tolerance <= 1
        or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in whole)
        or rule.baseline_months < 1
    ):
        raise fail(
            "customProperties volumeExpectation: tolerance is a number above 1; minimumRows, "
            "rampUpMonths and cycleMonths whole numbers of 0 or more; baselineMonths 1 or more."
        )
    if given.keys() - {"reason"} and not str(rule.reason).strip():
        raise fail("customProperties volumeExpectation: say why in its reason.")
    return rule


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # "register" (baseline then monthly changes), "event", "intervention" or "reference"
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
    starts_when_sent: bool = False  # no extract yet stops no run (hearth/ingest/freshness.py)
    agency_column: str | None = None  # its codes are the agencies (customProperties agencyCode)
    volume: VolumeRule = field(default_factory=VolumeRule)  # customProperties volumeExpectation

    @property
    def dated(self) -> bool:
        """Each row dated by its date column (retention counts from it), not a register's row."""
        return self.kind in ("event", "intervention")

    @property
    def base_columns(self) -> tuple[str, ...]:
        """The columns an extract without tokens has (a world with shared keys sends these)."""
        return tuple(c for c in self.columns if c not in self.tokens)


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
    agency_columns: list[str] = []
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
        if col_custom.get("agencyCode"):
            agency_columns.append(p["name"])
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
    elif kind == "intervention":
        if parts["kind"] or crisis:
            raise fail(
                "an intervention source is never a feature or a crisis: no eventCode or "
                "crisisEvents."
            )
        if links.get("household") is None:
            raise fail("an intervention source marks its household key column (linkKey).")
    elif parts["kind"] or links or crisis:
        raise fail("only an event source declares eventCode, linkKey or crisisEvents.")
    if len(agency_columns) > 1:
        raise fail("at most one column is marked agencyCode.")
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
        starts_when_sent=bool(custom.get("startsWhenSent")),
        agency_column=agency_columns[0] if agency_columns else None,
        volume=volume_rule(custom.get("volumeExpectation"), kind, fail),
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
