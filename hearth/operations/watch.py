"""Watching the landing folder: which extract months are new or changed since last time, and
whether the newest month is complete enough to train and publish. Plain functions; the Dagster
sensor and schedule in `hearth/defs/operations/` call them.

What the sensor has seen is JSON, `{"files": {"<source>/<YYYY-MM>/<file>": {"size",
"mtime_ns", "sha256"}}}`, kept in HEARTH_HOME/landing_sensor/<digest>.json; its Dagster cursor
is one line naming that state (`216 files watched; state <digest> ...`), so the sensor's page in
the UI is not filled with it. A file whose size and modification time are unchanged is not
read again; one whose bytes hash to the same sha256 (copied again, touched) is not new. So a
file is never sent to a run twice, and a corrected file for a month is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from hearth import settings
from hearth.atomic import write_atomically
from hearth.ingest.files import extract_sha256, sha256_of
from hearth.ingest.landing import Extract, discover
from hearth.months import add_months
from hearth.sources import SOURCES
from hearth.warehouse import connect, query

# More new months than this at once (a first load, a catch-up) go in one run, as `hearth run`
# does, instead of one run each.
MAX_SINGLE_MONTH_RUNS = 3


# The cursor Dagster shows on the sensor's page: one line naming the state file.
_CURSOR_RE = re.compile(r"state ([0-9a-f]{16})")
KEEP_STATES = 5  # a tick whose cursor Dagster did not keep can still be read back


def load_cursor(text: str | None, state: Path | None = None) -> dict[str, dict]:
    """The files the sensor has seen, from its cursor: `N files watched; state <digest>` read
    from `state` (default settings.landing_sensor_state()), or the JSON itself (older cursors).
    A state that is gone reads as nothing seen: the warehouse still keeps loaded files from
    being sent twice (drop_loaded)."""
    if not text:
        return {}
    found = _CURSOR_RE.search(text)
    if found and not text.lstrip().startswith("{"):
        path = (state or settings.landing_sensor_state()) / f"{found.group(1)}.json"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def dump_cursor(files: dict[str, dict], state: Path | None = None) -> str:
    """Keep `files` in a state file named by its digest and return the one-line cursor."""
    state = state or settings.landing_sensor_state()
    text = json.dumps({"files": dict(sorted(files.items()))}, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = state / f"{digest}.json"
    if not path.is_file():
        write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    os.utime(path)  # the newest states are the ones kept
    for old in sorted(state.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-KEEP_STATES]:
        old.unlink(missing_ok=True)
    return f"{len(files)} files watched; state {digest} ({state.name}/{digest}.json)"


@dataclass
class LandingScan:
    files: dict[str, dict]  # the new cursor
    changed: dict[str, dict[str, str]] = field(default_factory=dict)  # month -> {source: sha}
    new_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    settling: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # folders that don't fit the layout


def scan_landing(
    landing: Path,
    cursor: dict[str, dict],
    settle_seconds: float | None = None,
    now: float | None = None,
) -> LandingScan:
    """Compare the landing tree with the cursor."""
    now = time.time() if now is None else now
    # A file modified this recently may still be being copied in: leave it to the next tick.
    settle_seconds = settings.landing_settle_seconds() if settle_seconds is None else settle_seconds
    found, notes = discover(landing)
    out = LandingScan(files={}, notes=notes)
    seen = set()
    for ex in found:
        for path in ex.paths:
            key = ex.part_name(path)
            seen.add(key)
            st = path.stat()
            old = cursor.get(key)
            if old and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
                out.files[key] = old
                continue
            if now - st.st_mtime < settle_seconds:
                out.settling.append(key)
                if old:
                    out.files[key] = old
                continue
            sha = sha256_of(path)
            out.files[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
            if old and old.get("sha256") == sha:
                continue  # the same bytes again
            (out.changed_files if old else out.new_files).append(key)
            by_source = out.changed.setdefault(ex.month, {})
            # several parts of one month changed: the run key covers every one of them
            by_source[ex.source] = (
                f"{by_source[ex.source]}+{sha}" if ex.source in by_source else sha
            )
    out.removed = sorted(k for k in cursor if k not in seen)
    return out


def loaded_extracts(warehouse: Path) -> dict[tuple[str, str], str]:
    """(source, month) -> sha256 of every extract the warehouse holds as loaded; empty when
    there is no warehouse yet or a run holds it (that run skips unchanged files itself)."""
    if not warehouse.is_file():
        return {}
    try:
        with connect(warehouse, read_only=True) as con:
            rows = query(con, "ingest/loaded_extracts").fetchall()
    except duckdb.Error:
        return {}
    return {(source, month): sha for source, month, sha in rows}


def drop_loaded(scan: LandingScan, landing: Path, loaded: dict[tuple[str, str], str]) -> list[str]:
    """Take out of `scan.changed` the extracts whose bytes the warehouse already holds as loaded
    (by `hearth run` before the sensor's first tick, say): a file is never processed twice.
    Returns them as `source month`, for the tick's log."""
    if not loaded or not scan.changed:
        return []
    found, _ = discover(landing)
    extracts = {(e.source, e.month): e for e in found}
    dropped = []
    for month in sorted(scan.changed):
        by_source = scan.changed[month]
        for source in sorted(by_source):
            ex = extracts.get((source, month))
            if ex is not None and loaded.get((source, month)) == extract_sha256(ex):
                del by_source[source]
                dropped.append(f"{source} {month}")
        if not by_source:
            del scan.changed[month]
    return dropped


@dataclass(frozen=True)
class PlannedRun:
    months: tuple[str, ...]  # one month, or the first and last of a range
    sources: tuple[str, ...]
    run_key: str

    @property
    def single(self) -> bool:
        return len(self.months) == 1


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


def plan_runs(
    changed: dict[str, dict[str, str]], max_single: int = MAX_SINGLE_MONTH_RUNS
) -> list[PlannedRun]:
    """One run per new or changed month; many months at once, one run over their range. The
    run key is made from the files' hashes, so the same files never make a second run."""
    if not changed:
        return []
    if len(changed) <= max_single:
        return [
            PlannedRun(
                (month,),
                tuple(sorted(by_source)),
                f"landing:{month}:{_digest([f'{s}={h}' for s, h in by_source.items()])}",
            )
            for month, by_source in sorted(changed.items())
        ]
    months = sorted(changed)
    sources = sorted({s for by in changed.values() for s in by})
    parts = [f"{m}/{s}={h}" for m, by in changed.items() for s, h in by.items()]
    key = f"landing:{months[0]}..{months[-1]}:{_digest(parts)}"
    return [PlannedRun((months[0], months[-1]), tuple(sources), key)]


@dataclass(frozen=True)
class PublishPlan:
    run: bool
    reason: str
    first_month: str | None = None
    newest_month: str | None = None
    as_of: str | None = None
    fingerprint: str | None = None


def landing_fingerprint(found: list[Extract]) -> str:
    """Cheap identity of what is landed: every file's name, size and modification time."""
    parts = []
    for ex in found:
        for path in ex.paths:
            st = path.stat()
            parts.append(f"{ex.part_name(path)}:{st.st_size}:{st.st_mtime_ns}")
    return _digest(parts)


def plan_publish(landing: Path, outputs: Path) -> PublishPlan:
    """Whether the monthly run should start now: every source has sent the newest month, and
    outputs for the month after it are not already published from these files."""
    found, _ = discover(landing)
    if not found:
        return PublishPlan(False, f"No extracts have landed in {landing} yet.")
    months = sorted({e.month for e in found})
    newest = months[-1]
    have = {e.source for e in found if e.month == newest}
    missing = [s for s in SOURCES if s not in have]
    if missing:
        names = ", ".join(s.replace("_", " ") for s in missing)
        return PublishPlan(
            False,
            f"Waiting for the {newest} extract from {names}; the monthly run starts the first "
            "morning every source has sent it.",
            months[0],
            newest,
        )
    as_of = add_months(newest, 1)
    summary = outputs / as_of / "run_summary.json"
    newest_landed = max(p.stat().st_mtime for e in found for p in e.paths)
    if summary.exists() and summary.stat().st_mtime >= newest_landed:
        return PublishPlan(
            False,
            f"outputs/{as_of} is already published from the extracts landed.",
            months[0],
            newest,
            as_of,
        )
    return PublishPlan(
        True,
        f"Every source has sent {newest}: train, promote and publish for {as_of}.",
        months[0],
        newest,
        as_of,
        landing_fingerprint(found),
    )
