"""What people receive: the ranked list and the run summary, written all-or-nothing."""

import tempfile
from pathlib import Path

import dagster as dg

from hearth.deliver import capacity_file, fetch_model_artifacts, publish_top, write_deliverables
from hearth.features import default_as_of
from hearth.publish import clear_stale_temporaries, publish_atomically, write_json, write_ranked
from hearth.scores import load_scores
from hearth.summary import run_summary
from models.registry import champion_summary
from pipelines.resources import MlflowResource, OutputsResource, RunSettings, WarehouseResource


@dg.asset(
    group_name="publish",
    kinds={"parquet", "csv", "json", "xlsx", "html"},
    deps=["household_scores"],
)
def published_outputs(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    outputs: OutputsResource,
    mlflow: MlflowResource,
    run_settings: RunSettings,
):
    """outputs/<as_of>/ with ranked_households.parquet and .csv and run_summary.json, the
    workbook (ranked_households.xlsx), report.html, each role's view (roles/), the champion's
    model card (model/) and, if HEARTH_HOME/capacity.yaml exists, visit plans (plans/), moved
    into place only when complete; outputs/latest points at it."""
    with warehouse.connect(read_only=True) as con:
        as_of = run_settings.as_of or default_as_of(con)
        ranked = load_scores(con)
        summary = run_summary(con, as_of, ranked, champion_summary(mlflow.uri()))
    root = outputs.resolved()
    clear_stale_temporaries(root)

    top, capacity, seconds = publish_top(), capacity_file(), {}

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = fetch_model_artifacts(summary["model"].get("run_id"), mlflow.uri(), Path(tmp))

        def write(folder):
            write_ranked(folder, ranked)
            write_json(folder / "run_summary.json", summary)
            seconds.update(
                write_deliverables(
                    folder, ranked, summary, model_dir, top, capacity, warn=context.log.warning
                )
            )

        final = publish_atomically(root, as_of, write)
    context.log.info(f"Workbook, role views and report written in {sum(seconds.values()):.1f} s")
    context.log.info(f"Published {ranked.height} households to {final}")
    return dg.MaterializeResult(
        metadata={"folder": str(final), "households": ranked.height, "as_of": as_of}
    )
