"""What each role may not read, worked out from the data contracts and the catalogue's words,
and where it turns up in a published folder: the check that every role's files say nothing its
contract roles do not allow.

The forbidden words are built generically, never written by hand: for each role, the words of
every event feature, coarse kind, theme, combination and lead rule built from a column the role
may not read (`hearth.quality.contracts.may_read`), and every code value of such a column. It
reads the catalogue's words and codes only, never the roles the catalogue derives from them,
so a fault in that derivation (or in the wording that applies it) shows here. A code read only
in part counts as readable whole when the words count every value of the part the role may not
read (every risk level of "domestic abuse"), the contracts' rule.

Run as a script on a published folder to print the counts:

    python tests/support/role_words.py FOLDER
"""

from __future__ import annotations

import csv
import functools
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from hearth.features.catalogue import load_catalogue
from hearth.quality.contracts import load_contract, may_read
from hearth.sources import CODES, SOURCES, event_code_parts

ANOTHER = "another agency"
HEX = re.compile(r"\b[0-9a-f]{64}\b")


@dataclass(frozen=True)
class Forbidden:
    phrase: str
    what: str  # where the words come from, e.g. "event feature copd_register"
    classes: frozenset[str]  # the contract classifications of the columns the role may not read
    code: bool = False  # a code value: matched as a whole word, case and all


@functools.cache
def _prefix(code: str, role: str) -> str | None:
    """The part of an event code the role may read (None: not even that there is a record)."""
    source, parts = event_code_parts(code)
    if not may_read(role, source, SOURCES[source].date_column):
        return None
    kept = [source]
    for column, value in parts:
        if not may_read(role, source, column):
            break
        kept.append(value)
    return ":".join(kept)


@functools.cache
def _hidden(code: str, role: str) -> frozenset[str]:
    """The classifications of the columns of `code` the role may not read."""
    source, parts = event_code_parts(code)
    cols = [SOURCES[source].date_column, *(c for c, _ in parts)]
    contract = load_contract(source)
    return frozenset(
        contract.column(c).classification or "restricted"
        for c in cols
        if not may_read(role, source, c)
    )


def readable(codes: set[str], role: str, every: list[str]) -> bool:
    """Whether words counting these codes follow from what the role may read."""
    for code in codes:
        p = _prefix(code, role)
        if p is None:
            return False
        if p != code and not {c for c in every if _prefix(c, role) == p} <= codes:
            return False
    return True


def forbidden(role: str) -> list[Forbidden]:
    cat = load_catalogue()
    every = [c for c, _ in cat.event_codes]
    events = {f.key: f for f in cat.features if f.kind == "recency" and not f.members}
    codes_of = {k: {c for c, key in cat.event_codes if key == k} for k in events}
    out: list[Forbidden] = []

    def hidden_of(codes: set[str]) -> frozenset[str]:
        return frozenset().union(*(_hidden(c, role) for c in codes))

    for key, f in events.items():
        if any(_prefix(c, role) != c for c in codes_of[key]):
            for phrase in (f.one, f.many):
                out.append(Forbidden(phrase, f"event feature {key}", hidden_of(codes_of[key])))
    for part, one, many in cat.coarse_words:
        source, *values = part.split(":")
        cols = [SOURCES[source].date_column]
        if values:
            cols += [c for c, _ in event_code_parts(part)[1]]
        if not all(may_read(role, source, c) for c in cols):
            cls = frozenset(
                load_contract(source).column(c).classification or "restricted"
                for c in cols
                if not may_read(role, source, c)
            )
            out += [Forbidden(w, f"coarse words {part}", cls) for w in (one, many)]
    for f in cat.features:
        if f.members and f.kind == "recency":
            codes = set().union(*(codes_of[k] for k in f.members))
            if not readable(codes, role, every):
                for phrase in (f.one, f.many, f.definition):
                    out.append(Forbidden(phrase, f"theme {f.key}", hidden_of(codes)))
        if f.kind == "derived":
            codes = _derived_codes(f, cat, codes_of)
            if not readable(codes, role, every):
                out.append(Forbidden(f.text, f"combination {f.name}", hidden_of(codes)))
    # how surely records were linked: its words only for a role that may read some source's
    # keys and linkage tokens (those of every source a reason rests on: hearth/features/wording.py)
    shares = [f for f in cat.features if f.kind == "confidence" and len(f.uses) == 1]
    if not any(all(may_read(role, s, c) for s, c in f.columns) for f in shares):
        cls = frozenset(
            load_contract(s).column(c).classification or "restricted"
            for f in shares
            for s, c in f.columns
            if not may_read(role, s, c)
        )
        out.append(Forbidden(cat.confidence.words, "link confidence", cls))
    rules = yaml.safe_load(_rules_file().read_text(encoding="utf-8"))
    for rule in rules["rules"]:
        codes = set().union(*(_fact_codes(c["feature"], cat, codes_of) for c in rule["when"]))
        if not readable(codes, role, every):
            out.append(Forbidden(rule["why"], f"lead rule {rule['lead']}", hidden_of(codes)))
    for (source, column), values in CODES.items():
        if source in SOURCES and not may_read(role, source, column):
            shown = {v for (s, c), vs in CODES.items() if may_read(role, s, c) for v in vs}
            cls = load_contract(source).column(column).classification or "restricted"
            for v in values:
                if v not in shown:
                    out.append(Forbidden(v, f"code {source}.{column}", frozenset({cls}), True))
    return [f for f in out if f.phrase]


def _rules_file() -> Path:
    import hearth.modelling.scoring.reasons

    return Path(hearth.modelling.scoring.reasons.__file__).with_name("lead_agency.yaml")


def _derived_codes(f, cat, codes_of) -> set[str]:
    out: set[str] = set()
    for used in f.uses:
        if used in SOURCES:
            out |= {c for c, _ in cat.event_codes if c.split(":")[0] == used}
        else:
            out |= _fact_codes(used, cat, codes_of)
    return out


def _fact_codes(name: str, cat, codes_of) -> set[str]:
    f = cat.by_name(name)
    if f.members:
        return set().union(*(codes_of[k] for k in f.members))
    if f.kind == "derived":
        return _derived_codes(f, cat, codes_of)
    if f.key in codes_of:
        return codes_of[f.key]
    return set()  # the register: every role may read it (its columns are checked in contracts)


# ---- where the words of a published folder are ---------------------------------------------


def _csv_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [c for row in csv.reader(fh) for c in row if c]


def _xlsx_cells(path: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        return [
            str(c)
            for ws in wb.worksheets
            for row in ws.iter_rows(values_only=True)
            for c in row
            if c is not None and str(c)
        ]
    finally:
        wb.close()


def _html_cells(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="top-data">(.*?)</script>', text, re.S)
    cells = [str(c) for row in json.loads(m.group(1)) for c in row if c is not None] if m else []
    rest = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S)
    rest = html.unescape(re.sub(r"<[^>]+>", "\n", rest))
    return cells + [line.strip() for line in rest.splitlines() if line.strip()]


def role_files(folder: Path, role: str) -> list[Path]:
    """Every file of `folder` published for `role` to read: its view, its agency's visit
    plans, and for the commissioners the main list, workbook and report."""
    files = sorted((folder / "roles" / role).glob("ranked_households.*"))
    summary = folder / "plans" / "plan_summary.json"
    if summary.is_file():
        for team in json.loads(summary.read_text())["teams"]:
            if team["agency"] == role:
                csv_file = folder / team["file"]
                files += [csv_file, csv_file.with_suffix(".xlsx")]
    if role == "commissioner":
        files += [folder / n for n in ("ranked_households.csv", "ranked_households.xlsx")]
        files.append(folder / "report.html")
    return [f for f in files if f.is_file() and f.suffix in (".csv", ".xlsx", ".html")]


def cells_of(path: Path) -> list[str]:
    return {".csv": _csv_cells, ".xlsx": _xlsx_cells, ".html": _html_cells}[path.suffix](path)


@dataclass
class Found:
    cells: int  # cells read
    leaks: list[tuple[str, str, str]]  # (file, what, cell) a cell naming what it may not
    bad_leads: list[tuple[str, str]]  # (household, lead) a lead chosen by what it may not read
    classes: dict[str, int]  # cells naming something of each hidden classification
    unknown_pids: int  # 64-hex tokens that are not a household of the list


def _matches(f: Forbidden, cell: str) -> bool:
    if f.code:
        return re.search(rf"(?<![A-Za-z_]){re.escape(f.phrase)}(?![A-Za-z_])", cell) is not None
    return f.phrase.lower() in cell.lower()


def _guidance() -> set[str]:
    """The fixed guidance every list and the report carry word for word (what a crisis is,
    what the list must not be used for): about the model, not about any household."""
    from hearth.publish import words

    return {*words.HOW_TO_READ, *words.NOT_FOR, words.LIMITS}


def check(folder: Path, role: str) -> Found:
    """Every cell of `role`'s files in `folder` against its forbidden words, and every lead
    it is shown against what chose it (from the full list, `ranked_households.parquet`)."""
    words = forbidden(role)
    guidance = _guidance()
    full = pl.read_parquet(folder / "ranked_households.parquet")
    pids = set(full["household_pid"].to_list())
    leaks, classes, n, unknown = [], {}, 0, 0
    for path in role_files(folder, role):
        for cell in cells_of(path):
            if cell in guidance:
                continue
            n += 1
            unknown += sum(1 for h in HEX.findall(cell) if h not in pids)
            hit = [f for f in words if _matches(f, cell)]
            if hit:
                leaks.append((str(path.relative_to(folder)), hit[0].what, cell))
                for cls in frozenset().union(*(f.classes for f in hit)):
                    classes[cls] = classes.get(cls, 0) + 1
    return Found(n, leaks, _bad_leads(folder, role, full), classes, unknown)


def _bad_leads(folder: Path, role: str, full: pl.DataFrame) -> list[tuple[str, str]]:
    """Leads shown to `role` although it may not read what chose them: a rule's conditions,
    the strongest reason's theme, or (for the agency behind it) the strongest reason at all."""
    cat = load_catalogue()
    every = [c for c, _ in cat.event_codes]
    codes_of = {
        f.key: {c for c, k in cat.event_codes if k == f.key}
        for f in cat.features
        if f.kind == "recency" and not f.members
    }
    rules = yaml.safe_load(_rules_file().read_text())
    view = folder / "roles" / role / "ranked_households.csv"
    if not view.is_file():
        return []
    shown = pl.read_csv(view, infer_schema_length=0).select("household_pid", "lead_agency")
    rows = shown.join(
        full.select("household_pid", "lead_why", "reason_1_feature"), on="household_pid"
    )
    bad = []
    for pid, lead, why, first in rows.iter_rows():
        if not lead or lead == ANOTHER or not why:
            continue
        if why.startswith("strongest reason: ") and first:
            codes = _fact_codes(first, cat, codes_of)
            f = cat.by_name(first)
            if lead == rules["by_agency"]["register"]:
                continue  # the hub, also the lead when nothing stands out: says nothing
            if rules["by_agency"].get(f.agency) == lead:  # the reason's agency
                ok = not codes or any(_prefix(c, role) is not None for c in codes)
            elif f.members and f.key in rules.get("lead_by_kind", ()):
                # chosen by the kinds named: every kind that leads there must be readable
                from hearth.modelling.scoring.reasons import _kind_lead

                kinds = [k for k in f.members if _kind_lead(k, cat, rules) == lead]
                ok = all(readable(codes_of[k], role, every) for k in kinds)
            else:
                ok = readable(codes, role, every)
        else:
            rule = next(
                (r for r in rules["rules"] if r["lead"] == lead and why.startswith(r["why"])), None
            )
            if rule is None:  # the council's hub when nothing stands out
                continue
            codes = set().union(*(_fact_codes(c["feature"], cat, codes_of) for c in rule["when"]))
            ok = readable(codes, role, every)
        if not ok:
            bad.append((pid, lead))
    return bad


def report(folder: Path) -> dict[str, dict[str, int]]:
    from hearth.quality.contracts import ROLES

    out = {}
    for role in ROLES:
        found = check(folder, role)
        out[role] = {
            "cells": found.cells,
            "cells naming what the role may not read": len(found.leaks),
            "special-category (clinical) cells": found.classes.get("special-category", 0),
            "criminal-offence (police detail) cells": found.classes.get("criminal-offence", 0),
            "leads chosen by what it may not read": len(found.bad_leads),
            "unknown pseudonyms": found.unknown_pids,
        }
        marac = [lead for _, lead in found.bad_leads if "MARAC" in lead]
        out[role]["of which police-led MARAC"] = len(marac)
    return out


if __name__ == "__main__":
    for role, counts in report(Path(sys.argv[1])).items():
        print(role, json.dumps(counts))
