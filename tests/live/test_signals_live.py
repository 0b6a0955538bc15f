"""A signal is no worse than `kill -9`, on real `hearth run` processes (tests in file order, on
one small world and one HEARTH_HOME that has published once and then receives a corrected
extract, so every later run has real work to do):

1. SIGTERM (what a reboot sends) during ingest and 2. Ctrl-C (SIGINT) after "published
   outputs", as the run is about to commit - after it has trained and registered a version -
   each leave the warehouse file, the outputs tree and @champion byte for byte as they were,
   record the run in Dagster as interrupted, and name it in the alert;
3. `kill -9` half-way through the commit (between the two renames of the outputs swap): `hearth
   publish` still finds the list meanwhile, and the next run rolls the commit forward and says so;
4. that next run trains a degenerate model (the baseline alone, which has no 12-month counts at
   the training date of a 25-month landing): it stops with one sentence and leaves @champion and
   the outputs as they were.

A signal inside a training step is the same Dagster interruption as one inside an ingest step;
tests/assets/test_commit.py covers both signals inside steps and at every point of the
commit, fast."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest

from hearth.operations.commit import JOURNAL, MARKER, PAUSE_ENV
from tests.live.test_operations_live import dagster_runs, env_for, finish, outputs_state
from tests.support.first_runs import LIVE_TRAINING, copy_of, live_first_run

pytestmark = pytest.mark.slow

DEGENERATE = "candidates: [baseline]\nvalue_of_sharing: false\n"
INTERRUPTED = "The run was interrupted (Ctrl-C, or a stop signal such as a shutdown's SIGTERM)"
COMMITTED: dict[str, object] = {}  # what the killed run of test 3 had committed, for test 4


def hearth(home: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    import sys

    from hearth.settings import PROJECT_ROOT

    return subprocess.Popen(
        [str(Path(sys.executable).parent / "hearth"), *args],
        cwd=PROJECT_ROOT,
        env=env_for(home) | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run_args(home: Path, training: str = "training.yaml") -> list[str]:
    return ["run", "--landing", str(home / "landing"), "--train-config", str(home / training)]


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    """A HEARTH_HOME that has published once, with a corrected health extract landed since: a
    private copy of the first run test_operations_live.py starts from as well (800 households,
    25 of the world's 26 months landed: tests/support/first_runs.py), with its landing."""
    made = live_first_run(tmp_path_factory)
    home = copy_of(made / "home", tmp_path_factory.mktemp("signals") / "home")
    copy_of(made / "landing", home / "landing")
    (home / "training.yaml").write_text(LIVE_TRAINING)
    (home / "degenerate.yaml").write_text(DEGENERATE)
    # the health agency sends a month before the validation date again, corrected: a fiftieth
    # fewer records, so the next run's training data differ (a retrain on identical data
    # registers no new version: hearth/modelling/registry/run_log.py) and every step has real
    # work to do; within the 5% a month may shrink without an officer's word (hearth/ingest/
    # removals.py), as a correction is
    corrected = sorted((home / "landing" / "health").iterdir())[-14]
    (path,) = list(corrected.iterdir())
    frame = pl.read_parquet(path)
    frame.head(frame.height * 49 // 50).write_parquet(path)
    return home


def champion(home: Path) -> tuple[str, dict[str, dict]]:
    """The @champion version, and every version's tags."""
    from mlflow import MlflowClient

    from hearth.modelling.registry.client import MODEL_NAME

    uri = f"sqlite:///{home / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    tags = {
        str(v.version): dict(v.tags) for v in client.search_model_versions(f"name='{MODEL_NAME}'")
    }
    return str(client.get_model_version_by_alias(MODEL_NAME, "champion").version), tags


def state(home: Path) -> dict:
    """What must not change: the warehouse file's bytes, every output file, @champion."""
    return {
        "warehouse": hashlib.sha256((home / "warehouse.duckdb").read_bytes()).hexdigest(),
        "outputs": outputs_state(home / "outputs"),
        "champion": champion(home)[0],
    }


def leftovers(home: Path) -> list[str]:
    names = [p.name for p in home.iterdir() if p.name.startswith(".warehouse.duckdb.run-")]
    names += [n for n in (MARKER, JOURNAL) if (home / n).exists()]
    names += [p.name for p in (home / "outputs").iterdir() if p.name.startswith((".tmp-", ".old-"))]
    return names


def interrupt(home: Path, when: str, signum: int, env: dict | None = None) -> tuple[int, str]:
    """Start a run, send `signum` to it once a line containing `when` is printed, and return
    its exit code and output."""
    proc = hearth(home, *run_args(home), env=env)
    seen, deadline = [], time.monotonic() + 400
    try:
        for line in proc.stdout:
            seen.append(line)
            if when in line:
                break
            assert time.monotonic() < deadline, "".join(seen)
        else:
            pytest.fail(f"the run ended before '{when}':\n" + "".join(seen))
        if signum == signal.SIGKILL:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signum)  # to `hearth run` itself, as a shell's Ctrl-C or systemd would
        rest = finish(proc, timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return proc.returncode, "".join(seen) + rest


def flat(text: str) -> str:
    return " ".join(text.split())  # the terminal wraps long sentences


def check_rolled_back(home: Path, before: dict, code: int, out: str) -> None:
    run = dagster_runs(home)[-1].dagster_run
    assert code == 1, out[-3000:]
    assert "The run stopped. Nothing was published" in flat(out), out[-3000:]
    said = flat(out)
    assert f"{INTERRUPTED} during this step" in said or "as it was ending" in said, out[-3000:]
    assert "Traceback" not in out
    assert state(home) == before and leftovers(home) == []
    assert run.status.value == "FAILURE"
    assert f"Hearth stopped: run {run.run_id[:8]}" in (home / "alerts.log").read_text()
    last = json.loads((home / "last_run.json").read_text())
    assert last["run_id"] == run.run_id and last["status"] == "stopped"


def test_sigterm_during_ingest_changes_nothing(home):
    before = state(home)
    # at a pause inside the step, so the signal lands in it however loaded the machine is (a
    # signal sent on the step's start line could land after it, between two steps)
    env = {PAUSE_ENV: "ingesting health"}
    code, out = interrupt(home, "hearth: paused at ingesting health", signal.SIGTERM, env)
    check_rolled_back(home, before, code, out)
    assert f"[health_extract] {INTERRUPTED} during this step" in flat(out)


def test_ctrl_c_after_published_outputs_changes_nothing(home):
    before = state(home)
    env = {PAUSE_ENV: "before_commit"}
    code, out = interrupt(home, "hearth: paused at before_commit", signal.SIGINT, env)
    assert "done    published outputs" in out
    check_rolled_back(home, before, code, out)
    assert f"{INTERRUPTED} as it was ending" in flat(out)
    _, tags = champion(home)
    newest = max(tags, key=int)
    assert newest != before["champion"]  # it had trained and registered a version ...
    assert tags[newest]["promotion"].startswith("never promoted: Dagster run")  # ... never used


def test_kill_9_mid_commit_is_rolled_forward_and_the_list_is_found_meanwhile(home):
    before = state(home)
    env = {PAUSE_ENV: "outputs_swap"}
    code, out = interrupt(home, "hearth: paused at outputs_swap", signal.SIGKILL, env)
    assert code == -signal.SIGKILL
    (as_of,) = {k.split("/")[0] for k in before["outputs"] if k[:1].isdigit()}
    assert not (home / "outputs" / as_of).exists()  # between the two renames
    journal = json.loads((home / JOURNAL).read_text())  # ... of a run that had committed
    # `hearth publish` (and `hearth reidentify`, through the same lookup) still find the list
    publish = hearth(home, "publish", "--role", "fire")
    said = finish(publish, timeout=120)
    assert publish.returncode == 0 and "roles/fire/ranked_households.csv" in said, said
    prepared = home / "outputs" / journal["outputs"]["prepared"]
    assert "roles/fire/ranked_households.csv" in outputs_state(prepared)
    COMMITTED.update(champion=journal["champion"]["version"], outputs=outputs_state(prepared))


def test_the_next_run_rolls_forward_then_refuses_a_degenerate_model(home):
    killed = dagster_runs(home)[-1].dagster_run
    proc = hearth(home, *run_args(home, "degenerate.yaml"))
    out = finish(proc)
    assert proc.returncode == 1, out[-3000:]
    assert "after it had committed; Hearth finished" in out and "model version" in out, out
    assert dagster_runs(home)[-2].dagster_run.status.value == "SUCCESS"  # the killed one
    assert dagster_runs(home)[-2].dagster_run.run_id == killed.run_id
    assert leftovers(home) == []
    # the degenerate model: one sentence, nothing published, @champion as the commit left it
    assert (
        "[champion_model] The chosen model (contact-count baseline) gives nearly every "
        "household the same score"
    ) in flat(out), out[-3000:]
    assert "Traceback" not in out
    latest = home / "outputs" / "latest"
    assert outputs_state(latest.resolve()) == COMMITTED["outputs"]  # with roles/fire in it
    assert (latest / "roles" / "fire" / "ranked_households.csv").is_file()
    assert champion(home)[0] == COMMITTED["champion"]
    summary = json.loads((latest / "run_summary.json").read_text())
    assert summary["model"]["version"] == COMMITTED["champion"]
    assert dagster_runs(home)[-1].dagster_run.status.value == "FAILURE"
