"""The champion_model's check: does the champion beat the contact-count baseline at 1% by a
margin the data can show? A warning, not a stop: a learned model is chosen only when it leads
the baseline's average precision beyond chance (hearth/modelling/training/choice.py,
hearth/modelling/evaluation/gate.py); this says
when its lead at 1% is within chance, or that the champion is the contact-count ranking itself
(published because no learned model beat it)."""

import dagster as dg

from hearth.defs.modelling.assets import champion_model
from hearth.defs.resources import MlflowResource, WarehouseResource
from hearth.modelling.evaluation.metrics import baseline_margin
from hearth.modelling.registry.versions import champion_summary
from hearth.operations.commit import staged


@dg.asset_check(
    asset=champion_model,
    description=(
        "The champion's top 1% finds more crises than the contact-count baseline's by more "
        "than chance (one-sided sign test on the crises only one list finds, p < 0.05)."
    ),
    pool="warehouse",
)
def champion_beats_baseline(
    warehouse: WarehouseResource, mlflow: MlflowResource
) -> dg.AssetCheckResult:

    decided = staged(warehouse.resolved()).get("champion") or {}
    model = champion_summary(mlflow.model_registry(), decided.get("scoring_version"))
    metrics = model.get("metrics") or {}
    passed, sentence = baseline_margin(metrics)
    if model.get("contact_count"):  # the champion IS the contact-count ranking: say so
        passed = False
        sentence = f"The contact-count ranking is published. {model['contact_count']}"
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=sentence,
        metadata={
            "model_version": str(model.get("version")),
            **{k: float(v) for k, v in metrics.items() if k.startswith("baseline_check.")},
        },
    )
