"""A partnership of authorities on each executor (issue 28, point 5): the world synthesised once
(its three authorities), then `hearth partnership run` on it in-process, multiprocess and on
celery with two `hearth worker`s (Debian's redis-server on 127.0.0.1, a free port, nothing
written to disk), each in a fresh partnership home; then the same compute bare (no Dagster, no
GX, no MLflow: the routing, each authority's ingest, linkage and features, one model fit on the
union, each authority scored; benchmarks/run.py's bare parts). Run by hand, never in CI:

    nice -n 10 .venv/bin/python -m benchmarks.partnership --households 20000
    nice -n 10 .venv/bin/python -m benchmarks.partnership --households 100000 --reuse-world
    .venv/bin/python -m benchmarks.partnership --households 300000 --executors multiprocess

For each executor: wall and CPU seconds (CPU: the command's and the workers' whole process trees,
from the kernel's accounting of each tree once it ended), each step's seconds, CPU, peak RSS and
the process it ran in, from Dagster's own step events, of the partnership's run and of each
authority's own runs (`hearth run --part prepare|score`, each in its authority's own Dagster
instance); whether two authority steps overlapped in time; parallel efficiency (the partnership
run's step seconds / (its wall seconds x the steps that could run at once)); peak RSS and CPU per
process; whether each authority's ranked CSV is byte-identical to the in-process run's; and the
end-to-end CPU against the bare compute's (the issue's target: at most 1.5x, every process under
8 GB). Writes benchmarks/results/partnership-<date>-<HHMM>-<households>-<executors>[-<label>].json
(the run's start, UTC: two runs of a day do not overwrite each other) after each executor (a
run cut short keeps what was measured)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
import yaml

from benchmarks.executors import BIN, TRAINING, ProcessPeaks, _free_port, process_rows
from benchmarks.run import (
    GREW,
    RESULTS,
    _commit,
    _stage_of,
    bare_prepare,
    bare_score,
    bare_train,
)
from hearth.atomic import read_record
from tests.support.environment import without_hearth

EXECUTORS = ("in_process", "multiprocess", "celery")
AUTHORITY_STEPS = ("prepare_authority", "score_authority")  # the partnership's mapped steps
# the partnership model's steps (hearth/defs/operations/partnership.py), and of them its fits,
# mapped steps that can run at once
MODEL_STEPS = (
    "partnership_model",
    "partnership_model_candidate",
    "partnership_model_choice",
    "partnership_model_fit",
    "partnership_model_refit",
    "partnership_model_sharing",
    "partnership_model_registered",
)
MODEL_FITS = (
    "partnership_model_candidate",
    "partnership_model_fit",
    "partnership_model_refit",
    "partnership_model_sharing",
)
BUDGET_MB = 8 * 1024  # the issue's: no process over 8 GB
TARGET_RATIO = 1.5  # the issue's: end to end at most 1.5x the bare compute's CPU


@dataclass
class Step:
    """One step of one Dagster run, from its STEP_START and STEP_SUCCESS/FAILURE events."""

    home: str  # "partnership", or the authority's code (its own instance)
    job: str
    run_id: str
    step: str
    pid: int | None
    start: float  # wall clock (the events' timestamps)
    end: float | None = None
    outcome: str = "running"

    @property
    def seconds(self) -> float:
        return (self.end - self.start) if self.end is not None else float("nan")


# ---- pure helpers (tests/unit/operations/test_partnership_benchmark.py) --------------------


def overlaps(steps: Iterable[Step], names: tuple[str, ...] = AUTHORITY_STEPS) -> list[dict]:
    """Each pair of the given steps (by name before its `[mapping key]`) that ran at the same
    time, with the seconds they shared; a step that never ended is left out."""
    chosen = sorted(
        (s for s in steps if s.end is not None and s.step.split("[")[0] in names),
        key=lambda s: (s.start, s.step),
    )
    out = []
    for i, a in enumerate(chosen):
        for b in chosen[i + 1 :]:
            shared = min(a.end, b.end) - max(a.start, b.start)
            if shared > 0:
                out.append({"steps": [a.step, b.step], "seconds": round(shared, 2)})
    return out


def parallel_efficiency(steps: Iterable[Step], wall: float, slots: int) -> float | None:
    """The steps' summed seconds over what `slots` processes could have run in `wall` seconds:
    1.0 is every slot busy for the whole run."""
    busy = sum(s.seconds for s in steps if s.end is not None)
    if wall <= 0 or slots < 1:
        return None
    return round(busy / (wall * slots), 3)


def span(steps: Iterable[Step], names: tuple[str, ...] = MODEL_STEPS) -> float | None:
    """Wall seconds from the first of the given steps' start to the last one's end (the
    partnership model's time in the run, however many of its steps ran at once); None when
    none of them ended."""
    chosen = [s for s in steps if s.end is not None and s.step.split("[")[0] in names]
    if not chosen:
        return None
    return round(max(s.end for s in chosen) - min(s.start for s in chosen), 2)


def step_usage(
    samples: Iterable[tuple[float, int, int, float]], steps: Iterable[Step]
) -> dict[tuple[str, str, str], dict[str, float]]:
    """Each step's CPU seconds and peak RSS (bytes), from samples (wall clock, pid, RSS, the
    process's CPU seconds so far) of the process the step ran in, while it ran: a sample's CPU
    since the process's previous sample counts for the step running in that process at the
    sample's time. Keyed by (home, run id, step)."""
    by_pid: dict[int, list[Step]] = {}
    for s in steps:
        if s.pid is not None:
            by_pid.setdefault(s.pid, []).append(s)
    usage: dict[tuple[str, str, str], dict[str, float]] = {}
    last_cpu: dict[int, float] = {}
    for t, pid, rss, cpu in sorted(samples):
        spent = cpu - last_cpu.get(pid, cpu)
        last_cpu[pid] = cpu
        for s in by_pid.get(pid, ()):
            if s.start <= t <= (s.end if s.end is not None else float("inf")):
                u = usage.setdefault((s.home, s.run_id, s.step), {"cpu": 0.0, "peak": 0})
                u["cpu"] += spent
                u["peak"] = max(u["peak"], rss)
                break
    return usage


def stage_of(home: str, step: str) -> str:
    """The stage a step's cost is counted under in the cost model: the partnership's own steps
    by name (route, model, summary; an authority's step is a wait for its child run), an
    authority's steps by benchmarks/run.py's stages (ingest, checks, link, ...)."""
    if home == "partnership":
        name = step.split("[")[0]
        return {
            "route_partnership_landing": "route",
            "partnership_summary": "summary",
        }.get(name, "partnership_model" if name in MODEL_STEPS else "authority_wait")
    return _stage_of(step)


def by_stage(rows: Iterable[dict]) -> dict[str, dict[str, float]]:
    """Seconds, CPU seconds (summed) and peak MB (the largest) of the steps of each stage."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        st = out.setdefault(r["stage"], {"seconds": 0.0, "cpu_seconds": 0.0, "peak_mb": 0})
        st["seconds"] = round(st["seconds"] + (r["seconds"] or 0.0), 2)
        st["cpu_seconds"] = round(st["cpu_seconds"] + (r["cpu_seconds"] or 0.0), 2)
        st["peak_mb"] = max(st["peak_mb"], r["peak_mb"] or 0)
    return out


def same_lists(shas: Mapping[str, str], base: Mapping[str, str] | None) -> dict[str, bool] | None:
    """For each authority, whether its ranked CSV's digest is the base run's (None: no base)."""
    if base is None:
        return None
    return {a: shas.get(a) is not None and shas.get(a) == base.get(a) for a in sorted(base)}


# ---- reading the runs ---------------------------------------------------------------------


def read_steps(dagster_home: Path, home: str) -> tuple[list[Step], list[dict]]:
    """Every step of every run in one Dagster instance (a home's `dagster/`), and each run's
    job, id and wall seconds (RUN_START to its end)."""
    import dagster as dg  # only here: the unit tests import this module without Dagster

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    steps: list[Step] = []
    runs: list[dict] = []
    try:
        instance = dg.DagsterInstance.get()
        try:
            for run in instance.get_runs():
                began = ended = None
                current: dict[str, Step] = {}
                for rec in instance.all_logs(run.run_id):
                    kind = rec.dagster_event_type
                    if kind == dg.DagsterEventType.RUN_START:
                        began = rec.timestamp
                    elif kind in (
                        dg.DagsterEventType.RUN_SUCCESS,
                        dg.DagsterEventType.RUN_FAILURE,
                    ):
                        ended = rec.timestamp
                    elif kind == dg.DagsterEventType.STEP_START:
                        s = Step(
                            home, run.job_name, run.run_id, rec.step_key,
                            rec.dagster_event.pid, rec.timestamp,
                        )  # fmt: skip
                        current[rec.step_key] = s
                        steps.append(s)
                    elif (
                        kind
                        in (
                            dg.DagsterEventType.STEP_SUCCESS,
                            dg.DagsterEventType.STEP_FAILURE,
                        )
                        and rec.step_key in current
                    ):
                        current[rec.step_key].end = rec.timestamp
                        current[rec.step_key].outcome = (
                            "success" if kind == dg.DagsterEventType.STEP_SUCCESS else "failure"
                        )
                runs.append(
                    {
                        "home": home,
                        "job": run.job_name,
                        "run_id": run.run_id,
                        "status": run.status.value,
                        "wall_seconds": round(ended - began, 2) if began and ended else None,
                        "start": began,
                    }
                )
        finally:
            instance.dispose()
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
    return steps, runs


def _ended_tree_cpu(proc: subprocess.Popen, timeout: float = 120.0) -> float | None:
    """Wait for `proc` and return the CPU seconds (user + system) of it and every descendant it
    waited for, from the kernel (wait4): exact, where sampling misses what ran between two
    samples. None when it could not be waited for here."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


# ---- one executor's run ---------------------------------------------------------------------


def run_executor(
    executor: str, landing: Path, work: Path, jobs: int, workers: int, training: Path | None
) -> dict:
    """`hearth partnership run` on `executor` in a fresh home `work/<executor>/home`, measured."""
    home = work / executor / "home"
    shutil.rmtree(work / executor, ignore_errors=True)
    home.mkdir(parents=True)
    env = without_hearth(HEARTH_HOME=str(home))
    cmd = [str(BIN / "hearth"), "partnership", "run", "--landing", str(landing)]
    cmd += ["--executor", executor, "--jobs", str(jobs)]
    if training is not None:
        cmd += ["--train-config", str(training)]
    redis, worker_procs = None, []
    if executor == "celery":
        redis, broker = _start_redis(work / executor)
        env["HEARTH_CELERY_BROKER"] = broker
        worker_procs = [_start_worker(i, landing, env, work / executor) for i in range(workers)]
        time.sleep(5)  # the workers connect to the broker
    load_before = list(os.getloadavg())
    print(f"[{executor}] {' '.join(cmd[1:])}", flush=True)
    began = time.time()
    try:
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        with ProcessPeaks([proc.pid, *(w.pid for w in worker_procs)], timeline=True) as peaks:
            for line in proc.stdout:
                print(f"  [{executor} {time.time() - began:7.0f} s] {line.rstrip()}", flush=True)
            command_cpu = _ended_tree_cpu(proc)
        wall = time.time() - began
        worker_cpu = [_stop_worker(w) for w in worker_procs]
    finally:
        for w in worker_procs:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=30)
    load_after = list(os.getloadavg())
    print(f"[{executor}] the command ended (exit {proc.returncode}) after {wall:.0f} s", flush=True)
    slots = {"in_process": 1, "multiprocess": jobs, "celery": workers}[executor]
    return measure(home, proc.returncode, wall, command_cpu, worker_cpu, peaks, slots) | {
        "load_average": [load_before, load_after],
    }


def measure(
    home: Path,
    code: int | None,
    wall: float,
    command_cpu: float | None,
    worker_cpu: list[float | None],
    peaks: ProcessPeaks,
    slots: int,
) -> dict:
    """What one executor's run did, read from its instances, its outputs and the samples."""
    steps, runs = read_steps(home / "dagster", "partnership")
    authorities = sorted(p.name for p in (home / "authorities").glob("*") if p.is_dir())
    for a in authorities:
        s, r = read_steps(home / "authorities" / a / "dagster", a)
        steps += s
        runs += r
    usage = step_usage(peaks.samples, steps)
    partnership_run = next((r for r in runs if r["home"] == "partnership"), {})
    origin = partnership_run.get("start") or min((s.start for s in steps), default=0.0)
    rows = []
    for s in sorted(steps, key=lambda s: s.start):
        u = usage.get((s.home, s.run_id, s.step), {"cpu": 0.0, "peak": 0})
        rows.append(
            {
                "home": s.home,
                "job": s.job,
                "step": s.step,
                "stage": stage_of(s.home, s.step),
                "outcome": s.outcome,
                "started_at": round(s.start - origin, 1),
                "seconds": round(s.seconds, 2) if s.end is not None else None,
                "cpu_seconds": round(u["cpu"], 1),
                "peak_mb": round(u["peak"] / 2**20),
                "pid": s.pid,
                "process": peaks.names.get(s.pid, "") if s.pid is not None else "",
            }
        )
    own = [s for s in steps if s.home == "partnership"]
    run_wall = partnership_run.get("wall_seconds") or wall
    sampled_cpu = sum(peaks.cpu.values())
    exact = command_cpu is not None and all(c is not None for c in worker_cpu)
    cpu = (command_cpu or 0.0) + sum(c or 0.0 for c in worker_cpu) if exact else sampled_cpu
    by_pid: dict[int, list[str]] = {}
    for s in steps:
        by_pid.setdefault(s.pid, []).append(f"{s.home}:{s.step}")
    processes = process_rows(peaks, by_pid)
    biggest = max((p["peak_mb"] for p in processes), default=0)
    shas = {
        a: _digest(home / "authorities" / a / "outputs" / "latest" / "ranked_households.csv")
        for a in authorities
    }
    summary = read_record(home / "partnership" / "run_summary.json") or {}
    in_steps = sum(r["cpu_seconds"] for r in rows)
    return {
        "exit_code": code,
        "published": summary.get("published"),
        "stopped": summary.get("stopped"),
        "as_of": next(
            (r.get("as_of") for r in summary.get("authorities_runs", []) if r.get("as_of")), None
        ),
        "model": {
            k: (summary.get("model") or {}).get(k) for k in ("retrained", "champion_version", "in")
        },
        "command_wall_seconds": round(wall, 1),
        "run_wall_seconds": round(run_wall, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_from": "kernel (wait4) of the command's and workers' trees"
        if exact
        else "samples (a tree could not be waited for)",
        "sampled_cpu_seconds": round(sampled_cpu, 1),
        # CPU of no step: processes starting (imports), Dagster's orchestration, the workers idle
        "cpu_outside_steps": round(cpu - in_steps, 1),
        "runs": [{k: v for k, v in r.items() if k != "start"} for r in runs],
        "steps": rows,
        "stages": by_stage(rows),
        "step_seconds_sum": round(sum(s.seconds for s in own if s.end is not None), 1),
        "slots": slots,
        "parallel_efficiency": parallel_efficiency(own, run_wall, slots),
        "authority_overlaps": overlaps(own),
        "authority_steps_overlap": bool(overlaps(own)),
        # the model's steps: their wall from the first's start to the last's end, and which of
        # its fits ran at the same time
        "model_wall_seconds": span(own),
        "model_fit_overlaps": overlaps(own, MODEL_FITS),
        "processes": processes,
        "max_process_peak_mb": biggest,
        "every_process_under_8gb": biggest < BUDGET_MB,
        "csv_sha256": shas,
    }


def _start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    redis = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return redis, f"redis://127.0.0.1:{port}/0"


def _start_worker(i: int, landing: Path, env: dict, folder: Path) -> subprocess.Popen:
    """A `hearth worker` of concurrency 1, its own process group (stopped by its PID)."""
    log = (folder / f"worker{i}.log").open("w")
    return subprocess.Popen(
        [str(BIN / "hearth"), "worker", "--concurrency", "1", "--name", f"bench{i}",
         "--landing", str(landing)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _is_celery(p: psutil.Process) -> bool:
    """celery's own process (`.../bin/celery ... worker`), not `dagster-celery` that started it."""
    try:
        cmd = p.cmdline()
    except psutil.Error:
        return False
    return len(cmd) > 1 and Path(cmd[1]).name == "celery"


def _stop_worker(worker: subprocess.Popen) -> float | None:
    """Stop a worker from the inside out and return its tree's CPU seconds: its celery master
    gets SIGTERM (a warm shutdown that waits for its pool), so `dagster-celery` and then `hearth
    worker` each wait for their child and the kernel counts the whole tree's CPU in the
    worker's. (SIGTERM to `hearth worker` or `dagster-celery` would end them at once and leave
    celery running, orphaned.) Anything left after the wait is killed with its group."""
    try:
        tree = psutil.Process(worker.pid).children(recursive=True)
    except psutil.Error:
        tree = []
    masters = [p for p in tree if _is_celery(p) and not _is_celery(p.parent() or p)]
    for p in masters:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    cpu = _ended_tree_cpu(worker, timeout=120.0)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # its group: whatever did not stop
    return cpu


# ---- the bare compute -------------------------------------------------------------------------


def bare_partnership(landing: Path, work: Path, as_of: str, train_params) -> dict:
    """The partnership's compute called directly in this process: the routing, each
    authority's ingest, linkage and features in its own warehouse file, the model fit once on
    the union of their feature sets, each authority scored (benchmarks/run.py's bare parts)."""
    from hearth.linkage.partnership import route
    from hearth.warehouse import connect, union_of

    cpu0 = time.process_time()
    times: dict[str, float] = {}
    t = time.perf_counter()
    routing = route(landing, work / "authorities", work / "routing.duckdb")
    times["route"] = time.perf_counter() - t
    warehouses = {a: work / "authorities" / a / "bare.duckdb" for a in routing.authorities}
    cpu_by_part = {"route": time.process_time() - cpu0}
    for a, path in warehouses.items():
        c = time.process_time()
        with connect(path) as con:
            bare_prepare(con, work / "authorities" / a / "landing", as_of, times)
        cpu_by_part[f"prepare {a}"] = time.process_time() - c
    c = time.process_time()
    with union_of(list(warehouses.values())) as con:
        model, names, cap = bare_train(con, as_of, train_params, times)
    cpu_by_part["train"] = time.process_time() - c
    for a, path in warehouses.items():
        c = time.process_time()
        with connect(path) as con:
            bare_score(con, model, names, cap, as_of, times)
        cpu_by_part[f"score {a}"] = time.process_time() - c
    times["total"] = sum(times.values())
    times["cpu_total"] = time.process_time() - cpu0
    return {
        "seconds": {k: round(v, 2) for k, v in times.items()},
        "cpu_seconds": {k: round(v, 2) for k, v in cpu_by_part.items()},
        "cpu_total": round(times["cpu_total"], 1),
    }


def run_bare(landing: Path, work: Path, as_of: str, keep: bool = False) -> dict:
    """`bare_partnership` in a fresh process (not this one's heap), its peak RSS sampled; its
    folder (the authorities' bare warehouses) kept with `keep`, to measure one step on them."""
    from hearth.modelling.training.params import TrainParams

    folder = work / "bare"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env_before = {k: os.environ.get(k) for k in ("HEARTH_HOME",)}
    os.environ["HEARTH_HOME"] = str(folder / "home")  # settings read by the library, if any
    t = time.perf_counter()
    try:
        with mp.get_context("spawn").Pool(1) as pool:
            job = pool.apply_async(bare_partnership, (landing, folder, as_of, TrainParams()))
            with ProcessPeaks([os.getpid()]) as peaks:
                bare = job.get()
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    me = os.getpid()
    bare["wall_seconds"] = round(time.perf_counter() - t, 1)
    bare["peak_mb"] = round(max((v for p, v in peaks.peaks.items() if p != me), default=0) / 2**20)
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return bare


# ---- the whole benchmark ------------------------------------------------------------------------


def synthesise(world: Path, households: int, seed: int, reuse: bool) -> bool:
    """The world in `world/landing` and `world/_truth`: reused when asked and there, else made
    afresh with `hearth synth`. True when reused."""
    landing, truth = world / "landing", world / "_truth"
    if reuse and landing.is_dir() and truth.is_dir():
        print(f"Reusing the world in {world}", flush=True)
        return True
    shutil.rmtree(world, ignore_errors=True)
    print(f"Synthesising {households:,} households (seed {seed}) into {world}", flush=True)
    subprocess.run(
        [str(BIN / "hearth"), "synth", "--households", str(households), "--seed", str(seed),
         "--out", str(landing), "--truth", str(truth)],
        env=without_hearth(),
        check=True,
    )  # fmt: skip
    return False


def authority_households(landing: Path) -> dict[str, int]:
    """Households of each authority in the world: each household's authority in the newest
    address record of it (a household that moved counts where it lives last). The cost model
    (benchmarks/partnership_cost.py) draws the authorities' steps against their own size."""
    import polars as pl  # only here: the step helpers above need no frames

    files = sorted(landing.glob("addresses/*/*.parquet"))
    if not files:
        return {}
    newest = (
        pl.scan_parquet(files, include_file_paths="file")
        .select("household_pid", "la_code", "file")
        .sort("file", maintain_order=True)
        .group_by("household_pid")
        .agg(pl.col("la_code").last())
        .group_by("la_code")
        .len()
        .collect()
    )
    return {la: n for la, n in sorted(newest.iter_rows())}


def compare(results: dict[str, dict], bare: dict | None) -> None:
    """Each executor's lists against the in-process run's, and its CPU against the bare's."""
    base = results.get("in_process", {}).get("csv_sha256")
    for r in results.values():
        r["same_csv_as_in_process"] = same_lists(r["csv_sha256"], base)
        if bare:
            r["ratio_cpu_to_bare_cpu"] = round(r["cpu_seconds"] / bare["cpu_total"], 3)
            r["within_target_ratio"] = r["ratio_cpu_to_bare_cpu"] <= TARGET_RATIO


def stages_grew(now: Mapping[str, dict], then: Mapping[str, dict], where: str) -> list[str]:
    """A sentence for each stage whose CPU seconds or peak MB grew by more than benchmarks/
    run.py's GREW since the last result (`now`, `then`: stage -> {cpu_seconds, peak_mb})."""
    out = []
    for stage, row in now.items():
        before = then.get(stage) or {}
        for what, key, unit in (("CPU", "cpu_seconds", "s"), ("peak memory", "peak_mb", "MB")):
            a, b = row.get(key), before.get(key)
            if a is not None and b and a > GREW * b:
                out.append(f"{where} {stage}: {what} grew from {b:,} {unit} to {a:,} {unit}")
    return out


def last_result(households: int, quick: bool, exclude: Path) -> tuple[str, dict] | None:
    """The newest partnership result at the same size and training (by date, then the time it
    started, then name)."""
    found = []
    for path in RESULTS.glob(f"partnership-*-{households}-*.json"):
        data = json.loads(path.read_text())
        was_quick = data.get("training_quick", path.stem.endswith("-quick"))  # older files
        if path == exclude or was_quick != quick:
            continue
        if data.get("households") == households:
            found.append((data.get("date", ""), data.get("started", ""), path.name, data))
    if not found:
        return None
    *_, name, data = max(found, key=lambda f: f[:3])
    return name, data


def result_name(started: datetime, households: int, executors: list[str], label: str) -> str:
    """The results file's name: the run's start (UTC date and time to the minute), the size,
    the executors and a label, so that no two runs overwrite each other's."""
    tail = "-".join(executors) + (f"-{label}" if label else "")
    return f"partnership-{started:%Y-%m-%d-%H%M}-{households}-{tail}.json"


def beside_last(result: dict, last: tuple[str, dict] | None) -> tuple[dict, list[str]]:
    """Each executor's stages (CPU s, peak MB) now and in the last result, and what grew."""
    if last is None:
        return {}, []
    name, before = last
    rows, grew = {}, []
    for executor, r in result["executors"].items():
        then = ((before.get("executors") or {}).get(executor) or {}).get("stages") or {}
        if not then:
            continue
        rows[executor] = {
            stage: {
                "cpu_seconds": row["cpu_seconds"],
                "last_cpu_seconds": (then.get(stage) or {}).get("cpu_seconds"),
                "peak_mb": row["peak_mb"],
                "last_peak_mb": (then.get(stage) or {}).get("peak_mb"),
            }
            for stage, row in r["stages"].items()
        }
        grew += stages_grew(r["stages"], then, executor)
    return {"file": name, "executors": rows}, grew


def print_table(results: dict[str, dict], bare: dict | None) -> None:
    print(
        f"\n{'executor':<13}{'wall s':>8}{'CPU s':>8}{'x bare':>8}{'eff':>7}{'overlap':>9}"
        f"{'max MB':>8}  same CSV"
    )
    for name, r in results.items():
        same = r.get("same_csv_as_in_process")
        print(
            f"{name:<13}{r['run_wall_seconds']:>8}{r['cpu_seconds']:>8}"
            f"{r.get('ratio_cpu_to_bare_cpu', '-'):>8}{r.get('parallel_efficiency', '-'):>7}"
            f"{str(r['authority_steps_overlap']):>9}{r['max_process_peak_mb']:>8}  "
            f"{'-' if same is None else all(same.values())}"
        )
    if bare:
        print(f"{'bare':<13}{bare['wall_seconds']:>8}{bare['cpu_total']:>8}{'':>24}"
              f"{bare['peak_mb']:>8}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-partnership-bench"))
    ap.add_argument(
        "--executors",
        default=",".join(EXECUTORS),
        help="which to run, in this order (the lists are compared with in_process's)",
    )
    ap.add_argument("--jobs", type=int, default=2, help="multiprocess: steps at once")
    ap.add_argument("--workers", type=int, default=2, help="celery workers (concurrency 1)")
    ap.add_argument(
        "--reuse-world",
        action="store_true",
        help="Reuse a world already synthesised in the work folder (same households).",
    )
    ap.add_argument("--no-bare", action="store_true", help="Leave out the bare compute.")
    ap.add_argument(
        "--quick-training",
        action="store_true",
        help=f"train with {TRAINING} (a smoke test; the default is the pipeline's own settings)",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="Keep the executors' homes afterwards, and the bare's warehouses (WORK/N/bare).",
    )
    ap.add_argument("--label", default="", help="a word for the results file's name")
    ap.add_argument(
        "--bare-only",
        metavar="AS_OF",
        default=None,
        help="Run only the bare compute, at this month (an executor's run's `as_of`, e.g. "
        "2026-01): at 1,000,000 households the bare run can then be measured on its own, "
        "beside or after an executor's run of the same world; results file ...-bare.json",
    )
    args = ap.parse_args()
    chosen = [e.strip() for e in args.executors.split(",") if e.strip()]
    if args.bare_only:
        chosen = []
    elif not chosen or not set(chosen) <= set(EXECUTORS):
        raise SystemExit(f"--executors: one or more of {', '.join(EXECUTORS)}.")

    work = (args.work / str(args.households)).resolve()
    work.mkdir(parents=True, exist_ok=True)
    reused = synthesise(work / "world", args.households, args.seed, args.reuse_world)
    landing = work / "world" / "landing"
    training = None
    if args.quick_training:
        training = work / "training.yaml"
        training.write_text(yaml.safe_dump(TRAINING))
    started = datetime.now(UTC)
    result: dict = {
        "date": started.date().isoformat(),
        "started": started.isoformat(timespec="seconds"),
        "label": args.label,
        "households": args.households,
        "seed": args.seed,
        "world_reused": reused,
        "commit": _commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "nice": os.nice(0),
        },
        "training": TRAINING if args.quick_training else "the pipeline's own settings",
        "training_quick": args.quick_training,
        "jobs": args.jobs,
        "workers": args.workers,
        "executors": {},
        "bare": None,
        "authority_households": authority_households(landing),
    }
    label = "-".join(x for x in (args.label, "quick" if args.quick_training else "") if x)
    out = RESULTS / result_name(started, args.households, chosen or ["bare"], label)

    def save() -> None:
        compare(result["executors"], result["bare"])
        out.write_text(json.dumps(result, indent=1, default=str) + "\n")
        print(f"(written {out})", flush=True)

    if args.bare_only:
        print(f"[bare] the compute without Dagster, at {args.bare_only}", flush=True)
        bare = run_bare(landing, work, args.bare_only, args.keep)
        result["bare"] = bare | {"as_of": args.bare_only}
        print(f"[bare] {result['bare']['wall_seconds']} s wall, "
              f"{result['bare']['cpu_total']} CPU s, peak {result['bare']['peak_mb']} MB",
              flush=True)  # fmt: skip
        save()
        return
    for executor in chosen:
        r = run_executor(executor, landing, work, args.jobs, args.workers, training)
        result["executors"][executor] = r
        if not args.keep:
            shutil.rmtree(work / executor, ignore_errors=True)
        save()
        if r["exit_code"] != 0:
            print(f"[{executor}] the partnership's run failed; stopped: {r['stopped']}")
        if result["bare"] is None and not args.no_bare and r.get("as_of"):
            print(f"[bare] the same compute without Dagster, at {r['as_of']}", flush=True)
            result["bare"] = run_bare(landing, work, r["as_of"], args.keep)
            print(
                f"[bare] {result['bare']['wall_seconds']} s wall, "
                f"{result['bare']['cpu_total']} CPU s",
                flush=True,
            )
            save()
    result["beside_last"], grew = beside_last(
        result, last_result(args.households, args.quick_training, out)
    )
    save()
    print_table(result["executors"], result["bare"])
    if result["beside_last"]:
        print(f"Beside {result['beside_last']['file']}:")
    for sentence in grew:
        print(f"  GREW: {sentence}")
    print(f"Wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
