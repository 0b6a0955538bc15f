"""The six sources of the Hearth data world: file format, keys and codes.

This is the interface every stage agrees on. The data contracts in `data_contracts/` carry the
full column definitions (types, descriptions, roles) and must agree with what is listed here;
`tests/unit/quality/test_contracts.py` checks that they do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # "register" (baseline then monthly changes) or "event" (monthly new records)
    file_format: str  # "csv" or "parquet", as the agency sends it
    columns: tuple[str, ...]
    date_column: str


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "addresses",
            "register",
            "parquet",
            (
                "household_pid",
                "la_code",
                "ward_code",
                "lsoa_code",
                "imd_decile",
                "property_type",
                "tenure",
                "updated_date",
            ),
            "updated_date",
        ),
        Source(
            "people",
            "register",
            "parquet",
            (
                "person_pid",
                "household_pid",
                "birth_year",
                "sex",
                "ethnic_group",
                "status",
                "effective_date",
            ),
            "effective_date",
        ),
        Source(
            "social_care",
            "event",
            "csv",
            ("record_id", "person_pid", "household_pid", "event_date", "service", "event_type"),
            "event_date",
        ),
        Source(
            "health",
            "event",
            "parquet",
            (
                "record_id",
                "person_pid",
                "event_date",
                "event_type",
                "category",
                "condition",
                "smoking_status",
            ),
            "event_date",
        ),
        Source(
            "fire",
            "event",
            "csv",
            ("record_id", "household_pid", "event_date", "event_type", "cause"),
            "event_date",
        ),
        Source(
            "police",
            "event",
            "csv",
            ("record_id", "person_pid", "household_pid", "event_date", "event_type", "risk_level"),
            "event_date",
        ),
    )
}

# Reference files: not a partner's monthly extract but a lookup that changes rarely, landed once
# as `landing/reference/<file>` (no month folders) and read when the list is published. Each
# has its own contract in `data_contracts/reference/`.
REFERENCE_FOLDER = "reference"
REFERENCES: dict[str, Source] = {
    "areas": Source(
        "areas", "reference", "csv", ("area_code", "area_type", "area_name"), date_column=""
    ),
}

EVENT_SOURCES = tuple(n for n, s in SOURCES.items() if s.kind == "event")
REGISTER_SOURCES = tuple(n for n, s in SOURCES.items() if s.kind == "register")

# Allowed codes per (source, column). A null is allowed only where the contract says so.
CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("addresses", "property_type"): ("HOUSE", "FLAT", "BUNGALOW", "MAISONETTE", "OTHER"),
    ("addresses", "tenure"): ("OWNER_OCCUPIED", "PRIVATE_RENTED", "SOCIAL_RENTED", "OTHER"),
    ("people", "sex"): ("F", "M", "U"),
    ("people", "ethnic_group"): ("WHITE", "MIXED", "ASIAN", "BLACK", "OTHER", "NOT_STATED"),
    ("people", "status"): ("RESIDENT", "LEFT_AREA"),
    ("social_care", "service"): ("CHILDREN", "ADULTS"),
    ("social_care", "event_type"): (
        "CONTACT",
        "REFERRAL",
        "EARLY_HELP",
        "ASSESSMENT",
        "CIN_PLAN",
        "CP_PLAN",
        "LOOKED_AFTER",
        "CARE_PACKAGE",
        "SAFEGUARDING_CONCERN",
    ),
    ("health", "event_type"): (
        "AE_ATTENDANCE",
        "EMERGENCY_ADMISSION",
        "LTC_REGISTER",
        "SMOKING_STATUS",
        "MENTAL_HEALTH_CONTACT",
        "SUBSTANCE_MISUSE_CONTACT",
    ),
    ("health", "category"): ("RESPIRATORY", "FALL", "MENTAL_HEALTH", "SUBSTANCE", "OTHER"),
    ("health", "condition"): ("COPD", "ASTHMA", "DIABETES", "DEMENTIA", "FRAILTY"),
    ("health", "smoking_status"): ("CURRENT", "EX", "NEVER"),
    ("fire", "event_type"): (
        "DWELLING_FIRE",
        "FALSE_ALARM",
        "HOME_FIRE_SAFETY_VISIT",
        "SMOKE_ALARM_FITTED",
    ),
    ("fire", "cause"): ("SMOKING_MATERIALS", "COOKING", "ELECTRICAL", "CLUTTER", "OTHER"),
    ("police", "event_type"): ("DOMESTIC_ABUSE", "ASB", "MISSING_PERSON", "CONCERN_FOR_WELFARE"),
    ("police", "risk_level"): ("STANDARD", "MEDIUM", "HIGH"),
}
# Allowed codes of the reference files' columns, as CODES is for the sources.
REFERENCE_CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("areas", "area_type"): ("LA", "WARD", "LSOA"),
}

# What counts as a crisis (DESIGN.md, "labels"): (source, event_type, extra condition or None).
CRISIS_EVENTS: tuple[tuple[str, str, tuple[str, str] | None], ...] = (
    ("health", "EMERGENCY_ADMISSION", None),
    ("fire", "DWELLING_FIRE", None),
    ("police", "DOMESTIC_ABUSE", ("risk_level", "HIGH")),
    ("social_care", "CP_PLAN", None),
    ("social_care", "LOOKED_AFTER", None),
)


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
