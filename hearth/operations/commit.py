"""A run's changes take effect together or not at all: staging, the commit record, roll forward
and roll back.

A run changes three things people rely on: the warehouse, the published outputs and the
`@champion` alias. While it runs, each is only prepared: the steps write a shadow copy of the
warehouse (hearth/operations/recovery.py), a hidden, complete outputs folder
(`outputs/.tmp-<as_of>-…`) and
a decision about the new model version, and the last two are *staged* in the run's marker
(`.run-in-progress.json` beside the warehouse). When the run ends without an interruption:

1. the shadow and the prepared folder are flushed to disk;
2. the commit record `.run-commit.json` is written and flushed: from here on the run counts as
   committed, whatever happens to the process;
3. the shadow replaces the warehouse (one rename), the prepared folder replaces
   `outputs/<as_of>` and `outputs/latest` points at it, and the version takes its alias;
4. the marker and then the commit record are removed.

Recovery (the next run, under the run lock) reads the record first: if there is one, step 3 is
done again (each part is idempotent) - *roll forward*. If there is only a marker, the run is
*rolled back*: the shadow and the prepared folder are deleted and any version it registered is
tagged as from an interrupted run (it never had an alias). A run stopped by a check or by the
promotion gate is not interrupted, but it removes or alters no record the warehouse held: of its
warehouse it commits the months it added (whole, with their quarantine) for sources where nothing
held changed, and what an officer needs to see why it stopped (STOPPED_RUN_KEEPS: the refusals,
what under the landing was not read, the removals it would make); nothing it staged for
publishing. A replaced month, a month judged again and any removal are done again by the next
run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hearth.atomic import fsync_path, write_text_atomically
from hearth.operations.model_store import ModelStore

# The warehouse tables a stopped run keeps whole (sql/warehouse/keep_stopped_run.sql): records for
# the officer to look at. Of the rest it keeps only months it added where nothing held changed:
# never a removal, a replaced month or a month judged again.
STOPPED_RUN_KEEPS = ("batch_refusals", "landing_issues", "removals_pending")
MARKER = ".run-in-progress.json"
JOURNAL = ".run-commit.json"
PAUSE_ENV = "HEARTH_TEST_PAUSE_AT"  # tests only: pause at a named point (see pause_point)


def fsync_tree(folder: Path) -> None:
    """Flush every file of a prepared folder, then the folders themselves."""
    for p in sorted(folder.rglob("*"), reverse=True):
        if not p.is_symlink():
            fsync_path(p)
    fsync_path(folder)


def read_record(path: Path) -> dict | None:
    """A marker or commit record: None if there is none, {} if it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # a record cut short: still a sign that a run did not finish
    return data if isinstance(data, dict) else {}


def write_record(path: Path, data: dict) -> None:
    """Write `path` whole or not at all, and flush it (and its folder) to disk."""
    write_text_atomically(path, json.dumps(data, indent=1), durable=True)


# ---- staging: what a run's steps prepare for the commit ------------------------------------


def _run_marker(in_use: Path) -> Path | None:
    """The marker of the run whose shadow warehouse is `in_use`; None outside such a run."""
    marker = in_use.parent / MARKER
    data = read_record(marker)
    if data and data.get("shadow") and data["shadow"] == in_use.name:
        return marker
    return None


def stage(in_use: Path, key: str, value: dict) -> bool:
    """Note a change for the run's commit. `in_use` is the warehouse path the step was given.
    Returns False outside a shadowed run: the caller then makes the change at once."""
    marker = _run_marker(in_use)
    if marker is None:
        return False
    data = read_record(marker) or {}
    data.setdefault("staged", {})[key] = value
    write_record(marker, data)
    return True


def staged(in_use: Path) -> dict:
    """What the run has staged so far (empty outside a shadowed run)."""
    marker = _run_marker(in_use)
    data = read_record(marker) if marker else None
    return dict((data or {}).get("staged") or {})


# ---- signals: parts that must not be cut short ---------------------------------------------


@contextmanager
def deferred_signals(redeliver: bool = False) -> Iterator[list[int]]:
    """While the block runs, SIGINT and SIGTERM are noted in the yielded list, not acted on.
    With `redeliver`, the first one noted is raised again once the block is over, so it has
    the effect it would have had (a KeyboardInterrupt, Dagster's interruption, or exit)."""
    got: list[int] = []
    _held_back.append(got)
    try:
        with _handlers_noting(got):
            yield got
    finally:
        _held_back.remove(got)
    if redeliver and got:
        signal.raise_signal(got[0])


_held_back: list[list[int]] = []  # the signals noted by each `deferred_signals` block now open


@contextmanager
def _handlers_noting(got: list[int]) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set on the main thread; Hearth's runs use it
        return
    signums = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in signums}

    def note(signum: int, _frame: object) -> None:
        got.append(signum)

    for s in signums:
        signal.signal(s, note)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def pause_point(name: str) -> None:
    """Test hook: when HEARTH_TEST_PAUSE_AT names this point, say so on stdout and wait (up to
    HEARTH_TEST_PAUSE_SECONDS, default 60) for a signal, so a test can interrupt a run at an
    exact place: a signal ends the wait, whether it raises here or is held back. Read when
    called; a no-op otherwise."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    out = sys.__stdout__ or sys.stdout
    out.write(f"hearth: paused at {name}\n")
    out.flush()
    deadline = time.monotonic() + float(os.environ.get("HEARTH_TEST_PAUSE_SECONDS", "60"))
    while time.monotonic() < deadline and not any(_held_back):
        time.sleep(0.02)  # a signal handler that raises ends the wait too


# ---- the outputs swap -------------------------------------------------------


def swap_in(outputs: Path, as_of: str, prepared: Path, old: Path) -> Path:
    """Put a prepared folder in place of `outputs/<as_of>` and point `outputs/latest` at it.
    Safe to call again after a kill at any point (a commit being rolled forward): each rename
    is done only if it has not been done yet."""
    final = outputs / as_of
    if prepared.exists():
        if final.exists():
            final.rename(old)
            pause_point("outputs_swap")
        prepared.rename(final)
    if final.exists():
        link_tmp = outputs / f".latest-{uuid.uuid4().hex[:8]}"
        link_tmp.symlink_to(final.name, target_is_directory=True)
        os.replace(link_tmp, outputs / "latest")
    shutil.rmtree(old, ignore_errors=True)
    return final


# ---- commit, roll forward, roll back -------------------------------------------------------


def journal_from(marker: dict, warehouse: Path, shadow: Path | None, publish: bool) -> dict:
    """The commit record for a run whose marker is `marker`: what step 3 must do."""
    st = (marker.get("staged") or {}) if publish else {}
    return {
        "run_id": marker.get("run_id"),
        "what": marker.get("what"),
        "since": marker.get("since"),
        "published": publish,
        "warehouse": str(warehouse),
        "shadow": str(shadow) if shadow is not None else None,
        # stopped: only these tables of the shadow are kept, the rest of it is thrown away
        "keep": None if publish else list(STOPPED_RUN_KEEPS),
        "outputs": st.get("outputs"),
        "champion": st.get("champion"),
        "removals": st.get("removals"),  # accepted removals: audited as they take effect
        "retention": st.get("retention"),
    }


def roll_forward(journal: dict, models: ModelStore | None) -> list[str]:
    """Do (again) what a commit record says; safe to repeat after a kill at any point."""
    notes: list[str] = []
    warehouse = Path(journal["warehouse"])
    if journal.get("shadow"):
        shadow = Path(journal["shadow"])
        if shadow.exists() and journal.get("keep") is not None:
            keep_tables(shadow, warehouse, journal["keep"])
            shadow.unlink()
            fsync_path(warehouse.parent)
        elif shadow.exists():
            os.replace(shadow, warehouse)
            fsync_path(warehouse.parent)
        pause_point("after_warehouse_rename")
    out = journal.get("outputs")
    if out:
        root = Path(out["root"])
        swap_in(root, out["as_of"], root / out["prepared"], root / out["old"])
    removals = journal.get("removals")
    if removals:
        from hearth.operations.removal_audit import audit_removals

        audit_removals(removals["applied"], journal.get("run_id") or "", removals.get("via"))
    expired = journal.get("retention")
    if expired:  # old outputs and feature files past retention (hearth/quality/retention.py)
        delete_expired(expired)
        if expired.get("models_before") and models is not None:
            gone = models.expire_versions(expired["models_before"])
            if gone:
                notes.append(
                    f"Model version{'s' if len(gone) > 1 else ''} {', '.join(gone)}, trained "
                    "only on records past their retention, deleted."
                )
    champ = journal.get("champion")
    if champ:
        if models is None:
            raise RuntimeError("The commit names a model version but no model store was given.")
        note = models.apply_decision(champ, journal.get("run_id") or "")
        if note:
            notes.append(note)
    return notes


def delete_expired(expired: dict) -> None:
    """Delete the files retention named; never what `outputs/latest` points at (it may have
    moved since they were named). Safe to repeat."""
    root = Path(expired.get("outputs") or "")
    latest = root / "latest"
    pointed = latest.resolve() if latest.is_symlink() else None
    for raw in expired.get("paths") or []:
        p = Path(raw)
        if pointed is not None and p.resolve() == pointed:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def commit(
    marker: Path,
    warehouse: Path,
    shadow: Path | None,
    publish: bool,
    models: ModelStore | None,
    noted: list[int],
) -> tuple[bool, list[str]]:
    """Steps 1-4 for a run that ended without an interruption. `publish` is False for a run
    stopped by a check: of its warehouse only new months and STOPPED_RUN_KEEPS are committed
    (`keep_tables`), what it staged for publishing is dropped.
    Returns (committed, notes); not committed if a signal was noted before the record."""
    data = read_record(marker) or {}
    if shadow is not None and shadow.exists():
        checkpoint(shadow)
        fsync_path(shadow)
    out = (data.get("staged") or {}).get("outputs")
    if publish and out:
        fsync_tree(Path(out["root"]) / out["prepared"])
    if noted:  # a signal during the flush: the run has not committed yet
        return False, []
    journal = marker.parent / JOURNAL
    write_record(journal, journal_from(data, warehouse, shadow, publish))
    pause_point("after_commit_record")
    notes = roll_forward(read_record(journal) or {}, models)
    if not publish:
        notes += drop_staged(data, models, "the run stopped before publishing")
    marker.unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
    fsync_path(marker.parent)
    return True, notes


def drop_staged(marker: dict, models: ModelStore | None, why: str) -> list[str]:
    """Undo what a run staged but will never commit: its prepared folder, and the versions it
    registered (tagged; they never had an alias)."""
    notes: list[str] = []
    st = marker.get("staged") or {}
    out = st.get("outputs")
    if out:
        shutil.rmtree(Path(out["root"]) / out["prepared"], ignore_errors=True)
    if models is not None and ("champion" in st or "training" in st) and marker.get("run_id"):
        previous = (st.get("champion") or {}).get("previous")
        try:
            versions = models.disown_versions(marker["run_id"], why, previous)
        except Exception as e:  # the warehouse and outputs are safe; say what was not tidied
            notes.append(
                f"Could not tag the versions it registered in MLflow ({type(e).__name__})."
            )
        else:
            if versions:
                which = ", ".join(versions)
                notes.append(
                    f"Model version {which}, which it registered, was never promoted; it is tagged "
                    "hearth.interrupted."
                )
    return notes


def roll_back(
    marker: Path, shadow_files: list[Path], models: ModelStore | None, why: str
) -> list[str]:
    """Throw away everything a run did that was not committed."""
    data = read_record(marker) or {}
    for p in shadow_files:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    notes = drop_staged(data, models, why)
    marker.unlink(missing_ok=True)
    return notes


def keep_tables(shadow: Path, warehouse: Path, tables: list[str]) -> None:
    """Put into the warehouse what a stopped run may keep of its shadow
    (sql/warehouse/keep_stopped_run.sql: new months whole where nothing held changed, and
    `tables`, the records an officer looks at), in one transaction; the rest of the shadow is
    not kept. Repeating it gives the same warehouse."""
    from hearth.sources import SOURCES
    from hearth.warehouse import connect, run_source_sql, run_sql

    with connect(shadow):  # a copy made before a table existed gets it (empty)
        pass
    with connect(warehouse) as con:
        con.execute("ATTACH $path AS run_copy (READ_ONLY)", {"path": str(shadow)})
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                run_sql(con, "warehouse/keep_stopped_run")
                for name, source in SOURCES.items():
                    run_source_sql(con, "warehouse/keep_stopped_run_raw", source, {"source": name})
                run_sql(con, "warehouse/keep_stopped_run_records")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        finally:
            con.execute("DETACH run_copy")
        con.execute("CHECKPOINT")


def checkpoint(path: Path) -> None:
    """Fold a pending write-ahead log into the database file, so the file alone is the state."""
    if Path(f"{path}.wal").exists():
        import duckdb

        con = duckdb.connect(str(path))
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()


def describe(record: dict) -> str:
    return f"{record.get('what') or 'a run'}, started {record.get('since') or '?'}"
