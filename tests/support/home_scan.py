"""The privacy proof's two halves (tests/e2e/test_no_raw_identifiers_in_home.py): the raw world's
identifying values, read from the agencies' raw extracts (`hearth synth --agency-identifiers`
writes them under `--raw`), and every value a Hearth home holds, read file by file — every
DuckDB table, every SQLite table (Dagster's and MLflow's storage; a zlib or gzip blob, as Dagster's
snapshots are, read decompressed), every Parquet cell, every
member of a workbook, every other file as text — to find one in the other.

What is looked for, and where it cannot be told from Hearth's own words:
- names (forenames and surnames): as whole words, except the words Hearth itself writes
  (its code, SQL, contracts and catalogue, and the landing's made-up area names: a surname
  "Ashby" is also a ward there);
- full address lines ("7 Springfield Way") and postcodes (with or without their space): as
  written;
- dates of birth: as the agency wrote them (e.g. 22/01/1957) and as YYYY-MM-DD, except dates an
  agency also sent as a record's own date (an event on someone's birthday) and the first day of
  a month (Hearth's months and windows start there);
- NHS numbers and UPRNs: as whole values of a table's cells (in free text a 10- or 12-digit
  number may be a timestamp or a size).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parents[2]
WORD = re.compile(r"[^\W\d_]+(?:['\-][^\W\d_]+)*")
SHORTEST_NAME = 3  # a one- or two-letter name ("Li", "Al") cannot be told from any text
# the made-up world's name lists and the nicknames standardised at the agency: words that
# never reach an output, so no cover for a leaked name
NAME_LISTS = ("hearth/synth/", "hearth/privacy/tokens.py")
DATA_URI = re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=]+")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
OWN_TEXT = ("hearth", "sql", "data_contracts", "expectations")
NAME_COLUMNS = ("forename", "surname")
RECORD_DATES = ("event_date", "effective_date", "updated_date")


@dataclass
class RawWorld:
    names: set[str] = field(default_factory=set)  # lower case
    addresses: set[str] = field(default_factory=set)  # lower case
    postcodes: set[str] = field(default_factory=set)  # upper case, no space
    birth_dates: set[str] = field(default_factory=set)  # as written and YYYY-MM-DD
    identifiers: set[str] = field(default_factory=set)  # NHS numbers and UPRNs
    record_dates: set[str] = field(default_factory=set)  # YYYY-MM-DD the agencies sent


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path).cast(pl.String)
    return pl.read_csv(path, infer_schema=False)


def _as_iso(text: str) -> str | None:
    for form in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    return None


def raw_world(raw: Path, landing: Path) -> RawWorld:
    """The identifying values of every raw extract under `raw`, and the record dates the
    agencies sent (in the raw extracts and the landing: the address register goes there
    directly)."""
    out = RawWorld()
    files = [p for p in raw.rglob("*") if p.suffix in (".csv", ".parquet")]
    assert files, f"no raw extracts under {raw}"
    for path in [p for p in landing.rglob("*") if p.suffix in (".csv", ".parquet")]:
        frame = _read(path)
        for col in set(frame.columns) & set(RECORD_DATES):
            out.record_dates |= {v[:10] for v in frame[col].drop_nulls().to_list()}
    for path in files:
        frame = _read(path)
        for col in frame.columns:
            values = {v for v in frame[col].drop_nulls().to_list() if v.strip()}
            if col in NAME_COLUMNS:
                out.names |= {
                    w.lower() for v in values for w in WORD.findall(v) if len(w) >= SHORTEST_NAME
                }
            elif col == "address_line":
                out.addresses |= {v.strip().lower() for v in values}
            elif col == "postcode":
                out.postcodes |= {v.replace(" ", "").upper() for v in values}
            elif col == "date_of_birth":
                out.birth_dates |= values | {d for v in values if (d := _as_iso(v))}
            elif col in ("nhs_number", "uprn"):
                out.identifiers |= {v.strip() for v in values}
            elif col in RECORD_DATES:
                out.record_dates |= {d for v in values if (d := _as_iso(v[:10]))}
    return out


def own_words(landing: Path) -> set[str]:
    """The words Hearth writes itself: its code, SQL, contracts, expectations and catalogue,
    and the area names lookup the partnership sends."""
    words: set[str] = set()
    for folder in OWN_TEXT:
        for p in (REPO / folder).rglob("*"):
            if str(p.relative_to(REPO)).startswith(NAME_LISTS):
                continue
            if p.is_file() and p.suffix in (".py", ".sql", ".yaml", ".json", ".html", ".css"):
                words |= {w.lower() for w in WORD.findall(p.read_text(errors="replace"))}
    areas = landing / "reference" / "areas.csv"
    if areas.is_file():
        words |= {w.lower() for w in WORD.findall(areas.read_text(errors="replace"))}
    return words


@dataclass(frozen=True)
class Found:
    where: str  # file (and table.column)
    what: str  # kind of value
    value: str


def _as_text(blob: bytes) -> str:
    """A stored blob as text: decompressed first where it is zlib or gzip (Dagster's snapshots
    are zlib-compressed JSON), so what it holds is searched and its compressed bytes, which
    spell short words by chance, are not."""
    with contextlib.suppress(zlib.error):
        blob = zlib.decompress(blob, wbits=47)  # 32 + 15: zlib or gzip, told by its header
    return blob.decode("utf-8", "replace")


def _texts(path: Path) -> Iterator[tuple[str, str, bool]]:
    """(where, text, is_cell) for everything in a file: each table column's values for a
    database or Parquet file, each member of a zip (a workbook), else the file's bytes."""
    head = path.read_bytes()[:16]
    if head.startswith(b"\x89PNG"):
        return  # pixels: a chart's words are drawn, not stored
    if head.startswith(b"SQLite format 3"):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for t in tables:
                rows = con.execute(f'SELECT * FROM "{t}"').fetchall()  # noqa: S608 - test code
                cols = [d[0] for d in con.execute(f'SELECT * FROM "{t}" LIMIT 0').description]
                for i, c in enumerate(cols):
                    values = [v for r in rows if (v := r[i]) is not None]
                    text = "\n".join(
                        _as_text(v) if isinstance(v, bytes) else str(v) for v in values
                    )
                    yield f"{path}:{t}.{c}", text, True
        finally:
            con.close()
    elif head[8:12] == b"DUCK" or path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = con.sql(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE'"
            ).fetchall()
            for schema, t in tables:
                cols = con.sql(
                    "SELECT column_name FROM information_schema.columns "
                    f"WHERE table_schema = '{schema}' AND table_name = '{t}'"  # noqa: S608
                ).fetchall()
                for (c,) in cols:
                    values = con.sql(
                        f'SELECT DISTINCT CAST("{c}" AS VARCHAR) FROM "{schema}"."{t}" '  # noqa: S608
                        f'WHERE "{c}" IS NOT NULL'
                    ).fetchall()
                    yield f"{path}:{t}.{c}", "\n".join(v for (v,) in values), True
        finally:
            con.close()
    elif path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        for c in frame.columns:
            values = frame[c].cast(pl.String).drop_nulls().unique().to_list()
            yield f"{path}:{c}", "\n".join(values), True
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                yield f"{path}!{member}", z.read(member).decode("utf-8", "replace"), False
    else:
        # an embedded image (report.html's charts) is base64: any short word turns up there
        text = DATA_URI.sub(" ", _as_text(path.read_bytes()))
        yield str(path), text, False


def scan(home: Path, world: RawWorld, allowed_words: set[str]) -> list[Found]:
    """Every raw value found anywhere under `home`."""
    names = world.names - allowed_words
    births = {
        d
        for d in world.birth_dates
        if not (ISO.fullmatch(d) and (d in world.record_dates or d.endswith("-01")))
    }
    postcode = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b", re.IGNORECASE)
    dates = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[/-]\d{1,2}[/-]\d{4}|\b\d{8}\b")
    street = re.compile(r"\b(\d+[a-z]?)((?: [a-z][a-z'\-]*){1,5})")
    found: list[Found] = []
    for path in sorted(p for p in home.rglob("*") if p.is_file() and not p.is_symlink()):
        for where, text, is_cell in _texts(path):
            lower = text.lower()
            hits = {w.lower() for w in WORD.findall(text)} & names
            found += [Found(where, "name", v) for v in sorted(hits)]
            for m in postcode.finditer(text):
                if m.group(0).replace(" ", "").upper() in world.postcodes:
                    found.append(Found(where, "postcode", m.group(0)))
            for m in street.finditer(lower):
                words = m.group(2).split()
                for k in range(1, len(words) + 1):
                    line = " ".join([m.group(1), *words[:k]])
                    if line in world.addresses:
                        found.append(Found(where, "address", line))
            hits = {m.group(0) for m in dates.finditer(text)} & births
            found += [Found(where, "date of birth", d) for d in sorted(hits)]
            if is_cell:
                cells = set(text.split("\n"))
                found += [Found(where, "identifier", v) for v in cells & world.identifiers]
    return found


def first_of(found: list[Found], n: int = 5) -> str:
    return "; ".join(f"{f.what} {f.value!r} in {f.where}" for f in found[:n])
