"""A corpus of identifier forms, and where to put them: every value here, landed in any column
of an extract, must end withheld — nowhere in the home but the landing it came in.

The forms are what careless exports and pasted free text really hold: NHS numbers in every
spacing, UK and international phone numbers, postcodes in any case and spacing, e-mail
addresses, names in many casings (`O'BRIEN, MARY`, `jane doe`), dates of birth in many formats,
UPRN-like digit runs, National Insurance numbers, hospital numbers, and free text carrying them.
None of them has the shape of the columns it is put in (a code of the list, a YYYY-MM-DD date,
a bounded whole number, a 64-hex pseudonym, an agency's record id): the allowlist
(`hearth/ingest/shapes.py`) must withhold every one, whether or not the identifier guard
recognises it.

`forms_of(value)` gives the strings that must not appear anywhere: the value, its lower-case
form and, for a value with seven digits or more, its digits alone (a store that dropped the
spaces of `943 476 5919` still holds the NHS number)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (kind, value). Made-up values: the NHS numbers pass the modulus-11 check, the phone numbers
# are Ofcom's drama ranges, the postcodes are well-known non-residential ones.
CORPUS: tuple[tuple[str, str], ...] = (
    # NHS numbers, in the spacings exports produce
    ("nhs_number", "9434765919"),
    ("nhs_number", "943 476 5919"),
    ("nhs_number", "943-476-5919"),
    ("nhs_number", "943.476.5919"),
    ("nhs_number", "9434 765 919"),
    ("nhs_number", "94 34 76 59 19"),
    ("nhs_number", "NHS 401 023 2137"),
    ("nhs_number", "nhs no: 4010232137"),
    ("nhs_number", "4010232137.0"),
    ("nhs_number", " 401 023 2137 "),
    # phone numbers, UK and international
    ("phone", "020 7946 0958"),
    ("phone", "(020) 7946 0958"),
    ("phone", "02079460958"),
    ("phone", "+44 20 7946 0958"),
    ("phone", "+44-20-7946-0958"),
    ("phone", "+44 (0)20 7946 0958"),
    ("phone", "0044 20 7946 0958"),
    ("phone", "07700 900123"),
    ("phone", "07700.900.123"),
    ("phone", "07700900123"),
    ("phone", "+447700900123"),
    ("phone", "tel 0113 496 0000"),
    ("phone", "0161-496-0000"),
    # postcodes, any case and spacing
    ("postcode", "SW1A 1AA"),
    ("postcode", "sw1a 1aa"),
    ("postcode", "SW1A1AA"),
    ("postcode", "M1 1AE"),
    ("postcode", "B33 8TH"),
    ("postcode", "CR2 6XH"),
    ("postcode", "DN55 1PT"),
    ("postcode", "ec1a1bb"),
    # e-mail addresses
    ("email", "jane.doe@example.org"),
    ("email", "JANE.DOE@EXAMPLE.ORG"),
    ("email", "mary+care@mail.example.co.uk"),
    ("email", "o'brien.m@example.com"),
    # names, in many casings and orders
    ("name", "Mrs Jane Doe"),
    ("name", "jane doe"),
    ("name", "JANE DOE"),
    ("name", "O'BRIEN, MARY"),
    ("name", "Mary Smith"),
    ("name", "Doe, Jane"),
    ("name", "Dr. A. Patel"),
    ("name", "mary-jane o'neill"),
    ("name", "SMITH"),
    ("name", "Featherstonehaugh"),
    ("name", "Zoë Brontë"),
    ("name", "Siobhán Ní Bhriain"),
    ("name", "Mr J SMITH"),
    ("name", "li wei"),
    ("name", "McDONALD"),
    ("name", "KOWALSKA_ANNA"),
    # dates of birth, in many formats (never YYYY-MM-DD, the date columns' own form)
    ("date_of_birth", "DOB 14 May 1980"),
    ("date_of_birth", "14/05/1980"),
    ("date_of_birth", "14-05-1980"),
    ("date_of_birth", "14.05.1980"),
    ("date_of_birth", "1980/05/14"),
    ("date_of_birth", "19800514"),
    ("date_of_birth", "14051980"),
    ("date_of_birth", "14 May 1980"),
    ("date_of_birth", "May 14, 1980"),
    ("date_of_birth", "14-MAY-80"),
    ("date_of_birth", "5/14/80"),
    ("date_of_birth", "born 1980-05-14"),
    ("date_of_birth", "1980-05-14T00:00:00"),
    # UPRN-like and other reference numbers
    ("uprn", "100023336956"),
    ("uprn", "10002333695"),
    ("uprn", "UPRN 100023336956"),
    ("uprn", "1000 2333 6956"),
    ("ni_number", "QQ 12 34 56 C"),
    ("ni_number", "QQ123456C"),
    ("hospital_number", "RX4471203"),
    ("token", "SECRET-TOKEN-4242"),
    ("passport", "502135326"),
    # free text carrying identifiers
    ("free_text", "lives with Mary Smith at 10 Downing St"),
    ("free_text", "Jane Doe (mother) called 020 7946 0958"),
    ("free_text", "flat 3, 12 high street, sw1a 1aa"),
    ("free_text", "see notes re: jane doe dob 14/05/80"),
    ("free_text", "NOK: O'Brien 07700900123"),
)


@dataclass(frozen=True)
class Placement:
    """A column an identifier form is put in: its source (and so the file's format), the kind
    of column, and the row it goes in (a row where an optional column has a value)."""

    source: str
    column: str
    kind: str  # coded | date | number | pseudonym | record id | ONS code


PLACEMENTS: tuple[Placement, ...] = (
    # CSV extracts
    Placement("police", "record_id", "record id"),
    Placement("police", "person_pid", "pseudonym"),
    Placement("police", "household_pid", "pseudonym"),
    Placement("police", "event_date", "date"),
    Placement("police", "event_type", "coded"),
    Placement("police", "risk_level", "coded"),
    Placement("fire", "cause", "coded"),
    # Parquet extracts
    Placement("health", "record_id", "record id"),
    Placement("health", "person_pid", "pseudonym"),
    Placement("health", "event_date", "date"),
    Placement("health", "event_type", "coded"),
    Placement("health", "category", "coded"),
    Placement("people", "birth_year", "number"),
    Placement("people", "sex", "coded"),
    Placement("addresses", "imd_decile", "number"),
    Placement("addresses", "lsoa_code", "ONS code"),
)


def forms_of(value: str) -> set[str]:
    """What must not appear anywhere: the value (trimmed, as the reader trims it), its lower
    case, and its digits alone when it has seven or more."""
    v = value.strip()
    out = {v, v.lower()}
    digits = re.sub(r"[^0-9]", "", v)
    if len(digits) >= 7:
        out.add(digits)
    return out
