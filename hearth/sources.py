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
    columns: tuple[str, ...]  # the contract's, in order: the base columns, then any tokens
    date_column: str
    tokens: tuple[str, ...] = ()  # optional keyed-hash token columns (issue 25), last in columns

    @property
    def base_columns(self) -> tuple[str, ...]:
        """The columns an extract without tokens has (a world with shared keys sends these)."""
        return tuple(c for c in self.columns if c not in self.tokens)


# Keyed-hash tokens of standardised quasi-identifiers (names, date of birth, postcode, premise),
# made at the agency by `hearth pseudonymise --tokens` (hearth/privacy/tokens.py) and read only
# by the linkage stage. Optional: an extract may leave them out altogether.
PERSON_TOKENS = (
    "given_token",
    "given_phonetic_token",
    "given_bigram_tokens",
    "family_token",
    "family_phonetic_token",
    "family_bigram_tokens",
    "birth_token",
    "birth_year_token",
    "birth_month_token",
    "birth_day_token",
)
ADDRESS_TOKENS = ("pc_unit_token", "pc_sector_token", "pc_district_token", "premise_token")
TOKEN_VERSION_COLUMN = "token_version"
ALL_TOKENS = (*PERSON_TOKENS, *ADDRESS_TOKENS, TOKEN_VERSION_COLUMN)
ADDRESS_ONLY_TOKENS = (*ADDRESS_TOKENS, TOKEN_VERSION_COLUMN)


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
                *ALL_TOKENS,
            ),
            "effective_date",
            tokens=ALL_TOKENS,
        ),
        Source(
            "social_care",
            "event",
            "csv",
            (
                "record_id",
                "person_pid",
                "household_pid",
                "event_date",
                "service",
                "event_type",
                *ALL_TOKENS,
            ),
            "event_date",
            tokens=ALL_TOKENS,
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
                *ALL_TOKENS,
            ),
            "event_date",
            tokens=ALL_TOKENS,
        ),
        Source(
            "fire",
            "event",
            "csv",
            (
                "record_id",
                "household_pid",
                "event_date",
                "event_type",
                "cause",
                *ADDRESS_ONLY_TOKENS,
            ),
            "event_date",
            tokens=ADDRESS_ONLY_TOKENS,
        ),
        Source(
            "police",
            "event",
            "csv",
            (
                "record_id",
                "person_pid",
                "household_pid",
                "event_date",
                "event_type",
                "risk_level",
                *ALL_TOKENS,
            ),
            "event_date",
            tokens=ALL_TOKENS,
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


def reference_file_name(name: str) -> str:
    """The file name of a reference file in `landing/reference/`, e.g. `areas.csv`."""
    return f"{name}.{REFERENCES[name].file_format}"


def landing_file_name(source: str, month: str) -> str:
    """The file name an agency uses for one month's extract, e.g. `health_2025-03.parquet`."""
    return f"{source}_{month}.{SOURCES[source].file_format}"
