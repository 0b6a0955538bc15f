"""What commissioners and partner agencies receive, written into a published output folder:

- `ranked_households.xlsx`: cover sheet, area summary, a sheet per local authority with the
  published top of the list (by default the top 5% of households);
- `roles/<role>/ranked_households.{csv,xlsx}`: the published top as each role may see it;
- `model/`: the champion's model card, plots and tables, copied from its MLflow run;
- `plans/` when a capacity file is given: each team's visit plan and a summary;
- `report.html`: one self-contained page for commissioners.

In the pipeline all of it is written inside `publish_atomically`'s temporary folder, so it
appears with the ranked list or not at all. The CLI commands that add to a published folder
later (`hearth publish --role`, `hearth plan`) replace one sub-folder or file at a time, each
written beside its place and renamed in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import polars as pl

from hearth import settings
from hearth.publish.ranked import area_counts
from hearth.publish.roles import role_view
from hearth.publish.words import ListMeta, top_words
from hearth.quality.contracts import ROLES

DEFAULT_TOP = 0.05  # the very high and high tiers
# Lists of this many rows or more have their workbooks written in parallel processes.
PARALLEL_FROM = 20_000
MAX_WORKERS = 4


def publish_top() -> float:
    """The published top: HEARTH_PUBLISH_TOP (a share such as 0.05, or a number such as 2000),
    default the top 5% of households."""
    raw = os.environ.get("HEARTH_PUBLISH_TOP", "").strip()
    if not raw:
        return DEFAULT_TOP
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"HEARTH_PUBLISH_TOP is {raw!r}; use a share such as 0.05 or a count such as 2000."
        ) from None
    if value <= 0:
        raise ValueError("HEARTH_PUBLISH_TOP must be above 0.")
    return value


def top_count(top: float, n: int) -> int:
    """Households in the published top: a share of all (0 < top < 1) or a number (top >= 1)."""
    if top <= 0:
        raise ValueError("the published top must be a share above 0 or a number of households")
    if not n:
        return 0
    if top < 1:
        # the ranks r with r / n <= top, exactly as the risk tiers are cut (models/score.py)
        k = int(top * n)
        while k < n and (k + 1) / n <= top:
            k += 1
        while k > 0 and k / n > top:
            k -= 1
        return max(1, k)
    return min(int(top), n)


def published_top(ranked: pl.DataFrame, top: float) -> pl.DataFrame:
    return ranked.filter(pl.col("rank") <= top_count(top, ranked.height)).sort("rank")


def list_meta(summary: dict, published: int, top: float, role: str | None) -> ListMeta:
    model = summary.get("model") or {}
    version = model.get("version")
    name = model.get("name", "household_crisis_risk")
    return ListMeta(
        as_of=str(summary.get("as_of")),
        model=f"{name} version {version}" if version else f"{name} (no champion)",
        generated_at=str(summary.get("generated_at", "")),
        households=int(summary.get("households_scored", 0)),
        published=published,
        top_words=top_words(top, published),
        role=role,
    )


def write_role_files(
    folder: Path,
    top_rows: pl.DataFrame,
    meta: ListMeta,
    areas,
    same_workbook: Path | None = None,
    tiers: dict[str, int] | None = None,
) -> None:
    """`folder/ranked_households.{csv,xlsx}` in the role's view. `same_workbook`: a workbook
    already written for this role's view (the commissioners' main one), copied, not rewritten."""
    from hearth.publish.workbook import write_workbook

    assert meta.role is not None
    view = role_view(top_rows, meta.role)
    folder.mkdir(parents=True, exist_ok=True)
    view.with_columns(pl.col("score").round(6)).write_csv(folder / "ranked_households.csv")
    if same_workbook is not None:
        shutil.copyfile(same_workbook, folder / "ranked_households.xlsx")
    else:
        write_workbook(folder / "ranked_households.xlsx", view, meta, areas, tiers)


def write_plans(folder: Path, ranked_top: pl.DataFrame, capacity: Path, summary: dict) -> dict:
    """`folder/plans/`: one CSV and XLSX per team in its agency's view, and plan_summary.json."""
    from hearth.publish.capacity import allocate, load_capacity
    from hearth.publish.workbook import write_workbook

    teams = load_capacity(capacity)
    plan = allocate(ranked_top, teams)
    out = folder / "plans"
    out.mkdir(parents=True, exist_ok=True)
    for tp in plan.teams:
        view = role_view(tp.households, tp.team.agency).with_columns(
            tp.households["visit_order"], pl.lit(tp.team.name).alias("team")
        )
        view = view.select(
            "visit_order", "team", *[c for c in view.columns if c not in ("visit_order", "team")]
        )
        view.with_columns(pl.col("score").round(6)).write_csv(out / f"{tp.team.slug}.csv")
        meta = list_meta(summary, tp.planned, 1, tp.team.agency)
        meta = ListMeta(
            **{
                **meta.__dict__,
                "top_words": f"the visit plan of {tp.team.name}: {tp.planned:,} households "
                f"for {tp.team.visits_per_month:,} visits",
            }
        )
        write_workbook(out / f"{tp.team.slug}.xlsx", view.drop("team"), meta)
    data = {"as_of": summary.get("as_of"), "capacity_file": capacity.name, **plan.summary()}
    (out / "plan_summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def write_deliverables(
    folder: Path,
    ranked: pl.DataFrame,
    summary: dict,
    model_dir: Path | None = None,
    top: float = DEFAULT_TOP,
    capacity: Path | None = None,
    roles: tuple[str, ...] = ROLES,
    warn: Callable[[str], None] = lambda _: None,
    parallel_from: int = PARALLEL_FROM,
) -> dict[str, float]:
    """Everything people receive, into `folder` (which already holds the ranked list and
    run_summary.json). Returns seconds per part."""
    from hearth.publish.report import write_report

    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], object]) -> object:
        t = time.perf_counter()
        out = fn()
        timings[name] = round(time.perf_counter() - t, 3)
        return out

    top_rows = published_top(ranked, top)
    areas = area_counts(ranked)
    if model_dir is not None and model_dir.is_dir():
        shutil.copytree(model_dir, folder / "model", dirs_exist_ok=True)
    # The main workbook is the commissioners' view: the same file serves roles/commissioner/.
    tiers = summary.get("risk_tiers")
    main = folder / "ranked_households.xlsx"
    jobs: list[tuple[str, str, tuple]] = [
        (
            "workbook",
            "main",
            (str(main), list_meta(summary, top_rows.height, top, "commissioner"), tiers),
        )
    ]
    for role in roles:
        if role != "commissioner":
            meta = list_meta(summary, top_rows.height, top, role)
            jobs.append((f"role {role}", "role", (str(folder / "roles" / role), meta, tiers)))
    workers = min(len(jobs), os.cpu_count() or 1, MAX_WORKERS)
    t = time.perf_counter()
    if workers > 1 and top_rows.height >= parallel_from:
        timings.update(_in_processes(jobs, top_rows, areas, workers))
    else:
        for name, kind, args in jobs:
            timings[name] = _timed_call(_job(kind, top_rows, areas, *args))
    timings["workbooks (wall)"] = round(time.perf_counter() - t, 3)
    if "commissioner" in roles:
        meta = list_meta(summary, top_rows.height, top, "commissioner")
        timed(
            "role commissioner",
            lambda: write_role_files(
                folder / "roles" / "commissioner", top_rows, meta, areas, main, tiers
            ),
        )
    plan = None
    if capacity is not None:
        from hearth.publish.capacity import CapacityError

        try:
            plan = timed("plans", lambda: write_plans(folder, top_rows, capacity, summary))
        except CapacityError as e:  # the list matters more than the plans: publish without
            shutil.rmtree(folder / "plans", ignore_errors=True)
            warn(f"No visit plans: {e}")
    timed(
        "report",
        lambda: write_report(
            folder / "report.html", summary, ranked, folder / "model", plan, areas=areas
        ),
    )
    return timings


def _timed_call(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return round(time.perf_counter() - t, 3)


def _job(kind: str, top_rows: pl.DataFrame, areas, path: str, meta: ListMeta, tiers):
    """One workbook to write: the commissioners' main workbook or a role's files."""
    from hearth.publish.workbook import write_workbook

    if kind == "main":
        return lambda: write_workbook(
            Path(path), role_view(top_rows, "commissioner"), meta, areas, tiers
        )
    return lambda: write_role_files(Path(path), top_rows, meta, areas, None, tiers)


def _in_processes(jobs, top_rows: pl.DataFrame, areas, workers: int) -> dict[str, float]:
    """Write the workbooks in `workers` child processes (`python -m hearth.publish.deliver JOBFILE`).

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
                        [sys.executable, "-m", "hearth.publish.deliver", str(job_file)],
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
        fn = _job(job["kind"], top_rows, areas, job["path"], meta, job["tiers"])
        done[job["name"]] = _timed_call(fn)
    job_file.with_suffix(".done").write_text(json.dumps(done), encoding="utf-8")


def capacity_file() -> Path | None:
    """HEARTH_HOME/capacity.yaml if there is one: then every published run makes visit plans."""
    path = settings.hearth_home() / "capacity.yaml"
    return path if path.is_file() else None


# ---- adding to a folder that is already published ------------------------------------------


def replace_path(parent: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Write `parent/name` (a file or a folder) beside its place, then swap it in."""
    tmp = parent / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    try:
        write(tmp)
        final = parent / name
        if final.is_dir() and not final.is_symlink():
            old = parent / f".old-{name}-{uuid.uuid4().hex[:8]}"
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        return final
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def published_folder(outputs: Path, as_of: str | None) -> Path:
    """The folder of the published list for `as_of` (default the latest). While a run that was
    killed as it committed waits for recovery, that is the list its commit is putting in place."""
    from hearth.publish.outputs import committed_folder, last_good_folder

    folder = committed_folder(outputs, as_of) or outputs / (as_of or "latest")
    if not (folder / "ranked_households.parquet").is_file():
        folder = last_good_folder(outputs, as_of or "latest") or folder
    if not (folder / "ranked_households.parquet").is_file():
        which = f"for {as_of}" if as_of else "yet"
        raise FileNotFoundError(
            f"No published list {which} in {outputs}: run `hearth run` first"
            + (f" or check the month (folders: {_months(outputs)})." if as_of else ".")
        )
    return folder.resolve()


def _months(outputs: Path) -> str:
    names = sorted(p.name for p in outputs.iterdir() if p.is_dir() and p.name[:1].isdigit())
    return ", ".join(names) or "none"


def load_published(folder: Path) -> tuple[pl.DataFrame, dict]:
    ranked = pl.read_parquet(folder / "ranked_households.parquet")
    summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    return ranked, summary


def publish_roles(folder: Path, roles: tuple[str, ...], top: float = DEFAULT_TOP) -> list[Path]:
    """`hearth publish --role`: (re)write roles/<role>/ in a published folder."""
    ranked, summary = load_published(folder)
    top_rows = published_top(ranked, top)
    areas = area_counts(ranked)
    (folder / "roles").mkdir(exist_ok=True)
    out = []
    for role in roles:
        meta = list_meta(summary, top_rows.height, top, role)
        out.append(
            replace_path(
                folder / "roles",
                role,
                lambda p, m=meta: write_role_files(
                    p, top_rows, m, areas, tiers=summary.get("risk_tiers")
                ),
            )
        )
    return out


def plan_published(folder: Path, capacity: Path, top: float = DEFAULT_TOP) -> dict:
    """`hearth plan`: (re)write plans/ in a published folder and the report that shows them."""
    from hearth.publish.capacity import load_capacity
    from hearth.publish.report import write_report

    load_capacity(capacity)  # a bad file stops here, before anything is replaced
    ranked, summary = load_published(folder)
    top_rows = published_top(ranked, top)
    result: dict = {}

    def write(tmp: Path) -> None:
        tmp.mkdir()
        result.update(write_plans(tmp, top_rows, capacity, summary))
        for p in (tmp / "plans").iterdir():
            p.rename(tmp / p.name)
        (tmp / "plans").rmdir()

    replace_path(folder, "plans", write)
    replace_path(
        folder,
        "report.html",
        lambda p: write_report(p, summary, ranked, folder / "model", result),
    )
    return result


if __name__ == "__main__":  # a workbook-writing child of _in_processes
    _worker(Path(sys.argv[1]))
