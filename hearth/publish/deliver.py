"""What commissioners and partner agencies receive, written into a published output folder:

- `ranked_households.xlsx`: cover sheet, area summary, a sheet per local authority with the
  published top of the list (by default the top 5% of households);
- `roles/<role>/ranked_households.{csv,xlsx}`: the published top as each role may see it
  (hearth/publish/role_files.py);
- `model/`: the champion's model card, plots and tables, copied from its MLflow run;
- `plans/` when a capacity file is given: each team's visit plan and a summary
  (hearth/publish/plans.py);
- `report.html`: one self-contained page for commissioners (hearth/publish/report/).

The workbooks are written in turn or, for long lists, in parallel processes
(hearth/publish/workbook_jobs.py). In the pipeline all of it is written inside
`publish_atomically`'s temporary folder, so it appears with the ranked list or not at all. The
CLI commands that add to a published folder later (`hearth publish --role`, `hearth plan`)
replace one sub-folder or file at a time (hearth/publish/published.py)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from hearth.publish.capacity import CapacityError
from hearth.publish.model_files import deliver_model_files
from hearth.publish.plans import write_plans
from hearth.publish.ranked import DEFAULT_TOP, area_counts, published_top, with_area_names
from hearth.publish.report import TOP_ROWS, write_report
from hearth.publish.role_files import write_role_files
from hearth.publish.words import list_meta
from hearth.publish.workbook_jobs import in_processes, timed_call, workbook_job
from hearth.quality.contracts import ROLES

# The names callers found here before the publish stage was split by job.

# Lists of this many rows or more have their workbooks written in parallel processes.
PARALLEL_FROM = 20_000
MAX_WORKERS = 4


def shown_by_default(ranking: pl.DataFrame, held: set[str], top: float = DEFAULT_TOP) -> int:
    """How far down a ranked list (household_pid, rank) the outputs published by default show a
    household's words, so the scoring step explains that far and no further: the published
    top, whose held-out households' places go to the next ones (`published_top`), and with it
    each role's view, the visit plans and the hold-out's entrants (all within that top); and
    the report's table of the first `TOP_ROWS` ranks. A longer list (`hearth publish --top N`)
    is explained when it is asked for (hearth/modelling/scoring/on_demand.py)."""
    if ranking.is_empty():
        return 0
    marked = ranking.select("household_pid", "rank").with_columns(
        pl.col("household_pid").is_in(list(held)).alias("held_out")
    )
    listed = int(published_top(marked, top)["rank"].max() or 0)
    return max(listed, min(TOP_ROWS, ranking.height))


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
    leads: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Everything people receive, into `folder` (which already holds the ranked list and
    run_summary.json). Returns seconds per part. With a capacity file, `leads` gives each lead's
    agency (hearth.modelling.scoring.reasons.lead_agencies), which the visit plans need."""

    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], object]) -> object:
        t = time.perf_counter()
        out = fn()
        timings[name] = round(time.perf_counter() - t, 3)
        return out

    ranked = with_area_names(ranked)  # names beside codes (the codes where none were looked up)
    top_rows = published_top(ranked, top)
    areas = area_counts(ranked)
    if model_dir is not None and model_dir.is_dir():
        deliver_model_files(model_dir, folder / "model")  # its counts suppressed
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
        timings.update(in_processes(jobs, top_rows, areas, workers))
    else:
        for name, kind, args in jobs:
            timings[name] = timed_call(workbook_job(kind, top_rows, areas, *args))
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
        try:
            if leads is None:
                raise ValueError("Visit plans need each lead's agency (leads).")
            plan = timed("plans", lambda: write_plans(folder, top_rows, capacity, summary, leads))
        except CapacityError as e:  # the list matters more than the plans: publish without
            shutil.rmtree(folder / "plans", ignore_errors=True)
            warn(f"No visit plans: {e}")
    timed(
        "report",
        lambda: write_report(folder / "report.html", summary, ranked, model_dir, plan, areas=areas),
    )
    return timings
