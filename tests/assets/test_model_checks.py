"""The champion_model asset's check against the contact-count baseline
(hearth/defs/modelling/checks.py): registered on the asset as a warning, and it reads the
champion's MLflow metrics (the margin itself is tested in tests/unit/modelling/test_card.py)."""

import dagster as dg

from hearth.defs.modelling.checks import champion_beats_baseline
from hearth.defs.resources import MlflowResource, OutputsResource, WarehouseResource


def test_the_check_is_on_champion_model():
    keys = champion_beats_baseline.check_keys
    assert keys == {dg.AssetCheckKey(dg.AssetKey("champion_model"), "champion_beats_baseline")}


def test_the_check_reads_the_version_this_run_decided_on(hearth_home, monkeypatch):
    """MLflow is stood in for (a real store takes half a minute to create): the check asks for
    the champion, or the version the run staged, and judges its logged baseline_check metrics."""
    import hearth.defs.modelling.checks as checks
    from hearth.modelling.evaluation.metrics import sign_test_p

    asked = []
    logged = {
        "baseline_check.listed_at_1pct": 50.0,
        "baseline_check.found_only_by_model": 12.0,
        "baseline_check.found_only_by_baseline": 11.0,
        "baseline_check.p_value": sign_test_p(12, 11),
    }

    def summary(registry, version):
        asked.append(version)
        return {"version": "3", "metrics": logged}

    monkeypatch.setattr(checks, "champion_summary", summary)
    mlflow, outputs = MlflowResource(), OutputsResource()
    resources = {
        "warehouse": WarehouseResource(
            path=str(hearth_home / "warehouse.duckdb"), outputs=outputs, mlflow=mlflow
        ),
        "mlflow": mlflow,
    }
    result = champion_beats_baseline(**resources)
    assert asked == [None]  # nothing staged: the current champion
    assert result.passed is False and result.severity == dg.AssetCheckSeverity.WARN
    assert "does not beat the contact-count baseline" in result.description
    assert result.metadata["baseline_check.found_only_by_model"].value == 12.0
    logged |= {
        "baseline_check.found_only_by_model": 10.0,
        "baseline_check.found_only_by_baseline": 2.0,
        "baseline_check.p_value": sign_test_p(10, 2),
    }
    assert champion_beats_baseline(**resources).passed is True
    # a champion that is the contact-count ranking says so, whatever its logged counts
    said = "No learned model (logistic regression) ranked the validation year better."
    monkeypatch.setattr(
        checks,
        "champion_summary",
        lambda registry, version: {"version": "3", "metrics": logged, "contact_count": said},
    )
    fallback = champion_beats_baseline(**resources)
    assert fallback.passed is False
    assert fallback.description == f"The contact-count ranking is published. {said}"
