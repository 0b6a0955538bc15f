"""The raw-identifier guard: Hearth must never hold an NHS number, postcode, e-mail, phone
number or date of birth. A hit anywhere is a batch-level failure; messages name the column and
the kind of identifier, never the value."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from hearth.quality.contracts import Contract

# Column names that say "this is a person's identity".
_NAME_LIKE = re.compile(
    r"(^|_)(first_?name|fore_?name|sur_?name|last_?name|given_?name|full_?name|name|"
    r"address|addr|street|postcode|post_code|zip|dob|date_?of_?birth|birth_?date|"
    r"nhs_?(no|num|number)?|uprn|email|e_mail|phone|telephone|mobile|ni_?number)($|_)",
    re.IGNORECASE,
)

# Ten digits, spaced, dashed or dotted 3-3-4 or not, with no digit either side: an NHS number
# glued to letters (`ref9434765919x`) or written as a float (`9434765919.0`) is still one.
_NHS_CANDIDATE = r"(?:^|[^0-9])(\d{3}[ .-]?\d{3}[ .-]?\d{4})(?:[^0-9]|$)"
_POSTCODE = r"(?i)(?:^|[^A-Za-z0-9])[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}(?:[^A-Za-z0-9]|$)"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
# UK numbers as written at home (07700 900123) and abroad (+44 (0)20 7946 0000, 0044 ...):
# a trunk 0 (or +44) and ten digits, the first never 0.
_PHONE = r"(?:^|[^0-9+])(?:(?:\+|00) ?44 ?(?:\(0\) ?)?|0)[1-9](?:[ -]?[0-9]){8,9}(?:[^0-9]|$)"
# A personal name: two to four capitalised words, perhaps after a title, or "SMITH, John".
# Only looked for in free-form columns (no code list, pattern, date or number in the contract).
_PERSON_NAME = (
    r"^(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.? )?[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
    r"(?: [A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?){1,3}$|^[A-Z][A-Za-z'-]+, [A-Z][a-z]+$"
)
_DATE_LIKE = (
    r"(?:^|[^0-9])(?:(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]"
    r"|[0-3]?[0-9][/.-][01]?[0-9][/.-](?:19|20)?[0-9]{2})(?:[^0-9]|$)"
)

KINDS = {
    "nhs_number": "an NHS number",
    "postcode": "a full postcode",
    "email": "an e-mail address",
    "phone": "a phone number",
    "date_of_birth": "a date of birth",
    "bare_number": "a raw identifier (a bare number, such as a UPRN, where a pseudonym belongs)",
    "person_name": "a personal name",
}
# In a pseudonym column, a value of digits only is an identifier that was never hashed.
_BARE_NUMBER = r"^[0-9][0-9 ]{4,14}[0-9]$"
# Kinds looked for in a header row: a header that holds data (a file sent without its header)
# is judged by what it holds; dates are left out (a first row of data has event dates).
HEADER_KINDS = ("nhs_number", "postcode", "email", "phone")


def guard_columns(contract: Contract) -> dict[str, object]:
    """What the identifier guard needs to know of a contract's columns: dates, pseudonyms, the
    declared forms (patterns) and the free-form columns (text with no code list or form)."""
    return {
        "date_columns": {c.name for c in contract.columns if c.logical_type == "date"},
        "pid_columns": {c.name for c in contract.columns if c.name.endswith("_pid")},
        "patterns": {c.name: c.pattern for c in contract.columns if c.pattern},
        "free_columns": {
            c.name
            for c in contract.columns
            if c.logical_type == "string" and not c.pattern and not c.allowed_values
        },
    }


def identifier_like_columns(columns: list[str]) -> list[str]:
    """Columns whose names look like names, addresses, dates of birth or direct identifiers."""
    return [c for c in columns if _NAME_LIKE.search(c.strip())]


def nhs_number_valid(candidate: pl.Expr) -> pl.Expr:
    """Modulus-11 check on a 10-digit string (spaces removed): weights 10..2 on the first nine
    digits; check digit = 11 - (sum mod 11), 11 -> 0, 10 -> never valid."""
    digits = candidate.str.replace_all(r"[ .-]", "")
    total = pl.sum_horizontal(
        [digits.str.slice(i, 1).cast(pl.Int64, strict=False) * (10 - i) for i in range(9)]
    )
    check = 11 - (total % 11)
    check = pl.when(check == 11).then(0).otherwise(check)
    last = digits.str.slice(9, 1).cast(pl.Int64, strict=False)
    return (digits.str.len_chars() == 10) & (check != 10) & (check == last)


def _kinds(
    v: pl.Expr,
    col: pl.Expr,
    date_columns: set[str],
    pid_columns: set[str],
    free_columns: set[str],
) -> dict[str, pl.Expr]:
    """Per kind, whether a value (`v`, in column `col`) looks like that raw identifier; the
    NHS number's check digit is tested after, on the few candidates."""
    is_pid = col.is_in(sorted(pid_columns))
    return {
        "nhs_number": v.str.contains(_NHS_CANDIDATE),
        "postcode": v.str.contains(_POSTCODE),
        "email": v.str.contains(_EMAIL),
        "phone": v.str.contains(_PHONE),
        "date_of_birth": v.str.contains(_DATE_LIKE) & ~col.is_in(sorted(date_columns)),
        "bare_number": v.str.contains(_BARE_NUMBER) & is_pid,
        "person_name": v.str.contains(_PERSON_NAME) & col.is_in(sorted(free_columns)),
    }


def flag_values(
    df: pl.DataFrame,
    date_columns: set[str],
    pid_columns: set[str],
    patterns: dict[str, str] | None = None,
    free_columns: set[str] | None = None,
) -> pl.DataFrame:
    """One row per value that looks like a raw identifier: its row (`_i`), `column`, `v` and a
    boolean column per kind.

    A value of the form its column declares (`patterns`: a well-formed pseudonym, a record id
    of the agency's form) is not scanned: a 64-hex digest can contain digit runs that pass the
    NHS check by chance, but a raw NHS number pasted where a pseudonym belongs is exactly what
    this guard is for. Declared date columns are not checked for dates (event dates are not
    dates of birth); names are looked for only in `free_columns`."""
    patterns = dict(patterns or {c: r"^[0-9a-f]{64}$" for c in pid_columns})
    columns = [c for c in df.columns if df.schema[c] == pl.String]
    empty = pl.DataFrame(schema={"_i": pl.UInt32, "column": pl.String, "v": pl.String})
    if not columns or df.height == 0:
        return empty
    # One long column of (column, value): each pattern is compiled and run once per extract,
    # not once per column.
    long = (
        df.select(columns)
        .with_row_index("_i")
        .unpivot(index="_i", variable_name="column", value_name="v")
        .drop_nulls("v")
    )
    col, v = pl.col("column"), pl.col("v")
    conforms = pl.lit(False)
    for name, pattern in patterns.items():
        conforms = conforms | ((col == name) & v.str.contains(pattern))
    free = free_columns or set()
    # Every pattern but a name's needs a digit or an @: codes and conforming values go first.
    long = long.filter((v.str.contains(r"[0-9@]") | col.is_in(sorted(free))) & ~conforms)
    checks = _kinds(v, col, date_columns, pid_columns, free)
    flags = long.select("_i", "column", "v", **checks).filter(pl.any_horizontal(*checks))
    # the modulus-11 check only on the few values shaped like an NHS number
    flags = flags.with_columns(
        pl.col("nhs_number") & nhs_number_valid(v.str.extract(_NHS_CANDIDATE, 1)).fill_null(False)
    )
    return flags.filter(pl.any_horizontal(*checks.keys()))


def scan_identifiers(
    df: pl.DataFrame,
    date_columns: set[str],
    pid_columns: set[str],
    patterns: dict[str, str] | None = None,
    free_columns: set[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Count values that look like raw identifiers, per column and kind (see `flag_values`)."""
    flags = flag_values(df, date_columns, pid_columns, patterns, free_columns)
    hits: dict[str, dict[str, int]] = {}
    if flags.height == 0:
        return hits
    kinds = list(KINDS)
    counts = flags.group_by("column").agg(pl.col(kind).sum() for kind in kinds)
    for row in counts.sort("column").iter_rows(named=True):
        for kind in kinds:
            if row[kind]:
                hits.setdefault(row["column"], {})[kind] = int(row[kind])
    # report columns in the file's order
    return {c: hits[c] for c in df.columns if c in hits}


def first_kind(flags: pl.DataFrame) -> pl.Series:
    """Per flagged value, the first kind it looks like (in KINDS order)."""
    kind = pl.lit(None, pl.String)
    for k in reversed(KINDS):
        kind = pl.when(pl.col(k)).then(pl.lit(k)).otherwise(kind)
    return flags.select(kind.alias("kind")).to_series()


def scan_header(columns: list[str]) -> dict[str, str]:
    """Header cells that hold an identifier (column position as text, e.g. "3", to kind)."""
    return dict(_scan_header(tuple(columns)))


# A source's header is the same month after month: scanned once per process, not once per
# extract (every pattern of the scan costs the same on one row as on thousands).
@lru_cache(maxsize=256)
def _scan_header(columns: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    header = pl.DataFrame({str(i + 1): [c] for i, c in enumerate(columns)})
    hits = scan_identifiers(header, set(), set())
    return tuple(
        (col, next(k for k in HEADER_KINDS if k in kinds))
        for col, kinds in hits.items()
        if any(k in kinds for k in HEADER_KINDS)
    )
