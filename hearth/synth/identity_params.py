"""The parameters of the partnership's real identifiers (issue 25; `hearth synth --identifiers
agency`): which keys each agency holds, and the errors with which it records a person's name,
date of birth and address. Every rate is per record unless said otherwise;
docs/synthetic-world.md has them as a table. Kept apart from params.py (the world's dynamics),
which these do not change: the same seed gives the same households, people, events and truth
under either kind of identifiers."""

from __future__ import annotations

from dataclasses import dataclass, fields

# --- who each person is (drawn once per person) ------------------------------------------------
SHARE_HOUSEHOLD_SURNAME = 0.75  # a household member takes the household's surname
TWIN_SHARE = 0.3  # of two children of one household born in one year: made twins (same date)
NAMESAKE_RATE = 0.01  # of people: given the forename and surname of someone in the same street
SURNAME_CHANGE_RATE = 0.06  # of adult women: their surname changed (marriage); agencies lag
POSTCODE_UNIT_HOUSEHOLDS = 15  # households to a postcode unit (a street or part of one)


@dataclass(frozen=True)
class Recording:
    """How an agency records who a record is about (rates per record)."""

    nhs_share: float  # records carrying the person's NHS number
    uprn_share: float  # records carrying the household's UPRN (the address was matched)
    names: float  # 1: records a name and date of birth at all (0: the address only)
    typo: float  # one letter of the forename or surname mistyped (changed, dropped, swapped)
    nickname: float  # the forename recorded as a known short form (Bob for Robert)
    swap_names: float  # forename and surname swapped (times names.SWAP_FACTOR of the group)
    swap_day_month: float  # day and month of birth swapped (where the day is 12 or less)
    dob_typo: float  # the day of birth off by one
    missing_forename: float
    missing_dob: float
    missing_postcode: float
    old_address: float  # the address before the person's last move (or an earlier one)
    old_surname: float  # of people whose surname changed: the previous surname recorded
    postcode_typo: float  # a letter of the inward code mistyped


_FIELDS = tuple(f.name for f in fields(Recording))
# One row per agency, in _FIELDS order (docs/synthetic-world.md shows them as a table).
_TABLE = {
    # police: name, date of birth and address as heard; no NHS number; half the addresses matched
    "police": (0.0, 0.5, 1, 0.06, 0.10, 0.02, 0.03, 0.01, 0.03, 0.05, 0.04, 0.06, 0.4, 0.02),
    # fire: the address of the incident, no names; a fifth of the addresses not matched to a UPRN
    "fire": (0.0, 0.8, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.02),
    # children's and adults' social care: NHS numbers for some cases only
    "social_care": (0.6, 1.0, 1, 0.03, 0.05, 0.01, 0.01, 0.005, 0.01, 0.02, 0.02, 0.03, 0.3, 0.01),
    # health: NHS numbers on every record (the GP record), demographics kept up to date
    "health": (1.0, 0.0, 1, 0.01, 0.02, 0.005, 0.005, 0.002, 0.005, 0.005, 0.01, 0.02, 0.1, 0.005),
    # the council's person register: the reference, current names and addresses, few errors
    "people": (1.0, 1.0, 1, 0.005, 0.0, 0.0, 0.002, 0.001, 0.0, 0.002, 0.0, 0.0, 0.0, 0.0),
}
RECORDING: dict[str, Recording] = {
    source: Recording(**dict(zip(_FIELDS, (float(v) for v in row), strict=True)))
    for source, row in _TABLE.items()
}

# Raw extracts' columns (what the agency's system exports), beside the source's own columns.
RAW_TOKENS = {
    "forename": "forename",
    "surname": "surname",
    "date_of_birth": "date_of_birth",
    "postcode": "postcode",
    "address_line": "address",
}
