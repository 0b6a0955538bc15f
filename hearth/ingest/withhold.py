"""What a quarantined row keeps: the row as received, each value kept only when it has the shape
its column is declared to hold (`hearth/ingest/shapes.py`, the allowlist).

A row is quarantined because something in it is wrong, and what is wrong is often a value that
should never have been sent (an NHS number where the pseudonym belongs, a name in a coded
column). So every value of a quarantined row that is not of its column's declared shape is
replaced by its shape and a keyed fingerprint:
`[withheld: 15 characters: capital letters, small letters, digits, spaces; fingerprint …]`.
The fingerprint is HMAC-SHA256 under a key that lives only in this HEARTH_HOME
(`.fingerprint.key`, owner-only), so the same bad value can be recognised again — in a corrected
file, or across months — without the value being kept. The key is not the partners'
pseudonymisation key and never leaves the home."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

from hearth import settings
from hearth.ingest.shapes import Shape, describe

KEY_FILE = ".fingerprint.key"
MARK = "[withheld: "


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


def marker(value: str, key: bytes | None) -> str:
    """A withheld value as stored and shown: its shape, and its fingerprint when a key is at
    hand (a reader without the home's key shows the shape alone)."""
    mark = f"{MARK}{describe(value)}"
    return f"{mark}; fingerprint {fingerprint(value, key)}]" if key else f"{mark}]"


def is_marker(value: object) -> bool:
    return isinstance(value, str) and value.startswith(MARK) and value.endswith("]")


def safe_value(shape: Shape | None, value: object, key: bytes | None = None) -> object:
    """`value` if it may be shown (of its column's shape, or already a marker), else its
    marker. A column Hearth has no shape for keeps nothing."""
    if value is None or is_marker(value):
        return value
    text = str(value)
    if shape is not None and shape.keeps_value(text):
        return value
    return marker(text, key)


def withhold(
    rows: pl.DataFrame, shapes: dict[str, Shape], key: bytes | None = None
) -> pl.DataFrame:
    """`rows` (quarantined, every column text) with each value that is not of its column's
    declared shape replaced by its marker."""
    if rows.height == 0:
        return rows
    masks = {
        c: ~shapes[c].keeps(rows[c]) if c in shapes else rows[c].is_not_null() for c in rows.columns
    }
    if not any(m.any() for m in masks.values()):
        return rows
    key = key if key is not None else fingerprint_key()  # made only when something is withheld
    out = []
    for c in rows.columns:
        col = rows[c].cast(pl.String)
        if masks[c].any():
            hidden = col.map_elements(lambda v: marker(v, key), return_dtype=pl.String)
            col = pl.select(pl.when(masks[c]).then(hidden).otherwise(col)).to_series()
        out.append(col.alias(c))
    return pl.DataFrame(out)
