"""What a quarantined row keeps: the row as received, less anything that may identify someone.

A row is quarantined because something in it is wrong, and a malformed pseudonym is often the
raw identifier itself (an NHS number with dots where the 64-hex digest belongs). So before a
row is stored, its values go through the same guard as the batch check
(`hearth/ingest/identifiers.py`), and the value that broke a declared form (a pseudonym, a
record id, an ONS code) is withheld whatever it looks like. A withheld value is replaced by
its kind and a keyed fingerprint: HMAC-SHA256 under a key that lives only in this HEARTH_HOME
(`.fingerprint.key`, owner-only), so the same bad value can be recognised again — in a
corrected file, or across months — without the value being kept. The key is not the
partners' pseudonymisation key and never leaves the home."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

from hearth import settings
from hearth.ingest.identifiers import KINDS, first_kind, flag_values

KEY_FILE = ".fingerprint.key"
# Rules whose column's value broke a declared form: that value is withheld, always.
FORM_RULES = ("malformed_pid", "malformed_value")


def fingerprint_key(home: Path | None = None) -> bytes:
    """This home's fingerprint key, made on first use (32 random bytes, owner-only)."""
    path = (home or settings.hearth_home()) / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_bytes()
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key


def fingerprint(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def marker(kind: str, value: str, key: bytes) -> str:
    what = KINDS.get(kind, "a value not of the form the contract declares")
    return f"[withheld: {what}; fingerprint {fingerprint(value, key)}]"


def withhold(
    rows: pl.DataFrame,
    rule: pl.Series,
    column: pl.Series,
    guard: dict[str, object],
    key: bytes | None = None,
) -> pl.DataFrame:
    """`rows` (quarantined, every column text) with each value that may identify someone
    replaced by its marker. `rule`/`column` are each row's rule and column; `guard` is
    `hearth.ingest.load.guard_columns(contract)`."""
    if rows.height == 0:
        return rows
    flags = flag_values(rows, **guard)  # type: ignore[arg-type]
    kinds = flags.select("_i", "column", first_kind(flags).alias("kind"))
    broken = pl.DataFrame(
        {
            "_i": pl.int_range(0, rows.height, eager=True, dtype=pl.UInt32),
            "rule": rule,
            "column": column,
        }
    ).filter(pl.col("rule").is_in(FORM_RULES) & pl.col("column").is_not_null())
    form = broken.select("_i", "column", pl.lit("malformed").alias("kind"))
    hide = pl.concat([kinds, form]).unique(["_i", "column"], keep="first", maintain_order=True)
    if hide.height == 0:
        return rows
    key = key if key is not None else fingerprint_key()  # made only when something is withheld
    out = rows.to_dict(as_series=False)
    for i, col, kind in hide.iter_rows():
        value = out[col][i]
        if value is not None:
            out[col][i] = marker(kind, value, key)
    return pl.DataFrame(out, schema=rows.schema)
