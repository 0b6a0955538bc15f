"""MLflow set up for this job, on a real SQLite store: the registered pyfunc returns
probabilities and loads without Hearth's source, promotions an auditor can follow, a pinned
champion, identical retrains, runs that a list tells apart, and a home that is moved."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.modelling.registry.client import MODEL_NAME, Registry
from hearth.modelling.registry.fingerprint import Fingerprint, training_fingerprint
from hearth.modelling.registry.promotion import pinned, promote_by_hand, unpin
from hearth.modelling.registry.run_log import log_and_promote
from hearth.modelling.training.baseline import ContactCountBaseline
from hearth.modelling.training.fit import make_estimator
from hearth.modelling.training.params import TrainParams
from tests.unit.modelling.test_registry import NAMES, result_for

runner = CliRunner()


@pytest.fixture
def window():
    rng = np.random.default_rng(8)
    n = 1500
    signal = rng.exponential(1.0, n)
    months = rng.integers(0, 60, n).astype(float)  # a "months since" column, capped at 12 + 1
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.5 * signal - 5)))).astype(int)
    frame = pl.DataFrame(
        {
            "household_pid": [f"{i:064x}" for i in range(n)],
            "signal": signal,
            "noise": rng.normal(0, 1, n),
            "fire_months_since": months,
        }
    )
    return frame, y


def _register(window, model=None, names=NAMES, **kw):
    frame, y = window
    model = model or LogisticRegression().fit(frame.select(names).to_numpy(), y)
    result = result_for(model, frame, y)
    result.feature_names, result.recency_cap = names, 12
    return log_and_promote(Registry(), result, frame, y, {}, fixed_k=100, **kw)


def test_the_champion_pyfunc_returns_probabilities_for_float64_and_int_frames(hearth_home, window):
    frame, y = window
    names = ["signal", "fire_months_since"]
    logistic = make_estimator("logistic", TrainParams(), names)  # holds Hearth's own transform
    logistic.fit(frame.select(names).to_numpy(), y)
    _register(window, logistic, names)
    import mlflow

    model = mlflow.pyfunc.load_model(Registry().champion_uri)
    assert [c.name for c in model.metadata.get_input_schema().inputs] == names
    df = frame.to_pandas()  # float64, with extra columns (the pid, noise)
    got = model.predict(df)
    capped = np.column_stack([df["signal"], np.minimum(df["fire_months_since"], 13)])
    expected = logistic.predict_proba(capped.astype(np.float32))[:, 1]
    assert got.dtype == np.float64 and got.min() > 0 and got.max() < 1  # not 0/1 labels
    # capped as at training, float32 like Hearth (float64 inputs would move the scores by about
    # 1e-8); the regression itself works in float64, where the BLAS may round the last bit
    # differently for another memory layout
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    ints = df.assign(fire_months_since=df["fire_months_since"].astype("int64"))
    np.testing.assert_allclose(model.predict(ints), expected, rtol=1e-12, atol=0)


def test_the_candidates_with_hearths_own_classes_load_without_hearth_source(hearth_home, window):
    """The baseline and the logistic pipeline (Hearth's own class and transform) pickled by
    value: they load in an interpreter without the project on its path (site-packages only,
    no .pth files, so not the editable install either, which leaves nothing of Hearth in
    site-packages: hatch_build.py adds the project files to built wheels only)."""
    frame, y = window
    X = frame.select(NAMES).to_numpy()
    baseline = ContactCountBaseline(columns=[0]).fit(X, y)
    logistic = make_estimator("logistic", TrainParams(), NAMES).fit(X, y)
    registry = Registry()
    roots = []
    for model in (baseline, logistic):
        mv = registry.version(_register(window, model).version)
        dst = hearth_home / f"dl{mv.version}"
        roots.append(registry.client.download_artifacts(mv.run_id, "model", str(dst)))
    code = (
        "import sys; sys.path.append({!r}); import importlib.util as u\n"
        "assert u.find_spec('hearth') is None\n"
        "import mlflow, numpy as np, pandas as pd\n"
        "frame = pd.DataFrame({{'signal': [0.0, 3.0], 'noise': [1, 1]}})\n"
        "print([mlflow.pyfunc.load_model(r).predict(frame).tolist() for r in {!r}])\n"
    ).format(sysconfig.get_paths()["purelib"], roots)
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code], capture_output=True, text=True, cwd="/"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    X2 = np.array([[0.0, 1.0], [3.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(got[0], baseline.predict_proba(X2)[:, 1])
    np.testing.assert_allclose(got[1], logistic.predict_proba(X2)[:, 1])


def test_promotions_record_who_when_why_and_a_pin_holds(hearth_home, window):
    first = _register(window)
    second = _register(window)  # ties: champion
    assert (first.version, second.version, second.alias) == ("1", "2", "champion")
    result = runner.invoke(
        app, ["models", "promote", "1", "--reason", "the field trial used it", "--by", "j.doe"]
    )
    assert result.exit_code == 0, result.output
    assert "Version 1 is now @champion (version 2 is now @challenger)" in result.output
    registry = Registry()
    tags = registry.version("1").tags
    assert tags["promoted_by"] == "j.doe" and tags["promotion_reason"] == "the field trial used it"
    assert tags["promoted_at"].endswith("Z")
    # promoting the champion again changes nothing and says so
    again = runner.invoke(app, ["models", "promote", "1", "--reason", "a second, other reason"])
    assert "is @champion already; its promotion record is unchanged" in again.output
    assert "@challenger" not in again.output
    assert registry.version("1").tags["promotion_reason"] == "the field trial used it"
    # the list shows who, when and why; compare shows model, features, calibration, reason
    listed = runner.invoke(app, ["models", "list"], env={"COLUMNS": "250"})
    assert "j.doe" in listed.output and "the field trial used it" in listed.output
    compared = runner.invoke(app, ["models", "compare", "1", "2"], env={"COLUMNS": "250"})
    rows = {
        line.split("│")[1].strip(): line for line in compared.output.splitlines() if "│" in line
    }
    assert "logistic" in rows["model"] and rows["features"].count(" 2 ") == 2
    assert any(m in rows["calibration"] for m in ("crossfit", "isotonic", "sigmoid"))
    assert "the field trial used it" in rows["promotion"]
    # pinned: a routine run that ties registers a challenger and says why
    promote_by_hand("1", "keep it for the audit year", by="j.doe", pin=True)
    assert pinned(registry)["version"] == "1"
    third = _register(window)
    assert third.alias == "challenger" and "pinned as @champion by j.doe" in third.reason
    assert str(registry.champion().version) == "1"
    assert unpin()["version"] == "1" and pinned(registry) is None
    assert _register(window).alias == "champion"


def test_promote_says_the_published_list_is_still_the_old_versions(hearth_home, window):
    _register(window)
    _register(window)
    latest = hearth_home / "outputs" / "2026-01"
    latest.mkdir(parents=True)
    (latest / "run_summary.json").write_text(json.dumps({"model": {"version": "2"}}))
    (hearth_home / "outputs" / "latest").symlink_to(latest)
    result = runner.invoke(app, ["models", "promote", "1", "--reason", "a simpler model"])
    text = " ".join(result.output.split())
    assert "The published list (2026-01) is still version 2's" in text
    assert "hearth run --landing" in text


def test_an_identical_retrain_registers_no_new_version(hearth_home, window):
    frame, y = window
    fp = training_fingerprint({"training": (frame, y), "validation": (frame, y)}, TrainParams())
    one = _register(window, fingerprint=fp)
    two = _register(window, fingerprint=fp)
    assert (one.version, two.version) == ("1", "1") and two.alias == "champion"
    assert "no new version was registered" in two.reason
    registry = Registry()
    assert [str(v.version) for v in registry.versions()] == ["1"]
    run = registry.run(two.run_id)
    assert run.data.tags["hearth.same_as_version"] == "1"
    assert run.info.run_name.startswith("same as v1 · logistic")
    # one row more and it is another training
    other = training_fingerprint(
        {"training": (frame.head(len(y) - 1), y[:-1]), "validation": (frame, y)}, TrainParams()
    )
    assert other.digest != fp.digest
    # the same data with changed training code is another training too
    import hearth.modelling.registry.fingerprint

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hearth.modelling.registry.fingerprint, "code_digest", lambda: "a changed recipe")
        changed = training_fingerprint(
            {"training": (frame, y), "validation": (frame, y)}, TrainParams()
        )
    assert changed.digest != fp.digest and changed.windows == fp.windows
    assert _register(window, fingerprint=other).version == "2"


def test_runs_are_named_described_and_record_their_inputs(hearth_home, window):
    decision = _register(
        window,
        run_tags={"hearth.as_of": "2026-01"},
        fingerprint=Fingerprint("abc", {"training": "d1", "validation": "d2"}),
    )
    registry = Registry()
    run = registry.run(decision.run_id)
    assert run.info.run_name == "v1 · logistic · as of 2026-01"
    assert "Model card" in run.data.tags["mlflow.note.content"]
    inputs = {i.tags[0].value: i for i in run.inputs.dataset_inputs if i.tags}
    training = next(i for i in run.inputs.dataset_inputs if i.dataset.digest == "d1")
    tags = {t.key: t.value for t in training.tags}
    assert tags == {"mlflow.data.context": "training", "as_of": "2024-01", "rows": "1500"}
    assert inputs
    mv = registry.version(decision.version)
    assert "Model card" in mv.description and "feature_names" not in mv.tags
    assert "predict" in registry.client.get_registered_model(MODEL_NAME).description
    assert registry.run_json(decision.run_id, "feature_names.json") == {"model": NAMES}
    # hearth ui opens the MLflow UI on this experiment, in the model-training view
    exp = registry.experiment_id()
    assert registry.ui_page() == f"/#/experiments/{exp}?workflowType=machine_learning"
    kind = registry.client.get_experiment(exp).tags["mlflow.experimentKind"]
    assert kind == "custom_model_development"


def test_a_home_copied_elsewhere_loads_its_champion_and_artifacts(
    hearth_home, window, tmp_path, monkeypatch
):
    decision = _register(window)
    moved = tmp_path / "restored" / "hearth_home"
    shutil.copytree(hearth_home, moved)
    shutil.rmtree(hearth_home)  # nothing may still point at the old place
    monkeypatch.setenv("HEARTH_HOME", str(moved))
    registry = Registry()
    model, names, champ = registry.load_champion()
    assert str(champ.version) == decision.version and names == NAMES
    frame, _ = window
    assert model.predict_proba(frame.select(NAMES).to_numpy())[:, 1].shape == (frame.height,)
    got = registry.fetch_model_artifacts(champ.run_id, tmp_path / "artifacts")
    assert (got / "promotion.txt").is_file() and (got / "feature_importance.csv").is_file()
    import mlflow

    pyfunc = mlflow.pyfunc.load_model(registry.champion_uri)
    assert pyfunc.predict(frame.to_pandas()).shape == (frame.height,)
    assert Registry().relocate() == 0  # once only
    # and a second training in the moved home writes under it
    again = _register(window)
    assert str(moved) in Registry().run(again.run_id).info.artifact_uri


def test_the_signature_refuses_a_frame_without_the_features(hearth_home, window):
    _register(window)
    import mlflow
    from mlflow.exceptions import MlflowException

    model = mlflow.pyfunc.load_model(Registry().champion_uri)
    with pytest.raises(MlflowException, match="missing inputs"):
        model.predict(pd.DataFrame({"noise": [1.0]}))


def test_hearth_run_ends_with_the_versions_alias_and_why(tmp_path):
    from hearth.cli.console import console
    from hearth.cli.launch import RunOutcome
    from hearth.cli.runs import _report_run

    why = "precision at 1% 0.300 is below the champion's (version 2) 0.350"
    model = {"version": "3", "alias": "challenger", "promotion_reason": why}
    with console.capture() as cap:
        _report_run(RunOutcome(True, "2026-01", "r", [], tmp_path, model=model))
    text = " ".join(cap.get().split())
    assert f"Model: version 3 is @challenger: {why}." in text
