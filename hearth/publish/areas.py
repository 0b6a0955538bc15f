"""The area names lookup: `landing/reference/areas.csv`, one row per ONS code (`area_code`,
`area_type` LA, WARD or LSOA, `area_name`), checked against its own data contract
(`data_contracts/reference/areas.yaml`) when a list is published.

It is reference data, not a partner's monthly extract: it lands once, beside the sources' folders,
with no month folders, and the file there is the lookup in use (the landing is the truth). Names
are for reading only, so nothing about the lookup stops a run: a missing file, or one that does
not match its contract, leaves the list with codes; a row that breaks a rule is not used and is
counted by rule; a code on the list with no name is shown as the code and counted. What happened
goes to run_summary.json (`area_names`) and the report's data-quality section."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hearth.publish.ranked import AREA_LEVELS, with_area_names
from hearth.quality.contracts import load_reference_contract
from hearth.sources import REFERENCE_FOLDER, reference_file_name

NAME_MAX = 100  # the contract's maxLength of area_name
_NOT_TEXT = re.compile(r"^[=+\-@]|[\x00-\x1f\x7f]")  # a formula start, or a control character
LEVEL_WORDS = {"LA": "local authorities", "WARD": "wards", "LSOA": "LSOAs"}


@dataclass(frozen=True)
class AreaLookup:
    """The lookup as read: the names kept, and what was not used and why (never a value)."""

    file: str  # as messages name it: reference/areas.csv
    status: str  # "used", "missing" or "refused"
    names: pl.DataFrame  # area_type, area_code, area_name: the rows kept, one per code
    rows_received: int = 0
    rows_not_used: dict[str, int] = field(default_factory=dict)  # rule -> rows
    problem: str = ""  # why the file was refused, as a sentence

    def name_of(self, level: str) -> dict[str, str]:
        part = self.names.filter(pl.col("area_type") == level)
        return dict(zip(part["area_code"], part["area_name"], strict=True))


def area_lookup_file(landing: Path) -> Path:
    return Path(landing) / REFERENCE_FOLDER / reference_file_name("areas")


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"area_type": pl.String, "area_code": pl.String, "area_name": pl.String}
    )


def read_area_lookup(path: Path) -> AreaLookup:
    """Read and check the lookup at `path`; never raises for a bad file (it is refused)."""
    shown = f"{REFERENCE_FOLDER}/{Path(path).name}"
    if not Path(path).is_file():
        return AreaLookup(shown, "missing", _empty())
    contract = load_reference_contract("areas")
    expected = list(contract.column_names)

    def refuse(why: str) -> AreaLookup:
        return AreaLookup(
            shown,
            "refused",
            _empty(),
            problem=f"{shown}: {why}; the file was not used and the list shows area codes. "
            f"Send it as the contract says (data_contracts/{REFERENCE_FOLDER}/"
            f"{contract.path.name}): a UTF-8 CSV with the columns {', '.join(expected)}.",
        )

    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=False)
    except Exception:  # noqa: BLE001 - any unreadable file is refused with one sentence
        return refuse("the file could not be read as a UTF-8 CSV")
    header = {c.lstrip("\ufeff").strip().lower(): c for c in frame.columns}
    missing = [c for c in expected if c not in header]
    if missing:
        return refuse(f"column {missing[0]!r} is missing")
    frame = frame.select(pl.col(header[c]).alias(c) for c in expected)
    if frame.height == 0:
        return refuse("the file holds no rows")
    kept, not_used = check_area_rows(frame)
    return AreaLookup(shown, "used", kept, frame.height, not_used)


def check_area_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows of the lookup that keep its contract, one per code, and the rows not used by the
    first rule each breaks: a required value missing, a code not of the ONS form, an area type
    not LA, WARD or LSOA, a name that is not plain text of at most NAME_MAX characters, or a code
    given more than one type or name (all its rows are left out: which is right is unknown).
    A repeated row that says the same again is used once."""
    contract = load_reference_contract("areas")
    col = {c.name: c for c in contract.columns}
    f = frame.select(
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c)
        for c in ("area_code", "area_type", "area_name")
    ).with_columns(pl.col("area_name").str.replace_all(r"\s+", " "))
    rules = [
        ("required:area_code", pl.col("area_code").is_null()),
        (
            "pattern:area_code",
            ~pl.col("area_code").str.contains(col["area_code"].pattern or ".*"),
        ),
        ("required:area_type", pl.col("area_type").is_null()),
        (
            "allowed_values:area_type",
            ~pl.col("area_type").is_in(list(col["area_type"].allowed_values or ())),
        ),
        ("required:area_name", pl.col("area_name").is_null()),
        (
            "plain_text:area_name",
            (pl.col("area_name").str.len_chars() > NAME_MAX)
            | pl.col("area_name").str.contains(_NOT_TEXT.pattern),
        ),
    ]
    broken = pl.lit(None, dtype=pl.String)
    for name, bad in reversed(rules):
        broken = pl.when(bad.fill_null(False)).then(pl.lit(name)).otherwise(broken)
    f = f.with_columns(broken.alias("_rule"))
    not_used: dict[str, int] = {}
    for name, _ in rules:
        n = f.filter(pl.col("_rule") == name).height
        if n:
            not_used[name] = n
    good = f.filter(pl.col("_rule").is_null()).drop("_rule")
    versions = good.group_by("area_code").agg(
        pl.len().alias("rows"), pl.struct("area_type", "area_name").n_unique().alias("versions")
    )
    conflicting = versions.filter(pl.col("versions") > 1)
    if conflicting.height:
        not_used["unique:area_code"] = int(conflicting["rows"].sum())
    repeats = (
        int(versions.filter(pl.col("versions") == 1)["rows"].sum())
        - versions.filter(pl.col("versions") == 1).height
    )
    if repeats:
        not_used["repeated_row"] = repeats
    kept = (
        good.join(conflicting.select("area_code"), on="area_code", how="anti")
        .unique("area_code", keep="first", maintain_order=True)
        .select("area_type", "area_code", "area_name")
    )
    return kept, not_used


def name_areas(ranked: pl.DataFrame, lookup: AreaLookup) -> tuple[pl.DataFrame, dict]:
    """The ranked list with each area's name beside its code (the code itself where the lookup
    has no name), and what run_summary.json says about the names (`area_names`): counts of codes
    and rows, which are not counts of people, so they are exact."""
    named = ranked.drop([n for _, _, n in AREA_LEVELS if n in ranked.columns])
    names = {level: lookup.name_of(level) for level, _, _ in AREA_LEVELS}
    named = with_area_names(named, names)
    codes = {}
    for level, code_col, _ in AREA_LEVELS:
        if code_col not in ranked.columns:
            continue
        on_list = ranked[code_col].drop_nulls().unique()
        have = int(on_list.is_in(list(names[level])).sum())
        codes[level] = {
            "on_list": on_list.len(),
            "named": have,
            "shown_as_code": on_list.len() - have,
        }
    summary = {
        "file": lookup.file,
        "status": lookup.status,
        "problem": lookup.problem or None,
        "rows_received": lookup.rows_received,
        "rows_used": lookup.names.height,
        "rows_not_used_by_rule": lookup.rows_not_used,
        "codes": codes,
        "codes_shown_as_code": sum(c["shown_as_code"] for c in codes.values()),
    }
    return named, summary


def names_sentence(area_names: dict | None) -> str:
    """One plain sentence on the area names, for the report's data-quality section."""
    if not area_names:
        return "Area names were not looked up for this list: areas are shown by their codes."
    status, file = area_names.get("status"), area_names.get("file", "reference/areas.csv")
    if status == "missing":
        return (
            f"There is no area names lookup ({file} in the landing), so areas are shown by "
            "their ONS codes."
        )
    if status == "refused":
        return str(area_names.get("problem") or f"{file} was refused; areas are shown by codes.")
    parts = []
    for level, c in (area_names.get("codes") or {}).items():
        words = LEVEL_WORDS.get(level, level)
        if c["shown_as_code"]:
            parts.append(
                f"{c['named']:,} of {c['on_list']:,} {words} named "
                f"({c['shown_as_code']:,} shown as their code)"
            )
        else:
            parts.append(f"all {c['on_list']:,} {words} named")
    return f"Area names from {file}: " + "; ".join(parts) + "."
