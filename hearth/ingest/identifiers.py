"""The raw-identifier guard: Hearth must never hold an NHS number, postcode, e-mail, phone
number or date of birth. A hit anywhere is a batch-level failure; messages name the column and
the kind of identifier, never the value."""

from __future__ import annotations

import re

import polars as pl

# Column names that say "this is a person's identity".
_NAME_LIKE = re.compile(
    r"(^|_)(first_?name|fore_?name|sur_?name|last_?name|given_?name|full_?name|name|"
    r"address|addr|street|postcode|post_code|zip|dob|date_?of_?birth|birth_?date|"
    r"nhs_?(no|num|number)?|uprn|email|e_mail|phone|telephone|mobile|ni_?number)($|_)",
    re.IGNORECASE,
)

_NHS_CANDIDATE = r"(?:^|[^0-9A-Za-z])(\d{3} ?\d{3} ?\d{4})(?:[^0-9A-Za-z]|$)"
_POSTCODE = r"(?i)(?:^|[^A-Za-z0-9])[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}(?:[^A-Za-z0-9]|$)"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_PHONE = r"(?:^|[^0-9A-Za-z+])(?:\+44 ?|0)(?:[0-9] ?-?){9,10}(?:[^0-9A-Za-z]|$)"
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
}
# In a pseudonym column, a value of digits only is an identifier that was never hashed.
_BARE_NUMBER = r"^[0-9][0-9 ]{4,14}[0-9]$"
# Kinds looked for in a header row: a header that holds data (a file sent without its header)
# is judged by what it holds; dates are left out (a first row of data has event dates).
HEADER_KINDS = ("nhs_number", "postcode", "email", "phone")


def identifier_like_columns(columns: list[str]) -> list[str]:
    """Columns whose names look like names, addresses, dates of birth or direct identifiers."""
    return [c for c in columns if _NAME_LIKE.search(c.strip())]


def _nhs_valid(candidate: pl.Expr) -> pl.Expr:
    """Modulus-11 check on a 10-digit string (spaces removed): weights 10..2 on the first nine
    digits; check digit = 11 - (sum mod 11), 11 -> 0, 10 -> never valid."""
    digits = candidate.str.replace_all(" ", "")
    total = pl.sum_horizontal(
        [digits.str.slice(i, 1).cast(pl.Int64, strict=False) * (10 - i) for i in range(9)]
    )
    check = 11 - (total % 11)
    check = pl.when(check == 11).then(0).otherwise(check)
    last = digits.str.slice(9, 1).cast(pl.Int64, strict=False)
    return (digits.str.len_chars() == 10) & (check != 10) & (check == last)


def scan_identifiers(
    df: pl.DataFrame, date_columns: set[str], pid_columns: set[str]
) -> dict[str, dict[str, int]]:
    """Count values that look like raw identifiers, per column and kind.

    Pseudonym columns are checked only where a value is not a well-formed pseudonym: a 64-hex
    digest can contain digit runs that pass the NHS check by chance, but a raw NHS number
    pasted into a pid column is exactly what this guard is for. Declared date columns are not
    checked for dates (event dates are not dates of birth)."""
    hits: dict[str, dict[str, int]] = {}
    columns = [c for c in df.columns if df.schema[c] == pl.String]
    if not columns or df.height == 0:
        return hits
    # One long column of (column, value): each pattern is compiled and run once per extract,
    # not once per column.
    long = df.select(columns).unpivot(variable_name="column", value_name="v").drop_nulls("v")
    col, v = pl.col("column"), pl.col("v")
    is_pid = col.is_in(sorted(pid_columns))
    # Every pattern needs a digit or an @: codes and well-formed pseudonyms are set aside first.
    long = long.filter(v.str.contains(r"[0-9@]") & ~(is_pid & v.str.contains(r"^[0-9a-f]{64}$")))
    checks = {
        "nhs_number": v.str.contains(_NHS_CANDIDATE),  # candidates; the check digit below
        "postcode": v.str.contains(_POSTCODE),
        "email": v.str.contains(_EMAIL),
        "phone": v.str.contains(_PHONE),
        "date_of_birth": v.str.contains(_DATE_LIKE) & ~col.is_in(sorted(date_columns)),
        "bare_number": v.str.contains(_BARE_NUMBER) & is_pid,
    }
    flags = long.select("column", "v", **checks).filter(pl.any_horizontal(*checks))
    # the modulus-11 check only on the few values shaped like an NHS number
    flags = flags.with_columns(
        pl.col("nhs_number") & _nhs_valid(v.str.extract(_NHS_CANDIDATE, 1)).fill_null(False)
    )
    counts = flags.group_by("column").agg(pl.col(kind).sum() for kind in checks)
    for row in counts.sort("column").iter_rows(named=True):
        for kind in checks:
            if row[kind]:
                hits.setdefault(row["column"], {})[kind] = int(row[kind])
    # report columns in the file's order
    return {c: hits[c] for c in columns if c in hits}


def scan_header(columns: list[str]) -> dict[str, str]:
    """Header cells that hold an identifier (column position as text, e.g. "3", to kind)."""
    header = pl.DataFrame({str(i + 1): [c] for i, c in enumerate(columns)})
    hits = scan_identifiers(header, set(), set())
    return {
        col: next(k for k in HEADER_KINDS if k in kinds)
        for col, kinds in hits.items()
        if any(k in kinds for k in HEADER_KINDS)
    }
