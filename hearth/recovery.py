"""A run that is killed at any point leaves the warehouse and the outputs as they were.

Each stage already writes in transactions (an extract's month, the linkage rebuild, the feature
sets; the scores are one `CREATE OR REPLACE`), but a run is several stages: killed between
linkage and scoring it would leave new linked events beside old scores. So a run works on a
*shadow* of the warehouse: a copy made when the run starts (`.warehouse.duckdb.run-<id>` beside
it) that every step of the run reads and writes. When the run ends - published or stopped by a
check, as it ends today - the shadow is moved over the warehouse in one `rename`, which is
atomic. A run killed before that leaves the warehouse file untouched; the next run removes the
dead shadow and starts again from the warehouse as it was.

The outputs are swapped in the same way by `hearth.publish.publish_atomically`, and what a kill
during that swap can leave (a `.tmp-`, `.old-` or `.latest-` entry) is put right or removed by
`hearth.publish.clear_stale_temporaries`. An MLflow training run that was cut off is marked
KILLED, so the MLflow UI does not show it running for ever; model versions already registered
stay in the registry (it is append-only; the `@champion` alias moves only after a version is
complete).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hearth.runlock import run_lock

MARKER = ".run-in-progress.json"


def shadow_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.parent / f".{warehouse.name}.run-{run_id[:12]}"


def stale_shadows(warehouse: Path) -> list[Path]:
    return sorted(warehouse.parent.glob(f".{warehouse.name}.run-*"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _checkpoint(path: Path) -> None:
    """Fold a pending write-ahead log into the database file, so the file alone is the state."""
    if Path(f"{path}.wal").exists():
        import duckdb

        con = duckdb.connect(str(path))
        try:
            con.execute("CHECKPOINT")
        finally:
            con.close()


def begin_shadow(warehouse: Path, run_id: str) -> Path:
    """A private copy of the warehouse for one run (an empty path if there is none yet)."""
    shadow = shadow_path(warehouse, run_id)
    for p in (shadow, Path(f"{shadow}.wal")):
        p.unlink(missing_ok=True)
    if warehouse.exists():
        _checkpoint(warehouse)
        shutil.copyfile(warehouse, shadow)
    return shadow


def commit_shadow(shadow: Path, warehouse: Path) -> None:
    """Make the run's copy the warehouse, in one atomic rename."""
    if not shadow.exists():  # the run never opened the warehouse
        return
    _checkpoint(shadow)
    _fsync(shadow)
    os.replace(shadow, warehouse)
    _fsync(warehouse.parent)


def discard_shadow(shadow: Path) -> None:
    for p in (shadow, Path(f"{shadow}.wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(f"{shadow}.tmp", ignore_errors=True)


def _end_stale_mlflow_runs(tracking_uri: str) -> int:
    """Mark training runs left RUNNING by a killed run as KILLED. Only called while holding the
    run lock, when no training can be in progress."""
    from mlflow import MlflowClient

    from models.registry import EXPERIMENT

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return 0
    runs = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'RUNNING'")
    for r in runs:
        client.set_tag(r.info.run_id, "hearth.interrupted", "the Hearth run was killed mid-way")
        client.set_terminated(r.info.run_id, status="KILLED")
    return len(runs)


def mark_run_failed(instance, run_id: str) -> bool:
    """Record in Dagster that a run whose process was killed has failed (it would otherwise
    show as started for ever)."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return False
    instance.report_run_failed(
        run,
        "The run's process was killed. Hearth discarded its partial work: the warehouse and the "
        "outputs are as they were before it.",
    )
    return True


def recover(
    warehouse: Path,
    outputs: Path | None = None,
    tracking_uri: str | None = None,
    interrupted: Callable[[str], object] | None = None,
) -> list[str]:
    """Put right what a killed run left behind. Call only while holding the run lock.
    `interrupted(run_id)` is told the Dagster run id of a run that was killed.
    Returns plain sentences about what was done (empty when the last run ended normally)."""
    from hearth.publish import clear_stale_temporaries

    notes: list[str] = []
    marker = warehouse.parent / MARKER
    last = None
    if marker.exists():
        try:
            last = json.loads(marker.read_text(encoding="utf-8"))
        except ValueError:
            last = {}
    dead = stale_shadows(warehouse)
    for p in dead:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    if last is not None:
        notes.append(
            f"The previous run ({last.get('what', 'a run')}, started {last.get('since', '?')}) "
            "did not finish; its partial work was discarded and the warehouse is as it was "
            "before it."
        )
        if interrupted and last.get("run_id"):
            try:
                interrupted(last["run_id"])
            except Exception as e:  # recovery must not stop the run
                notes.append(f"Could not mark that run as failed in Dagster ({type(e).__name__}).")
        if tracking_uri:
            try:
                n = _end_stale_mlflow_runs(tracking_uri)
            except Exception as e:  # recovery must not stop the run
                notes.append(f"Could not tidy MLflow after it ({type(e).__name__}).")
            else:
                if n:
                    notes.append(f"Marked {n} interrupted MLflow training run(s) as KILLED.")
        marker.unlink(missing_ok=True)
    if outputs is not None:
        restored = clear_stale_temporaries(outputs)
        if restored:
            names = ", ".join(f"outputs/{a}" for a in restored)
            notes.append(f"Restored {names} after an interrupted swap.")
    return notes


@contextmanager
def guarded_run(
    warehouse: Path,
    run_id: str,
    what: str = "a Hearth run",
    say: Callable[[str], None] | None = None,
    outputs: Path | None = None,
    tracking_uri: str | None = None,
    atomic: bool = True,
    interrupted: Callable[[str], object] | None = None,
) -> Iterator[Path]:
    """Hold the run lock, recover from a killed run, and yield the warehouse path the run must
    use: a shadow copy that replaces the warehouse when the block ends normally (whether or not
    the run's checks passed), and is thrown away if the block is interrupted."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with run_lock(warehouse.parent, what, say):
        for note in recover(warehouse, outputs, tracking_uri, interrupted):
            if say:
                say(note)
        marker = warehouse.parent / MARKER
        marker.write_text(
            json.dumps(
                {
                    "what": what,
                    "run_id": run_id,
                    "pid": os.getpid(),
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            ),
            encoding="utf-8",
        )
        if not atomic:
            try:
                yield warehouse
            finally:
                marker.unlink(missing_ok=True)
            return
        shadow = begin_shadow(warehouse, run_id)
        try:
            yield shadow
        except BaseException:
            discard_shadow(shadow)
            marker.unlink(missing_ok=True)
            raise
        commit_shadow(shadow, warehouse)
        marker.unlink(missing_ok=True)
