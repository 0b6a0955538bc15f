"""The landing inventory: which extracts are under the landing, and what is not read, with why.

The landing is the truth: every entry under it is either read as part of an extract or named,
with why, in the landing inventory (`Inventory.unread`). A month folder may hold several data
files: agencies split a large extract (`_part1`, `_part2`), so every data file in one month
folder is read and the parts are concatenated as that month's extract (each part checked as a
file on its own first). A file in a month folder that Hearth cannot read (a workbook, a zip) or
a folder that is not a month (`2025-8`, `latest`) stops the source's run (`all_files_read`): it
may hold rows that would otherwise be lost. Hidden and system files (`.DS_Store`, `Thumbs.db`)
are named but do not stop a run. A month folder after the run's clock is refused: a month that
has not begun cannot have been extracted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hearth import settings
from hearth.ingest.safe_paths import LINK_OUTSIDE, printable, split_links
from hearth.months import MONTH_RE, add_months, month_of
from hearth.sources import REFERENCE_FOLDER, REFERENCES, SOURCES, reference_file_name

# What Hearth reads: CSV (optionally gzipped, as large exports often are) and Parquet.
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")
SYSTEM_FILES = {"thumbs.db", "desktop.ini", ".ds_store"}
_KNOWN_FORMATS = {
    ".xlsx": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".xlsm": "an Excel workbook",
    ".ods": "a spreadsheet",
    ".zip": "a zip archive",
    ".gz": "a compressed file that is not a CSV",
    ".json": "a JSON file",
    ".txt": "a text file",
    ".tsv": "a tab-separated file",
}


@dataclass(frozen=True)
class Extract:
    """One source's extract for one month: one data file, or the parts of a split extract."""

    source: str
    month: str
    paths: tuple[Path, ...]

    def __post_init__(self) -> None:
        if isinstance(self.paths, Path):  # one file: Extract(source, month, path)
            object.__setattr__(self, "paths", (self.paths,))

    @property
    def path(self) -> Path:
        """The first (often the only) file of the extract."""
        return self.paths[0]

    def part_name(self, path: Path) -> str:
        return f"{self.source}/{self.month}/{printable(path.name)}"

    @property
    def file_name(self) -> str:
        """How messages and the ingest log name the extract: its file, or its parts."""
        if len(self.paths) == 1:
            return self.part_name(self.paths[0])
        return f"{self.source}/{self.month}/" + " + ".join(printable(p.name) for p in self.paths)


@dataclass(frozen=True)
class Unread:
    """An entry under the landing that was not read, and why (never its contents)."""

    path: str  # relative to the landing
    source: str | None
    month: str | None
    why: str
    blocking: bool  # it may hold rows: the source's run stops until it is sorted out

    def sentence(self) -> str:
        return f"{self.path}: not read; {self.why}"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "source": self.source,
            "month": self.month,
            "why": self.why,
            "blocking": self.blocking,
        }


@dataclass
class Inventory:
    extracts: list[Extract] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)

    def unread_for(self, source: str) -> list[Unread]:
        return [u for u in self.unread if u.source == source]

    def gaps(self, source: str) -> list[str]:
        """Months between a source's first and newest extract that have no extract."""
        months = sorted(e.month for e in self.extracts if e.source == source)
        if len(months) < 2:
            return []
        have, out, m = set(months), [], months[0]
        while m < months[-1]:
            if m not in have:
                out.append(m)
            m = add_months(m, 1)
        return out


def clock_month(today: date | None = None) -> str:
    """The run's clock as a month (HEARTH_CLOCK, YYYY-MM-DD, replays a past day; default
    today)."""
    return month_of(today or settings.today())


def is_data_file(path: Path) -> bool:
    return path.name.lower().endswith(DATA_SUFFIXES)


def _is_system(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_FILES or name.startswith("~$")


def _what(path: Path) -> str:
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffixes else ""
    for ext, text in _KNOWN_FORMATS.items():
        if suffix.endswith(ext):
            return text
    return "not a CSV or Parquet file" if path.suffix else "a file with no type"


def _rel(landing: Path, path: Path) -> str:
    return printable(path.relative_to(landing).as_posix())


def _month_folder(landing: Path, source: str, month_dir: Path, inv: Inventory, clock: str) -> None:
    month = month_dir.name
    entries, away = split_links(landing, month_dir.iterdir())
    inv.unread += [Unread(_rel(landing, p), source, month, LINK_OUTSIDE, True) for p in away]
    if month > clock:
        inv.unread.append(
            Unread(
                _rel(landing, month_dir),
                source,
                month,
                f"folder {month} is after this run's month ({clock}): an extract cannot be for "
                "a month that has not begun; move the file to the month it is for.",
                True,
            )
        )
        return
    parts: list[Path] = []
    for p in entries:
        rel = _rel(landing, p)
        if _is_system(p.name):
            inv.unread.append(Unread(rel, source, month, "a hidden or system file.", False))
        elif p.is_dir():
            inv.unread.append(
                Unread(
                    rel,
                    source,
                    month,
                    "a folder inside a month folder; land files directly in the month folder.",
                    True,
                )
            )
        elif not p.is_file():
            inv.unread.append(Unread(rel, source, month, "not a regular file.", True))
        elif is_data_file(p):
            parts.append(p)
        else:
            inv.unread.append(
                Unread(
                    rel,
                    source,
                    month,
                    f"it is {_what(p)}; Hearth reads CSV (UTF-8, optionally .csv.gz) or "
                    "Parquet. Export it in one of those forms.",
                    True,
                )
            )
    if parts:
        inv.extracts.append(Extract(source, month, tuple(parts)))


def _reference_folder(landing: Path, folder: Path, inv: Inventory) -> None:
    """`landing/reference/`: reference files (the area names lookup), read when a list is
    published, not extracts. Anything else there is named; it holds no extract's rows, so it
    does not stop a run."""
    known = {reference_file_name(n) for n in REFERENCES}
    entries, away = split_links(landing, folder.iterdir())
    inv.unread += [Unread(_rel(landing, p), None, None, LINK_OUTSIDE, False) for p in away]
    for p in entries:
        if p.name in known and p.is_file():
            continue
        why = (
            "a hidden or system file."
            if _is_system(p.name)
            else f"not a reference file Hearth knows ({', '.join(sorted(known))}); the area "
            "names lookup is reference/areas.csv."
        )
        inv.unread.append(Unread(_rel(landing, p), None, None, why, False))


def inventory(landing: Path, today: date | None = None) -> Inventory:
    """Every extract under the landing, and every entry that is not read with why."""
    inv = Inventory()
    if not landing.is_dir():
        return inv
    clock = clock_month(today)
    tops, away = split_links(landing, landing.iterdir())
    inv.unread += [
        Unread(_rel(landing, p), p.name if p.name in SOURCES else None, None, LINK_OUTSIDE, True)
        for p in away
    ]
    for top in tops:
        rel = _rel(landing, top)
        if top.name in SOURCES and top.is_dir():
            continue
        if top.name == REFERENCE_FOLDER and top.is_dir():
            _reference_folder(landing, top, inv)
            continue
        if _is_system(top.name):
            inv.unread.append(Unread(rel, None, None, "a hidden or system file.", False))
        else:
            names = ", ".join(SOURCES)
            inv.unread.append(
                Unread(
                    rel,
                    None,
                    None,
                    f"not a source folder Hearth knows ({names}); extracts land as "
                    f"<source>/<YYYY-MM>/<file> and reference files in {REFERENCE_FOLDER}/.",
                    not top.is_file() or is_data_file(top),
                )
            )
    for source in SOURCES:
        src_dir = landing / source
        if not src_dir.is_dir() or src_dir in away:
            continue
        entries, outside = split_links(landing, src_dir.iterdir())
        inv.unread += [Unread(_rel(landing, p), source, None, LINK_OUTSIDE, True) for p in outside]
        for p in entries:
            rel = _rel(landing, p)
            if _is_system(p.name):
                inv.unread.append(Unread(rel, source, None, "a hidden or system file.", False))
            elif p.is_dir() and MONTH_RE.match(p.name):
                _month_folder(landing, source, p, inv, clock)
            elif p.is_dir():
                inv.unread.append(
                    Unread(
                        rel,
                        source,
                        None,
                        f"folder '{printable(p.name)}' is not an extract month (YYYY-MM, "
                        "e.g. 2025-08).",
                        True,
                    )
                )
            else:
                inv.unread.append(
                    Unread(
                        rel,
                        source,
                        None,
                        "a file outside any month folder; land it in <source>/<YYYY-MM>/.",
                        True,
                    )
                )
    return inv


def discover(landing: Path) -> tuple[list[Extract], list[str]]:
    """All extracts in the landing tree, and plain sentences about entries that were not read."""
    inv = inventory(landing)
    return inv.extracts, [u.sentence() for u in inv.unread]
