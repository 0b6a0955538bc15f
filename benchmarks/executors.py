"""The same world on each executor: in-process, multiprocess, and celery with two workers
(Debian's redis-server started here on a free port, nothing written to disk). For each: wall
time, each step's time and the process it ran in (from Dagster's own step events), parallel
efficiency, peak memory per process, and whether the ranked list is byte-identical to the
in-process run's.

    nice .venv/bin/python benchmarks/executors.py --households 20000 --work /tmp/hearth-exec
    .venv/bin/python benchmarks/executors.py --households 100000 --executors in_process,multiprocess

Parallel efficiency = the steps' summed seconds / (wall seconds x the processes that could run
steps at once): 1.0 means every slot was busy all the run. Speed-up = in-process wall / wall.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.environment import without_hearth  # noqa: E402

BIN = Path(sys.executable).parent
TRAINING = {"max_iter": 60, "max_leaf_nodes": 15, "min_samples_leaf": 20}


class ProcessPeaks:
    """Peak RSS of every process under the given roots, sampled every `interval` seconds. With
    `timeline`, every sample is kept too, (wall clock, pid, RSS, CPU seconds), so that a step's
    CPU and peak can be read for the time it ran (benchmarks/partnership.py)."""

    def __init__(self, roots: list[int], interval: float = 0.2, timeline: bool = False) -> None:
        self.roots, self.interval, self.timeline = roots, interval, timeline
        self.samples: list[tuple[float, int, int, float]] = []
        self.peaks: dict[int, int] = {}
        self.cpu: dict[int, float] = {}  # CPU seconds (user + system) at the last sample
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for root in list(self.roots):
                try:
                    procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
                except psutil.Error:
                    continue
                for p in procs:
                    try:
                        rss = p.memory_info().rss
                        t = p.cpu_times()
                        self.cpu[p.pid] = t.user + t.system
                        self.names.setdefault(p.pid, " ".join(p.cmdline()[:4])[-80:])
                    except psutil.Error:
                        continue
                    self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), rss)
                    if self.timeline:
                        self.samples.append((time.time(), p.pid, rss, self.cpu[p.pid]))
            time.sleep(self.interval)

    def __enter__(self) -> ProcessPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def process_rows(peaks: ProcessPeaks, by_pid: dict[int, list[str]]) -> list[dict]:
    """Each process above 50 MB, largest first: its peak, CPU, the steps it ran and its name."""
    return [
        {
            "pid": pid,
            "peak_mb": round(peak / 2**20),
            "cpu_seconds": round(peaks.cpu.get(pid, 0.0), 1),
            "steps": sorted(by_pid.get(pid, [])),
            "what": peaks.names.get(pid, ""),
        }
        for pid, peak in sorted(peaks.peaks.items(), key=lambda kv: -kv[1])
        if peak > 50 * 2**20
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _steps(home: Path) -> tuple[dict[str, dict], float]:
    """Each step's seconds and pid from the run's STEP_START/STEP_SUCCESS events, and the run's
    wall seconds (RUN_START to RUN_SUCCESS), read from the run's Dagster instance."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        import dagster as dg

        instance = dg.DagsterInstance.get()
        run = instance.get_runs(limit=1)[0]
        steps: dict[str, dict] = {}
        wall = [None, None]
        for rec in instance.all_logs(run.run_id):
            kind = rec.dagster_event_type
            if kind == dg.DagsterEventType.RUN_START:
                wall[0] = rec.timestamp
            elif kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
                wall[1] = rec.timestamp
            elif kind == dg.DagsterEventType.STEP_START:
                steps[rec.step_key] = {"start": rec.timestamp, "pid": rec.dagster_event.pid}
            elif kind == dg.DagsterEventType.STEP_SUCCESS:
                steps[rec.step_key]["seconds"] = rec.timestamp - steps[rec.step_key]["start"]
    finally:
        os.environ.pop("DAGSTER_HOME", None)
    return steps, (wall[1] - wall[0]) if None not in wall else float("nan")


def _run(executor: str, landing: Path, work: Path, env: dict, workers: list[int]) -> dict:
    home = work / executor
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    training = work / "training.yaml"
    cmd = [str(BIN / "hearth"), "run", "--landing", str(landing), "--executor", executor]
    if training.exists():
        cmd += ["--train-config", str(training)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        env={**env, "HEARTH_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with ProcessPeaks([proc.pid, *workers]) as peaks:
        for line in proc.stdout:
            print(f"  [{executor}] {line.rstrip()}", flush=True)
        proc.wait()
    total = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"The {executor} run failed (exit {proc.returncode}).")
    steps, wall = _steps(home)
    csv = (home / "outputs" / "latest" / "ranked_households.csv").read_bytes()
    by_pid: dict[int, list[str]] = {}
    for key, s in steps.items():
        by_pid.setdefault(s["pid"], []).append(key)
    return {
        "command_seconds": round(total, 1),
        "run_wall_seconds": round(wall, 1),
        "step_seconds": {k: round(s.get("seconds", float("nan")), 2) for k, s in steps.items()},
        "step_sum_seconds": round(sum(s.get("seconds", 0.0) for s in steps.values()), 1),
        "processes": process_rows(peaks, by_pid),
        "csv_sha256": hashlib.sha256(csv).hexdigest(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-executors"))
    ap.add_argument("--workers", type=int, default=2, help="celery workers (concurrency 1 each)")
    ap.add_argument(
        "--executors",
        default="in_process,multiprocess,celery",
        help="which to run, in_process first (the others are compared with it)",
    )
    ap.add_argument(
        "--quick-training",
        action="store_true",
        help=f"train with {TRAINING} (faster; the default is the pipeline's own settings)",
    )
    args = ap.parse_args()
    chosen = [e.strip() for e in args.executors.split(",") if e.strip()]
    if chosen[:1] != ["in_process"] or not set(chosen) <= {"in_process", "multiprocess", "celery"}:
        raise SystemExit("--executors: in_process first, then any of multiprocess, celery.")

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.quick_training:
        (work / "training.yaml").write_text(yaml.safe_dump(TRAINING))
    else:
        (work / "training.yaml").unlink(missing_ok=True)
    landing = work / "world" / "landing"
    if not landing.exists():
        print(f"Synthesising {args.households:,} households", flush=True)
        subprocess.run(
            [
                str(BIN / "hearth"),
                "synth",
                "--households",
                str(args.households),
                "--seed",
                str(args.seed),
                "--out",
                str(landing),
                "--truth",
                str(work / "world" / "_truth"),
            ],
            env=without_hearth(),
            check=True,
        )
    env = without_hearth()
    results: dict[str, dict] = {}
    for executor in (e for e in chosen if e != "celery"):
        results[executor] = _run(executor, landing, work, env, [])
    if "celery" in chosen:
        results["celery"] = _celery(args, landing, work, env)
    _report(args, results)


def _celery(args, landing: Path, work: Path, env: dict) -> dict:
    """The run on celery: Debian's redis-server on a free port and `args.workers` workers."""

    port = _free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    broker = f"redis://127.0.0.1:{port}/0"
    celery_env = {**env, "HEARTH_CELERY_BROKER": broker, "HEARTH_HOME": str(work / "celery")}
    shutil.rmtree(work / "celery", ignore_errors=True)
    (work / "celery").mkdir()
    workers = [
        subprocess.Popen(
            [
                str(BIN / "hearth"),
                "worker",
                "--concurrency",
                "1",
                "--name",
                f"bench{i}",
                "--landing",
                str(landing),
            ],
            env=celery_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for i in range(args.workers)
    ]
    try:
        time.sleep(5)  # the workers connect to the broker
        return _run(
            "celery",
            landing,
            work,
            {**env, "HEARTH_CELERY_BROKER": broker},
            [w.pid for w in workers],
        )
    finally:
        for w in workers:
            os.killpg(w.pid, 15)
            w.wait(timeout=60)
        redis.terminate()
        redis.wait(timeout=30)


def _report(args, results: dict[str, dict]) -> None:
    slots = {"in_process": 1, "multiprocess": os.cpu_count() or 1, "celery": args.workers}
    base = results["in_process"]
    for name, r in results.items():
        r["slots"] = slots[name]
        r["parallel_efficiency"] = round(
            r["step_sum_seconds"] / (r["run_wall_seconds"] * slots[name]), 2
        )
        r["speed_up_vs_in_process"] = round(base["run_wall_seconds"] / r["run_wall_seconds"], 2)
        r["same_csv_as_in_process"] = r["csv_sha256"] == base["csv_sha256"]
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "households": args.households,
        "cores": os.cpu_count(),
        "training": TRAINING if args.quick_training else "the pipeline's own settings",
        # a shared machine: wall seconds include the neighbours' load
        "load_average_at_end": list(os.getloadavg()),
        "results": results,
    }
    out = HERE / "results" / f"executors-{summary['date']}-{args.households}.json"
    out.write_text(json.dumps(summary, indent=1))
    print(
        f"\n{'executor':<13}{'wall s':>8}{'steps s':>9}{'eff':>6}{'speed-up':>10}"
        f"{'peak MB':>9}  same CSV"
    )
    for name, r in results.items():
        peak = max((p["peak_mb"] for p in r["processes"]), default=0)
        print(
            f"{name:<13}{r['run_wall_seconds']:>8}{r['step_sum_seconds']:>9}"
            f"{r['parallel_efficiency']:>6}{r['speed_up_vs_in_process']:>10}{peak:>9}  "
            f"{r['same_csv_as_in_process']}"
        )
    print(f"Written {out}")


if __name__ == "__main__":
    main()
