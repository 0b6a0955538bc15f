"""Finding extracts in the landing tree and reading them, as received, into strings.

Every value is read as text so that the row rules see exactly what the agency sent; types are
coerced afterwards as the contract says."""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hearth.sources import SOURCES

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DATA_SUFFIXES = {".csv", ".parquet"}


class BatchProblem(Exception):
    """A whole extract cannot be loaded. `rule` is the check that caught it; the message is one
    plain sentence naming the source, file and column — never a value."""

    def __init__(self, rule: str, message: str, column: str | None = None):
        super().__init__(message)
        self.rule = rule
        self.column = column


@dataclass(frozen=True)
class Extract:
    source: str
    month: str
    path: Path

    @property
    def file_name(self) -> str:
        return f"{self.source}/{self.month}/{self.path.name}"


def discover(landing: Path) -> tuple[list[Extract], list[str]]:
    """All extracts in the landing tree, and plain sentences about folders that don't fit."""
    found: list[Extract] = []
    problems: list[str] = []
    for source in SOURCES:
        src_dir = landing / source
        if not src_dir.is_dir():
            continue
        for month_dir in sorted(p for p in src_dir.iterdir() if p.is_dir()):
            if not MONTH_RE.match(month_dir.name):
                problems.append(
                    f"{source}: folder '{month_dir.name}' is not an extract month (YYYY-MM); "
                    "its files were not read."
                )
                continue
            files = sorted(
                p for p in month_dir.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
            )
            if len(files) > 1:
                problems.append(
                    f"{source} {month_dir.name}: {len(files)} data files in one month folder; "
                    "land one file per month."
                )
            if files:
                found.append(Extract(source, month_dir.name, files[0]))
    return found, problems


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_utf8(ex: Extract) -> None:
    dec = codecs.getincrementaldecoder("utf-8")()
    with ex.path.open("rb") as f:
        try:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                dec.decode(chunk)
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            raise BatchProblem(
                "file_readable",
                f"{ex.source}: file {ex.file_name} is not UTF-8 text (wrong encoding, perhaps "
                "Latin-1 or Windows-1252); ask the agency to export it as UTF-8.",
            ) from None


def read_extract(ex: Extract) -> pl.DataFrame:
    """Read one extract with every column as text (nulls for empty cells)."""
    if ex.path.stat().st_size == 0:
        raise BatchProblem("not_empty", f"{ex.source}: file {ex.file_name} is empty (0 bytes).")
    if ex.path.suffix.lower() == ".parquet":
        try:
            df = pl.read_parquet(ex.path)
        except Exception as e:  # polars raises several kinds for a damaged file
            raise BatchProblem(
                "file_readable",
                f"{ex.source}: file {ex.file_name} is not a readable Parquet file "
                f"({type(e).__name__}); it may be truncated or damaged.",
            ) from None
        return df.with_columns([_as_text(df[c]).replace("", None) for c in df.columns])
    _check_utf8(ex)
    with ex.path.open("rb") as f:
        head = f.readline().decode("utf-8-sig").strip("\r\n")
    if not head.strip():
        raise BatchProblem("not_empty", f"{ex.source}: file {ex.file_name} has no header row.")
    if "," not in head:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in head:
                raise BatchProblem(
                    "schema_matches_contract",
                    f"{ex.source}: file {ex.file_name} is separated by {name}; the contract "
                    "requires commas.",
                )
    try:
        df = pl.read_csv(
            ex.path,
            infer_schema=False,
            encoding="utf8",
            truncate_ragged_lines=False,
        )
    except Exception as e:  # a ragged or malformed CSV
        raise BatchProblem(
            "file_readable",
            f"{ex.source}: file {ex.file_name} is not a well-formed CSV file "
            f"({type(e).__name__}); rows have different numbers of fields or broken quotes.",
        ) from None
    df = df.rename({c: c.lstrip("\ufeff").strip() for c in df.columns})
    df = df.with_columns(pl.all().str.strip_chars().replace("", None))
    # A blank line (every field empty) is not a record: it is not counted as received.
    return df.filter(~pl.all_horizontal(pl.all().is_null())) if df.width else df


def _as_text(s: pl.Series) -> pl.Series:
    """A Parquet column as the text an agency meant: dates as YYYY-MM-DD (a timestamp at
    midnight is a date written by a tool that has no date type), whole floats as integers
    (a tool that writes integers with gaps as floats), everything else as its string."""
    if s.dtype == pl.Null:
        return s.cast(pl.String)
    if s.dtype == pl.Date:
        return s.dt.strftime("%Y-%m-%d")
    if isinstance(s.dtype, pl.Datetime):
        present = s.drop_nulls()
        if (present.dt.truncate("1d") == present).all():
            return s.dt.strftime("%Y-%m-%d")
    if s.dtype in (pl.Float32, pl.Float64):
        present = s.drop_nulls()
        if present.is_finite().all() and (present.round(0) == present).all():
            return s.cast(pl.Int64).cast(pl.String)
    return s.cast(pl.String)
