"""Reading extracts, as received, into strings.

Every value is read as text so that the row rules see exactly what the agency sent; types are
coerced afterwards as the contract says. Which files make an extract is decided by the landing
inventory (`hearth/ingest/landing.py`)."""

from __future__ import annotations

import codecs
import errno
import gzip
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import polars as pl

from hearth.ingest.landing import Extract
from hearth.ingest.safe_paths import printable


class BatchProblem(Exception):
    """A whole extract cannot be loaded. `rule` is the check that caught it; the message is one
    plain sentence naming the source, file and column — never a value."""

    def __init__(self, rule: str, message: str, column: str | None = None):
        super().__init__(message)
        self.rule = rule
        self.column = column


def open_landed(path: Path):
    """A landed file for reading, refusing to follow a link: the inventory names links that
    lead out of the landing, and a file swapped for one after that is not opened either."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        source, month = path.parent.parent.name, path.parent.name
        raise BatchProblem(
            "file_readable",
            f"{source}: file {source}/{month}/{printable(path.name)} is a link, not a file; it "
            "was not read. Land the file itself.",
        ) from None
    return os.fdopen(fd, "rb")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open_landed(path) as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def extract_sha256(ex: Extract) -> str:
    """The identity of an extract's bytes: its file's sha256, or one over its parts' names and
    hashes (so adding, removing or changing a part is a changed extract)."""
    if len(ex.paths) == 1:
        return sha256_of(ex.paths[0])
    h = hashlib.sha256()
    for p in ex.paths:
        h.update(f"{p.name}\0{sha256_of(p)}\n".encode())
    return h.hexdigest()


@contextmanager
def _open(path: Path) -> Iterator[BinaryIO]:
    """A landed file's bytes, decompressed when it is gzipped."""
    with open_landed(path) as raw:
        if path.name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                yield f
        else:
            yield raw


def _check_utf8(source: str, name: str, path: Path) -> None:
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with _open(path) as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                dec.decode(chunk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        raise BatchProblem(
            "file_readable",
            f"{source}: file {name} is not UTF-8 text (wrong encoding, perhaps "
            "Latin-1 or Windows-1252); ask the agency to export it as UTF-8.",
        ) from None
    except (OSError, EOFError) as e:  # a damaged gzip stream
        raise BatchProblem(
            "file_readable",
            f"{source}: file {name} cannot be decompressed ({type(e).__name__}); it may be "
            "truncated or damaged.",
        ) from None


# The Parquet types a column declared of each logical type may arrive as. A timestamp at
# midnight is a date from a tool with no date type, a whole float an integer with gaps, and
# any column may be written as text (its values are then judged as a CSV's are, and a whole
# column of another form is refused by the row rules' majority check); anything else (codes
# as Int64, dates as numbers) is a column whose type changed.
_INTEGERS = {pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64}
_NUMBERS = _INTEGERS | {pl.Float32, pl.Float64}
_TYPE_WORDS = {
    "string": "text (VARCHAR)",
    "integer": "whole numbers (BIGINT)",
    "number": "numbers (DOUBLE)",
    "date": "dates (DATE)",
}


def _type_fits(logical: str, dtype: pl.DataType) -> bool:
    base = dtype.base_type()
    if base in (pl.Null, pl.String, pl.Categorical, pl.Enum):
        return True
    if logical in ("integer", "number"):
        return base in _NUMBERS or base == pl.Decimal
    if logical == "date":
        return base in (pl.Date, pl.Datetime)
    return False


def _received(dtype: pl.DataType) -> str:
    base = dtype.base_type()
    if base in _INTEGERS:
        return f"whole numbers ({dtype})"
    if base in (pl.Float32, pl.Float64, pl.Decimal):
        return f"numbers ({dtype})"
    if base in (pl.Date, pl.Datetime):
        return f"dates or times ({dtype})"
    if base == pl.Boolean:
        return "true/false values (Boolean)"
    if base == pl.String:
        return "text (String)"
    return str(dtype)


def check_types(source: str, name: str, df: pl.DataFrame, declared: dict[str, str]) -> None:
    """A Parquet column of the contract received with another physical type (a code column
    as Int64) is a whole-column fault: the file is refused naming the column and both types,
    never reading its values row by row. An all-empty column says nothing of its type."""
    for col, dtype in df.schema.items():
        logical = declared.get(col)
        if logical is None or _type_fits(logical, dtype):
            continue
        s = df[col]
        present = s.fill_nan(None) if dtype.base_type() in (pl.Float32, pl.Float64) else s
        if present.null_count() == present.len():
            continue
        raise BatchProblem(
            "schema_matches_contract",
            f"{source}: file {name}, column '{col}' is declared as {_TYPE_WORDS[logical]} but "
            f"was received as {_received(dtype)}: the column's type changed, so the whole "
            "extract was refused. Ask the agency to send it as the contract says.",
            column=col,
        )


# A partnership's routed Parquet file with no row carries this key in its metadata: the agency's
# extract was routed and held nothing for this authority this month (hearth/linkage/
# partnership.py), so its header-only file is "0 rows received", not an empty extract. A source
# the partnership's landing lacks is routed to no one and stays missing.
ROUTED_NONE = b"hearth.routed_none"


def routed_none(ex: Extract) -> bool:
    """Whether every part of `ex` is a routed Parquet file that says it holds no row for this
    authority (ROUTED_NONE); an unreadable part says nothing (its reading judges it)."""
    import pyarrow.parquet as pq

    for path in ex.paths:
        if not path.name.lower().endswith(".parquet"):
            return False
        try:
            with open_landed(path) as f:
                meta = pq.read_schema(f).metadata or {}
        except Exception:  # damaged or not Parquet: _read_file names the problem
            return False
        if meta.get(ROUTED_NONE) != b"1":
            return False
    return bool(ex.paths)


def _read_file(
    source: str, name: str, path: Path, declared: dict[str, str] | None = None
) -> pl.DataFrame:
    """One data file with every column as text (nulls for empty cells). For Parquet,
    `declared` (column -> the contract's logical type) is checked against the file's types."""
    if path.stat().st_size == 0:
        raise BatchProblem("not_empty", f"{source}: file {name} is empty (0 bytes).")
    if path.name.lower().endswith(".parquet"):
        try:
            with open_landed(path) as f:
                df = pl.read_parquet(f)
        except Exception as e:  # polars raises several kinds for a damaged file
            raise BatchProblem(
                "file_readable",
                f"{source}: file {name} is not a readable Parquet file "
                f"({type(e).__name__}); it may be truncated or damaged.",
            ) from None
        check_types(source, name, df, declared or {})
        return df.with_columns([_as_text(df[c]).replace("", None) for c in df.columns])
    _check_utf8(source, name, path)
    with _open(path) as f:
        head = f.readline().decode("utf-8-sig").strip("\r\n")
    if not head.strip():
        raise BatchProblem("not_empty", f"{source}: file {name} has no header row.")
    if "," not in head:
        for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in head:
                raise BatchProblem(
                    "schema_matches_contract",
                    f"{source}: file {name} is separated by {what}; the contract requires commas.",
                )
    try:
        with _open(path) as f:
            df = pl.read_csv(f.read(), infer_schema=False, truncate_ragged_lines=False)
    except Exception as e:  # a ragged or malformed CSV
        raise BatchProblem(
            "file_readable",
            f"{source}: file {name} is not a well-formed CSV file "
            f"({type(e).__name__}); rows have different numbers of fields or broken quotes.",
        ) from None
    df = df.rename({c: c.lstrip("\ufeff").strip() for c in df.columns})
    df = df.with_columns(pl.all().str.strip_chars().replace("", None))
    # A blank line (every field empty) is not a record: it is not counted as received.
    return df.filter(~pl.all_horizontal(pl.all().is_null())) if df.width else df


def read_parts(
    ex: Extract, declared: dict[str, str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The extract's rows with every column as text, its parts concatenated in name order, and
    beside it each row's origin: `file_name` (the part) and `file_row` (its row in that part).
    `declared` (column -> logical type, from the contract) checks a Parquet file's types."""
    frames, origins, columns = [], [], None
    for path in ex.paths:
        name = ex.part_name(path)
        df = _read_file(ex.source, name, path, declared)
        if columns is None:
            columns, first = df.columns, name
        elif set(df.columns) == set(columns):
            df = df.select(columns)  # the same columns in another order are the same columns
        else:
            raise BatchProblem(
                "schema_matches_contract",
                f"{ex.source}: file {name} has other columns than {first}, another part of the "
                f"same month's extract; every part of a split extract must have the same "
                "columns.",
            )
        frames.append(df)
        origins.append(
            pl.DataFrame(
                {
                    "file_name": pl.Series([name] * df.height, dtype=pl.String),
                    "file_row": pl.int_range(1, df.height + 1, eager=True, dtype=pl.Int64),
                }
            )
        )
    return pl.concat(frames, how="vertical"), pl.concat(origins, how="vertical")


def read_extract(ex: Extract) -> pl.DataFrame:
    """Read one extract with every column as text (nulls for empty cells)."""
    return read_parts(ex)[0]


def _as_text(s: pl.Series) -> pl.Series:
    """A Parquet column as the text an agency meant, value by value: dates as YYYY-MM-DD (a
    timestamp at midnight is a date written by a tool that has no date type), whole floats as
    integers (a tool that writes integers with gaps as floats), NaN as an empty cell (pandas'
    missing value), everything else as its string. One odd value (1980.5) stays itself and
    breaks its own row's rule, not its column."""
    if s.dtype == pl.Null:
        return s.cast(pl.String)
    if s.dtype == pl.Date:
        return s.dt.strftime("%Y-%m-%d")
    if isinstance(s.dtype, pl.Datetime):
        midnight = s.dt.truncate("1d") == s
        return (
            pl.select(
                pl.when(midnight.fill_null(False))
                .then(s.dt.strftime("%Y-%m-%d"))
                .otherwise(s.cast(pl.String))
            )
            .to_series()
            .alias(s.name)
        )
    if s.dtype in (pl.Float32, pl.Float64):
        s = s.fill_nan(None)
        whole = (s.is_finite() & (s.round(0) == s) & (s.abs() < 2**53)).fill_null(False)
        as_int = pl.select(pl.when(whole).then(s).otherwise(None)).to_series().cast(pl.Int64)
        return (
            pl.select(pl.when(whole).then(as_int.cast(pl.String)).otherwise(s.cast(pl.String)))
            .to_series()
            .alias(s.name)
        )
    return s.cast(pl.String)
