"""A run's step spans from Dagster's own step events (STEP_START, then STEP_SUCCESS or
STEP_FAILURE) in the instance's event log, which of them overlapped in time, and whether the
executor launched steps side by side (by the order of its events, not by the clock)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _dagster_home(dagster_home: Path) -> Iterator[None]:
    """DAGSTER_HOME set to `dagster_home` for the block, as it was after."""
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def step_spans(dagster_home: Path, run_id: str) -> dict[str, tuple[float, float]]:
    """Each ended step's (start, end) in the run, read from the instance at `dagster_home`."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    with _dagster_home(dagster_home):
        for rec in dg.DagsterInstance.get().all_logs(run_id, of_type=kinds):
            kind = rec.dagster_event.event_type_value
            (starts if kind == "STEP_START" else ends)[rec.step_key] = rec.timestamp
    return {k: (starts[k], ends[k]) for k in starts if k in ends}


def launched_together(dagster_home: Path, run_id: str, prefix: str | tuple[str, ...]) -> list[str]:
    """The steps whose key starts with `prefix` (or with one of several) that the multiprocess
    executor launched before any of them ended, in the event log's own order. Its parent process
    launches every ready step up to its limit (`max_concurrent`) in one pass and reads the
    steps' ends only after, so with a limit of 2 both authorities' steps are here however quick
    each one is; with a limit of 1 only the first. Spans in time can miss that when the steps
    take less time than starting a subprocess does."""
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_WORKER_STARTING,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    with _dagster_home(dagster_home):
        connection = dg.DagsterInstance.get().get_records_for_run(run_id, of_type=kinds)
    launched: list[str] = []
    for record in sorted(connection.records, key=lambda r: r.storage_id):
        entry = record.event_log_entry
        key = entry.step_key or ""
        if not key.startswith(prefix):
            continue
        if entry.dagster_event.event_type_value != "STEP_WORKER_STARTING":
            break
        launched.append(key)
    return launched


def overlaps(spans: dict[str, tuple[float, float]], prefix: str) -> dict[tuple[str, str], float]:
    """Pairs of steps whose key starts with `prefix` and whose spans overlapped: seconds."""
    keys = sorted(k for k in spans if k.startswith(prefix))
    out = {}
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            both = min(spans[a][1], spans[b][1]) - max(spans[a][0], spans[b][0])
            if both > 0:
                out[(a, b)] = round(both, 2)
    return out
