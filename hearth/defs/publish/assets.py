"""What people receive: the ranked list and the run summary, written all-or-nothing."""

import tempfile
from pathlib import Path

import dagster as dg

from hearth.defs.resources import (
    LandingResource,
    MlflowResource,
    OutputsResource,
    RunSettings,
    WarehouseResource,
)
from hearth.modelling.evaluation.list_effect import list_working
from hearth.modelling.registry.versions import champion_summary
from hearth.modelling.scoring.holdout_run import held_out_households, load_decision, mark_held_out
from hearth.modelling.scoring.monitoring import load_report
from hearth.modelling.scoring.ranking import load_scores
from hearth.modelling.scoring.reasons import lead_agencies
from hearth.operations.commit import pause_point, stage, staged, swap_in
from hearth.publish.areas import area_lookup_file, name_areas, read_area_lookup
from hearth.publish.deliver import write_deliverables
from hearth.publish.outputs import (
    clear_stale_temporaries,
    old_name,
    prepare_outputs,
    write_json,
    write_ranked,
)
from hearth.publish.plans import capacity_file
from hearth.publish.ranked import publish_top
from hearth.publish.summary import run_summary


@dg.asset(
    group_name="publish",
    kinds={"parquet", "csv", "json", "xlsx", "html"},
    deps=["household_scores"],
    pool="warehouse",
)
def published_outputs(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    outputs: OutputsResource,
    mlflow: MlflowResource,
    run_settings: RunSettings,
    landing: LandingResource,
):
    """outputs/<as_of>/ with ranked_households.parquet and .csv and run_summary.json, the
    workbook (ranked_households.xlsx), report.html, each role's view (roles/), the champion's
    model card (model/) and, if HEARTH_HOME/capacity.yaml exists, visit plans (plans/), all
    prepared in a hidden folder that the run's commit moves into place with the warehouse and
    the champion alias (hearth/operations/commit.py); outputs/latest then points at it. Areas
    are named from the landing's area names lookup (reference/areas.csv), codes where none."""
    decided = staged(warehouse.resolved()).get("champion") or {}
    with warehouse.connect(read_only=True) as con:
        as_of = run_settings.design(con).score_as_of
        lookup = read_area_lookup(area_lookup_file(landing.resolved()))
        ranked, area_names = name_areas(load_scores(con), lookup)
        # the households held out of this generation's list (hearth/modelling/holdout.py)
        ranked = mark_held_out(ranked, held_out_households(con, as_of))
        holdout = load_decision(con, as_of)
        model = champion_summary(mlflow.model_registry(), decided.get("scoring_version"))
        model["monitoring"] = load_report(
            con, as_of
        )  # between months: hearth/modelling/scoring/monitoring.py
        summary = run_summary(con, as_of, ranked, model, area_names=area_names)
        if holdout is not None:
            summary["holdout"] = holdout
        summary["list_working"] = list_working(con, as_of)  # "is the list working?"
    if lookup.problem:
        context.log.warning(lookup.problem)
    root = outputs.resolved()
    clear_stale_temporaries(root)

    top, capacity, seconds = publish_top(), capacity_file(), {}

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = mlflow.model_registry().fetch_model_artifacts(
            summary["model"].get("run_id"), Path(tmp)
        )

        def write(folder):
            write_ranked(folder, ranked)
            write_json(folder / "run_summary.json", summary)
            seconds.update(
                write_deliverables(
                    folder,
                    ranked,
                    summary,
                    model_dir,
                    top,
                    capacity,
                    warn=context.log.warning,
                    leads=lead_agencies(),
                )
            )

        prepared = prepare_outputs(root, as_of, write)
    context.log.info(f"Workbook, role views and report written in {sum(seconds.values()):.1f} s")
    final, old = root / as_of, old_name(as_of)
    change = {"root": str(root), "as_of": as_of, "prepared": prepared.name, "old": old}
    in_run = stage(warehouse.resolved(), "outputs", change)
    if in_run:
        context.log.info(
            f"Prepared {ranked.height} households for {final}; they replace it when the run "
            "commits, with the warehouse and the champion alias."
        )
    else:  # outside a shadowed run: nothing else to commit with
        swap_in(root, as_of, prepared, root / old)
        context.log.info(f"Published {ranked.height} households to {final}")
    pause_point("outputs_prepared")
    return dg.MaterializeResult(
        metadata={
            "folder": str(final),
            "households": ranked.height,
            "as_of": as_of,
            "published": "when the run commits (with the warehouse)" if in_run else "at once",
        }
    )
