"""The workbooks of a delivery as jobs: the commissioners' main workbook and each role's files,
written in turn or, for long lists, in parallel child processes
(`python -m hearth.publish.workbook_jobs JOBFILE`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import polars as pl

from hearth.publish.role_files import write_role_files
from hearth.publish.roles import role_view
from hearth.publish.words import ListMeta
from hearth.publish.workbook import write_workbook


def timed_call(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return round(time.perf_counter() - t, 3)


def workbook_job(kind: str, top_rows: pl.DataFrame, areas, path: str, meta: ListMeta, tiers):
    """One workbook to write: the commissioners' main workbook or a role's files."""

    if kind == "main":
        return lambda: write_workbook(
            Path(path), role_view(top_rows, "commissioner"), meta, areas, tiers
        )
    return lambda: write_role_files(Path(path), top_rows, meta, areas, None, tiers)


def in_processes(jobs, top_rows: pl.DataFrame, areas, workers: int) -> dict[str, float]:
    """Write the workbooks in `workers` child processes (`python -m hearth.publish.workbook_jobs
    JOBFILE`).

    xlsxwriter is pure Python, so a million households' lists (six workbooks of 50,000 rows)
    are CPU-bound. Children are started as fresh interpreters on this module, not with
    multiprocessing, which would re-import the caller's __main__ (a script, a notebook)."""
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hearth-workbooks-") as tmp:
        tmp_dir = Path(tmp)
        top_rows.write_parquet(tmp_dir / "top.parquet")
        areas.write_parquet(tmp_dir / "areas.parquet")
        procs = []
        for w in range(workers):
            mine = [
                {"name": name, "kind": kind, "path": path, "meta": asdict(meta), "tiers": tiers}
                for name, kind, (path, meta, tiers) in jobs[w::workers]
            ]
            job_file = tmp_dir / f"jobs-{w}.json"
            job_file.write_text(json.dumps({"dir": tmp, "jobs": mine}), encoding="utf-8")
            procs.append(
                (
                    job_file,
                    subprocess.Popen(
                        [sys.executable, "-m", "hearth.publish.workbook_jobs", str(job_file)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    ),
                )
            )
        problems = []
        for job_file, proc in procs:
            _, stderr = proc.communicate()
            if proc.returncode != 0:
                lines = [ln for ln in (stderr or "").strip().splitlines() if ln.strip()]
                problems.append(lines[-1] if lines else f"exit status {proc.returncode}")
                continue
            timings.update(json.loads(job_file.with_suffix(".done").read_text()))
        if problems:
            raise RuntimeError(f"Writing the workbooks failed: {problems[0]}")
    return timings


def _worker(job_file: Path) -> None:
    spec = json.loads(job_file.read_text(encoding="utf-8"))
    tmp_dir = Path(spec["dir"])
    top_rows = pl.read_parquet(tmp_dir / "top.parquet")
    areas = pl.read_parquet(tmp_dir / "areas.parquet")
    done = {}
    for job in spec["jobs"]:
        meta = ListMeta(**job["meta"])
        fn = workbook_job(job["kind"], top_rows, areas, job["path"], meta, job["tiers"])
        done[job["name"]] = timed_call(fn)
    job_file.with_suffix(".done").write_text(json.dumps(done), encoding="utf-8")


if __name__ == "__main__":  # a workbook-writing child of in_processes
    _worker(Path(sys.argv[1]))
