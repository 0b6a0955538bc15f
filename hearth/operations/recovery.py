"""A run that is interrupted at any point - a signal, a reboot, `kill -9` - leaves the warehouse,
the outputs and `@champion` as they were.

Each stage already writes in transactions (an extract's month, the linkage rebuild, the feature
sets; the scores are one `CREATE OR REPLACE`), but a run is several stages: cut off between
linkage and scoring it would leave new linked events beside old scores. So a run works on a
*shadow* of the warehouse: a copy made when the run starts (`.warehouse.duckdb.run-<id>` beside
it) that every step of the run reads and writes. Outputs and the champion alias are only
prepared and staged during the run; all three take effect together through one commit record
when the run ends (hearth/operations/commit.py).

How the end of a run is judged: Dagster turns SIGINT and SIGTERM inside a step into a failed
step and ends the run "normally", so the run's own record is read (`dagster_run_end`): a step
that failed because it was interrupted, or a signal noted as the run ends, means the run is
rolled back; a run stopped by a check or by the promotion gate is not interrupted: it keeps only
its refusal records (hearth/operations/commit.py STOPPED_RUN_KEEPS), changes no accepted record
and publishes nothing. A run killed outright is
put right by the next run's `recover`: rolled forward if its commit record exists, otherwise
rolled back, and its Dagster record and alert say which.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hearth.operations.alerts import INTERRUPTED, alert_stopped_run, stop_from_instance
from hearth.operations.commit import (
    JOURNAL,
    MARKER,
    checkpoint,
    commit,
    deferred_signals,
    describe,
    drop_staged,
    pause_point,
    read_record,
    roll_back,
    roll_forward,
    write_record,
)
from hearth.operations.model_store import ModelStore
from hearth.operations.runlock import run_lock
from hearth.publish.outputs import clear_stale_temporaries

__all__ = ["MARKER", "JOURNAL", "guarded_run", "recover", "stale_shadows"]

# What became of a run whose process died, for its Dagster record.
ROLLED_BACK, ROLLED_FORWARD, ROLLED_FORWARD_STOPPED = "rolled back", "rolled forward", "stopped"


class RunInterrupted(KeyboardInterrupt):
    """Raised when a signal arrives where Hearth held it back (as a run starts or ends), so the
    run is recorded as interrupted, as one cut off inside a step is."""


@dataclass
class RunEnd:
    interrupted: str | None = None  # the step a signal cut short, if any
    stopped: bool = False  # a step or check failed: nothing is published


def shadow_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.parent / f".{warehouse.name}.run-{run_id[:12]}"


def stale_shadows(warehouse: Path) -> list[Path]:
    return sorted(warehouse.parent.glob(f".{warehouse.name}.run-*"))


def _shadow_files(shadow: Path) -> list[Path]:
    return [shadow, Path(f"{shadow}.wal"), Path(f"{shadow}.tmp")]


def begin_shadow(warehouse: Path, run_id: str) -> Path:
    """A private copy of the warehouse for one run (an empty path if there is none yet)."""
    shadow = shadow_path(warehouse, run_id)
    for p in (shadow, Path(f"{shadow}.wal")):
        p.unlink(missing_ok=True)
    if warehouse.exists():
        checkpoint(warehouse)
        shutil.copyfile(warehouse, shadow)
    return shadow


def discard_shadow(shadow: Path) -> None:
    for p in (shadow, Path(f"{shadow}.wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(f"{shadow}.tmp", ignore_errors=True)


def shadow_of_run(warehouse: Path, run_id: str) -> Path | None:
    """The shadow that the process orchestrating run `run_id` made for it (its marker names the
    run and the shadow), for that run's steps executing in other processes; None otherwise."""
    marker = read_record(warehouse.parent / MARKER)
    if marker and marker.get("run_id") == run_id and marker.get("shadow"):
        return warehouse.parent / marker["shadow"]
    return None


def dagster_run_end(instance, run_id: str) -> RunEnd:
    """How a Dagster run is ending, read from its event log as its resources tear down (before
    Dagster records the run's own end): which step was interrupted, and whether any failed."""
    from dagster import DagsterEventType  # dagster
    from dagster._core.execution.plan.objects import ErrorSource  # marks an interrupted step

    end = RunEnd()
    for rec in instance.all_logs(run_id, of_type={DagsterEventType.STEP_FAILURE}):
        ev = rec.dagster_event
        end.stopped = True
        if ev.step_failure_data.error_source == ErrorSource.INTERRUPT:
            end.interrupted = ev.step_key
    return end


def mark_run_failed(instance, run_id: str, outcome: str = ROLLED_BACK) -> bool:
    """Make Dagster's record of a run whose process died say what became of it (it would
    otherwise show as started for ever). Returns whether the record was changed."""

    from dagster import DagsterEvent, DagsterEventType  # dagster

    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return False
    if outcome == ROLLED_FORWARD:  # it had committed: its results stand
        event = DagsterEvent(
            event_type_value=DagsterEventType.PIPELINE_SUCCESS.value,
            job_name=run.job_name,
            message="The run's process was killed after the run had committed; Hearth put its "
            "results in place (warehouse, outputs and @champion).",
        )
        instance.report_dagster_event(event, run_id=run_id, log_level=logging.INFO)
        return True
    if outcome == ROLLED_FORWARD_STOPPED:
        message = (
            "The run stopped (see its failed checks and steps) and its process was killed as it "
            "ended; as for any stopped run, Hearth kept only its refusal records (no accepted "
            "record changed). Nothing was published."
        )
    else:
        message = (
            "The run's process was killed. Hearth discarded its partial work: the warehouse, the "
            "outputs and @champion are as they were before it."
        )
    instance.report_run_failed(run, message)
    return True


def settle_dead_run(instance, run_id: str, outcome: str) -> None:
    """What the next run does about a run whose process died: its Dagster record, and - for a
    `hearth run`, which writes its own alert when it stops but cannot when it is killed - an
    alert naming it. (Runs launched by the daemon are alerted by the failure sensor.)"""

    if not mark_run_failed(instance, run_id, outcome) or outcome == ROLLED_FORWARD:
        return
    run = instance.get_run_by_id(run_id)
    if run is not None and run.tags.get("hearth/trigger") == "hearth run":
        reason = "The run's process was killed; Hearth discarded its partial work."
        if outcome == ROLLED_FORWARD_STOPPED:
            reason = "The run's process was killed as it stopped."
        stop = stop_from_instance(instance, run_id)
        alert_stopped_run(run_id, run.job_name, stop, "hearth run", reason=reason)


def recover(
    warehouse: Path,
    outputs: Path | None = None,
    models: ModelStore | None = None,
    interrupted: Callable[[str, str], object] | None = None,
) -> list[str]:
    """Put right what a run whose process died left behind. Call only while holding the run
    lock. `interrupted(run_id, outcome)` is told the Dagster run id of such a run and whether it
    was rolled back or forward. Returns plain sentences about what was done (empty when the
    last run ended normally)."""

    notes: list[str] = []
    home = warehouse.parent
    for tmp in home.glob(".run-*.json.*.tmp"):  # a record cut off as it was written
        tmp.unlink(missing_ok=True)
    journal, marker = read_record(home / JOURNAL), read_record(home / MARKER)
    if journal is not None and not journal.get("warehouse"):
        # written whole or not at all (hearth/operations/commit.py write_record), so this is
        # damage, not a
        # commit: the marker decides
        (home / JOURNAL).unlink(missing_ok=True)
        journal = None
    last, outcome = journal if journal is not None else marker, None
    if journal is not None:
        try:
            extra = roll_forward(journal, models)
        except Exception as e:  # leave the record: the next run tries again
            return [
                f"The previous run ({describe(journal)}) had committed but its results could not "
                f"be put in place yet ({type(e).__name__}: {e}); Hearth will try again."
            ]
        if not journal.get("published") and marker:
            extra += drop_staged(marker, models, "the run stopped before publishing")
        outcome = ROLLED_FORWARD if journal.get("published") else ROLLED_FORWARD_STOPPED
        what = ["the warehouse"]
        if journal.get("outputs"):
            what.append(f"outputs/{journal['outputs']['as_of']}")
        if journal.get("champion"):
            what.append(f"model version {journal['champion']['version']}")
        notes.append(
            f"The previous run ({describe(journal)}) was stopped while putting its results in "
            f"place, after it had committed; Hearth finished: {', '.join(what)} are that run's."
        )
        notes += extra
        (home / MARKER).unlink(missing_ok=True)
        (home / JOURNAL).unlink(missing_ok=True)
    elif marker is not None:
        run_id = (marker.get("run_id") or "")[:8]
        why = f"Dagster run {run_id} was interrupted before it committed"
        extra = roll_back(home / MARKER, stale_shadows(warehouse), models, why)
        outcome = ROLLED_BACK
        notes.append(
            f"The previous run ({describe(marker)}) did not finish; its partial work was "
            "discarded and the warehouse, the outputs and @champion are as they were before it."
        )
        notes += extra
    for p in stale_shadows(warehouse):  # no run is live: any shadow left is a dead one's
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    if outcome and interrupted and last and last.get("run_id"):
        try:
            interrupted(last["run_id"], outcome)
        except Exception as e:  # recovery must not stop the run
            notes.append(f"Could not update that run's record in Dagster ({type(e).__name__}).")
    touched_mlflow = "training" in ((marker or {}).get("staged") or {})
    if outcome and models is not None and touched_mlflow:
        try:
            n = models.end_stale_runs()
        except Exception as e:  # recovery must not stop the run
            notes.append(f"Could not tidy MLflow after it ({type(e).__name__}).")
        else:
            if n:
                notes.append(f"Marked {n} interrupted MLflow training run(s) as KILLED.")
    if outputs is not None:
        restored = clear_stale_temporaries(outputs)
        if restored:
            names = ", ".join(f"outputs/{a}" for a in restored)
            notes.append(f"Restored {names} after an interrupted swap.")
    return notes


def finish_abandoned(warehouse: Path, models: ModelStore | None = None) -> list[str]:
    """Roll back a run of this process that ended without its resource finishing (Dagster can
    stop a run before its teardown resumes); called by `hearth run` after the run, under the
    lock. A committed run (its record written) is left for `recover` to roll forward."""
    home = warehouse.parent
    marker = read_record(home / MARKER)
    if not marker or marker.get("pid") != os.getpid() or (home / JOURNAL).exists():
        return []
    with deferred_signals():
        return roll_back(home / MARKER, stale_shadows(warehouse), models, "the run was interrupted")


def interruption_in_flight() -> bool:
    """Whether a signal's interruption (Ctrl-C's KeyboardInterrupt, Hearth's RunInterrupted,
    Dagster's DagsterExecutionInterruptedError) is passing through the code that called this."""
    exc = sys.exc_info()[1]
    return isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == (
        "DagsterExecutionInterruptedError"
    )


@contextmanager
def guarded_run(
    warehouse: Path,
    run_id: str,
    what: str = "a Hearth run",
    say: Callable[[str], None] | None = None,
    outputs: Path | None = None,
    models: ModelStore | None = None,
    atomic: bool = True,
    interrupted: Callable[[str, str], object] | None = None,
    run_end: Callable[[], RunEnd] | None = None,
) -> Iterator[Path]:
    """Hold the run lock, recover from a dead run, and yield the warehouse path the run must
    use: a shadow copy. When the block ends, `run_end()` says how the run went: interrupted,
    everything is rolled back; otherwise the run commits (its staged outputs and alias only if
    nothing stopped it). Signals are held back while recovering and committing."""
    say = say or (lambda _: None)
    home = warehouse.parent
    home.mkdir(parents=True, exist_ok=True)
    with run_lock(home, what, say):
        marker = home / MARKER
        shadow = shadow_path(warehouse, run_id) if atomic else None
        with deferred_signals() as noted:  # recovery and the copy are not cut short
            for note in recover(warehouse, outputs, models, interrupted):
                say(note)
            write_record(
                marker,
                {
                    "what": what,
                    "run_id": run_id,
                    "pid": os.getpid(),
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "shadow": shadow.name if shadow else None,
                    "staged": {},
                },
            )
            if shadow is not None:
                begin_shadow(warehouse, run_id)
        if noted:
            roll_back(marker, _shadow_files(shadow) if shadow else [], models, "interrupted")
            raise RunInterrupted(INTERRUPTED.format(when="as it started"))
        if shadow is None:
            try:
                yield warehouse
            finally:
                marker.unlink(missing_ok=True)
            return
        committed = False
        try:
            yield shadow
            # Dagster resumes a resource's teardown normally even while an interruption it
            # raised outside any step (between two steps) is on its way out: no step failed,
            # so the run's record alone would say it went well.
            passing = interruption_in_flight()
            unknown = False
            with deferred_signals() as noted:
                try:
                    end = run_end() if run_end else RunEnd()
                except Exception as e:  # how the run went is unknown: keep nothing, and say so
                    say(f"Could not read how the run ended ({type(e).__name__}); nothing is kept.")
                    end, unknown = RunEnd(), True
                if passing and end.interrupted is None:
                    end = RunEnd(interrupted="between two steps", stopped=True)
                pause_point("before_commit")
                if end.interrupted is None and not noted and not unknown:
                    committed, notes = commit(
                        marker, warehouse, shadow, not end.stopped, models, noted
                    )
                    for note in notes:
                        say(note)
                if not committed:
                    why = f"Dagster run {run_id[:8]} was interrupted before it committed"
                    for note in roll_back(marker, _shadow_files(shadow), models, why):
                        say(note)
            if committed and noted:
                say(
                    "A stop signal arrived while the run's results were being put in place; they "
                    "were put in place first."
                )
            if not committed and end.interrupted is None:
                # the signal came as the run was ending (or its end could not be read): record
                # the run as interrupted, so Dagster does not record a success
                raise RunInterrupted(INTERRUPTED.format(when="as it was ending"))
        except BaseException:
            if not committed and not (home / JOURNAL).exists():
                with deferred_signals():
                    roll_back(marker, _shadow_files(shadow), models, "interrupted")
            raise
