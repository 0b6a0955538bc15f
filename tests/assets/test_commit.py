"""One commit for the warehouse, the outputs and @champion (hearth/operations/commit.py), on real
files:
a real DuckDB warehouse, a real outputs tree, a real MLflow store and a real Dagster instance.

The matrix interrupts a small run in a child process at every named point of its end - inside
the run, before the commit record, after it, between the warehouse rename and the outputs
swap, and between the two renames of the swap - with SIGTERM (what a reboot sends), SIGINT
(Ctrl-C) and SIGKILL. Before the record the next run finds everything byte for byte as it was;
after it, everything as the run left it: never a mixture."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest

from hearth.defs.resources import MlflowResource, OutputsResource, WarehouseResource
from hearth.operations.commit import JOURNAL, MARKER, PAUSE_ENV

RUN = """
import sys, duckdb
from pathlib import Path
from hearth.operations.commit import pause_point, stage
from hearth.publish.outputs import old_name, prepare_outputs
from hearth.operations.recovery import guarded_run

home = Path(sys.argv[1])
wh, out = home / "warehouse.duckdb", home / "outputs"
with guarded_run(wh, "0123abcd-run-signal", what="the interrupted run", outputs=out) as shadow:
    con = duckdb.connect(str(shadow))
    con.execute("INSERT INTO t VALUES (2)")
    con.close()
    new = lambda f: (f / "ranked_households.parquet").write_text("new")
    prepared = prepare_outputs(out, "2026-01", new)
    change = {"root": str(out), "as_of": "2026-01", "prepared": prepared.name,
              "old": old_name("2026-01")}
    stage(shadow, "outputs", change)
    pause_point("in_run")
print("committed", flush=True)
"""

BEFORE = ("in_run", "before_commit")  # interrupted here: nothing changes
AFTER = ("after_commit_record", "after_warehouse_rename", "outputs_swap")  # rolled forward
LIST = "ranked_households.parquet"  # what `hearth publish` looks for in a published folder
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT, "SIGKILL": signal.SIGKILL}


def writes(text: str):
    return lambda folder: (folder / LIST).write_text(text)


def make_home(home: Path) -> None:
    from hearth.publish.outputs import publish_atomically

    home.mkdir(exist_ok=True)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    publish_atomically(home / "outputs", "2026-01", writes("old"))


def tree(root: Path) -> dict[str, str]:
    """Every entry under `root`: a file's sha256, a link's target."""
    state = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            state[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            state[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return state


def rows(wh: Path) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute("SELECT x FROM t ORDER BY x").fetchall()
    finally:
        con.close()


def default_signals() -> None:
    """In the child, before it starts: SIGINT and SIGTERM as a shell gives them. An ignored
    signal is inherited, and a test worker can be left ignoring both (Dagster's in-process
    runs restore SIGINT's handler and copy it to SIGTERM: dagster/_utils/interrupts.py)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def interrupt_at(home: Path, point: str, signum: int) -> tuple[int, str]:
    """Run the child until it pauses at `point`, send `signum`, and return its exit code and
    output."""
    env = {**os.environ, PAUSE_ENV: point, "HEARTH_TEST_PAUSE_SECONDS": "30"}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=default_signals,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == f"hearth: paused at {point}", line + proc.stdout.read()
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out


@pytest.mark.parametrize("point", BEFORE + AFTER)
@pytest.mark.parametrize("name", list(SIGNALS))
def test_a_signal_or_kill_at_any_point_leaves_the_old_state_or_the_new_never_a_mixture(
    tmp_path, monkeypatch, point, name
):
    from hearth.operations.recovery import guarded_run, stale_shadows
    from hearth.publish.published import published_folder

    home = tmp_path / "home"
    monkeypatch.setenv("HEARTH_HOME", str(home))  # where `hearth publish` looks
    make_home(home)
    wh, out = home / "warehouse.duckdb", home / "outputs"
    before_bytes, before_tree = wh.read_bytes(), tree(out)

    code, said = interrupt_at(home, point, SIGNALS[name])

    committed = point in AFTER
    listed = (published_folder(out, None) / LIST).read_text()
    if name == "SIGKILL" or (name == "SIGTERM" and point == "in_run"):
        # the process died where it stood (SIGTERM's default inside the block, outside
        # Dagster): until the next run puts things right, `hearth publish` and `hearth
        # reidentify` find the last good list - the committed run's once its record exists
        assert code == -SIGNALS[name], said
        assert listed == ("new" if committed else "old")
    elif committed:  # held back: the commit finishes, then the run goes on
        assert code == 0 and "committed" in said and listed == "new", said
    else:  # held back, or raised as KeyboardInterrupt: the run rolls itself back and stops
        assert code in (1, -signal.SIGINT) and "committed" not in said, said
        assert listed == "old"
        assert wh.read_bytes() == before_bytes and tree(out) == before_tree
        assert not (home / MARKER).exists() and not stale_shadows(wh)

    told: list[str] = []
    with guarded_run(wh, "0123abcd-run-next", say=told.append, outputs=out):
        pass
    if committed:
        assert rows(wh) == [(1,), (2,)]
        assert (out / "2026-01" / LIST).read_text() == "new"
        assert sorted(tree(out)) == [f"2026-01/{LIST}", "latest"]
        assert os.readlink(out / "latest") == "2026-01"
    else:
        assert wh.read_bytes() == before_bytes and tree(out) == before_tree
    if name == "SIGKILL" and committed:
        assert "after it had committed; Hearth finished" in told[0], told
    elif name == "SIGKILL":
        assert "did not finish; its partial work was discarded" in told[0], told
    assert not (home / MARKER).exists() and not (home / JOURNAL).exists()
    assert not stale_shadows(wh)


def _load(con, source: str, month: str, sha: str, record: str, quarantined: int = 0) -> None:
    """A month as ingest leaves it: one accepted row, its load log (and quarantined rows)."""
    con.execute(
        f"INSERT INTO raw_{source} (record_id, _extract_month) VALUES (?, ?)", [record, month]
    )
    for n in range(quarantined):
        con.execute(
            "INSERT INTO quarantine VALUES (?, ?, 'f.csv', ?, 'unknown_code', 'event_type', "
            "now()::TIMESTAMP, '{}')",
            [source, month, n + 2],
        )
    con.execute(
        "INSERT INTO ingest_log VALUES (?, ?, 'f.csv', ?, ?, 1, ?, 'loaded', NULL, "
        "now()::TIMESTAMP)",
        [source, month, sha, 1 + quarantined, quarantined],
    )


def test_a_stopped_run_removes_or_alters_no_record_it_held(tmp_path):
    """Issue 23: a stopped run changes no accepted record. It keeps what the officer looks at
    (refusals, what was not read, the removals it would make: STOPPED_RUN_KEEPS) and months it
    added whole where nothing held changed; never a removal or a replaced month."""
    from hearth.operations.commit import STOPPED_RUN_KEEPS, stage
    from hearth.operations.recovery import RunEnd, guarded_run, stale_shadows
    from hearth.publish.outputs import old_name, prepare_outputs
    from hearth.warehouse import connect

    home = tmp_path / "home"
    make_home(home)
    wh, out = home / "warehouse.duckdb", home / "outputs"
    with connect(wh) as con:
        _load(con, "fire", "2025-11", "a", "FR000001")
        _load(con, "police", "2025-11", "b", "PO000001")

    def held() -> dict[str, list[tuple]]:
        with connect(wh, read_only=True) as con:
            return {
                t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("raw_fire", "raw_police", "ingest_log", "quarantine")
            }

    before, before_tree = held(), tree(out)
    with guarded_run(wh, "run-stopped-0000", outputs=out, run_end=lambda: RunEnd(None, True)) as s:
        with connect(s) as con:
            con.execute("INSERT INTO t VALUES (2)")
            # fire: November removed (accepted or not) and December added: nothing of fire kept
            con.execute("DELETE FROM raw_fire")
            con.execute("DELETE FROM ingest_log WHERE source = 'fire'")
            _load(con, "fire", "2025-12", "c", "FR000002")
            # police: December added, November as it was: December is kept whole
            _load(con, "police", "2025-12", "d", "PO000002", quarantined=2)
            con.execute(
                "INSERT INTO batch_refusals VALUES ('health', '2025-12', 'f.csv', 'x', 3, "
                "'not_empty', NULL, 'refused', now()::TIMESTAMP)"
            )
            con.execute(
                "INSERT INTO removals_pending VALUES ('fire', '2025-11', 'not_landed', 1, 0, "
                "'fire:2025-11:k', 'a', 'fire 2025-11: gone', now()::TIMESTAMP)"
            )
        prepared = prepare_outputs(out, "2026-01", writes("new"))
        change = {"root": str(out), "as_of": "2026-01", "prepared": prepared.name}
        assert stage(s, "outputs", change | {"old": old_name("2026-01")})
    after = held()
    assert rows(wh) == [(1,)]
    assert after["raw_fire"] == before["raw_fire"]  # no removal, and no month beside one
    assert [r[0] for r in after["raw_police"]] == ["PO000001", "PO000002"]
    assert [(r[0], r[1]) for r in after["ingest_log"]] == [
        ("fire", "2025-11"),
        ("police", "2025-11"),
        ("police", "2025-12"),
    ]
    assert len(after["quarantine"]) == 2  # the added month's quarantine, for the officer
    with connect(wh, read_only=True) as con:
        assert con.execute("SELECT rule FROM batch_refusals").fetchall() == [("not_empty",)]
        assert con.execute("SELECT removal_key FROM removals_pending").fetchall() == [
            ("fire:2025-11:k",)
        ]
    assert set(STOPPED_RUN_KEEPS) == {"batch_refusals", "landing_issues", "removals_pending"}
    assert tree(out) == before_tree and not prepared.exists()
    assert not stale_shadows(wh)


def test_an_interrupted_step_keeps_nothing(tmp_path):
    from hearth.operations.recovery import RunEnd, guarded_run

    home = tmp_path / "home"
    make_home(home)
    wh = home / "warehouse.duckdb"
    # an interrupted step: nothing is kept, even the warehouse
    before = wh.read_bytes()
    with guarded_run(wh, "run-cut-00000000", run_end=lambda: RunEnd("health_extract", True)) as s:
        con = duckdb.connect(str(s))
        con.execute("DELETE FROM t")
        con.close()
    assert wh.read_bytes() == before


@pytest.mark.parametrize("error", [KeyboardInterrupt, "DagsterExecutionInterruptedError"])
def test_a_run_interrupted_between_two_steps_keeps_nothing(tmp_path, error):
    """Dagster tears a run's resources down by resuming them normally, from a `finally`, even
    while an interruption raised outside any step (between two steps) is on its way out; no
    step failed, so the run's record says all went well. The teardown sees the interruption
    passing and keeps nothing, and says nothing of its own (the run's failure says it)."""
    from dagster._core.errors import DagsterExecutionInterruptedError

    from hearth.operations.recovery import RunEnd, guarded_run

    home = tmp_path / "home"
    make_home(home)
    wh, out = home / "warehouse.duckdb", home / "outputs"
    before, before_tree = wh.read_bytes(), tree(out)
    error = DagsterExecutionInterruptedError if isinstance(error, str) else error
    run = guarded_run(wh, "run-between-0000", outputs=out, run_end=lambda: RunEnd(None, False))
    with pytest.raises(error):
        shadow = run.__enter__()
        con = duckdb.connect(str(shadow))
        con.execute("DELETE FROM t")
        con.close()
        try:
            raise error()
        finally:
            run.__exit__(None, None, None)  # as Dagster's teardown resumes a resource
    assert wh.read_bytes() == before and tree(out) == before_tree
    assert not (home / MARKER).exists() and not (home / JOURNAL).exists()
    # not blind: the same teardown with nothing passing commits the deletion
    run = guarded_run(wh, "run-after-00000", outputs=out, run_end=lambda: RunEnd(None, False))
    shadow = run.__enter__()
    con = duckdb.connect(str(shadow))
    con.execute("DELETE FROM t")
    con.close()
    run.__exit__(None, None, None)
    assert rows(wh) == []


# ---- @champion moves only with the commit --------------------------------------------------


def _register(frame, y, tag: str):
    from sklearn.linear_model import LogisticRegression

    from hearth.modelling.registry.client import Registry
    from hearth.modelling.registry.run_log import log_and_promote
    from tests.unit.modelling.test_registry import NAMES, result_for

    model = LogisticRegression().fit(frame.select(NAMES).to_numpy(), y)
    return log_and_promote(
        Registry(),
        result_for(model, frame, y),
        frame,
        y,
        {},
        fixed_k=100,
        set_alias=False,
        run_tags={"dagster_run_id": tag},
    )


def test_the_alias_moves_at_commit_and_an_interrupted_runs_version_is_disowned(hearth_home):
    import polars as pl

    from hearth.modelling.registry.client import MODEL_NAME, Registry
    from hearth.modelling.registry.promotion import MlflowStore, disown_versions, promote_by_hand
    from hearth.operations.commit import journal_from, roll_forward

    rng = np.random.default_rng(3)
    n = 2000
    signal_ = rng.exponential(1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.5 * signal_ - 5)))).astype(int)
    frame = pl.DataFrame(
        {"household_pid": [f"{i:064x}" for i in range(n)], "signal": signal_, "noise": y * 0.0}
    )
    uri = f"sqlite:///{hearth_home / 'mlflow.db'}"
    first = _register(frame, y, "aaaaaaaa-1111")
    registry = Registry(uri)
    client = registry.client
    assert client.get_registered_model(MODEL_NAME).aliases == {}  # registered, not promoted
    promote_by_hand(first.version, "the first version, promoted for this test")

    second = _register(frame, y, "bbbbbbbb-2222")
    assert (second.alias, second.previous_champion) == ("champion", "1")
    decision = {"version": second.version, "alias": "champion", "previous": "1"}
    journal = journal_from(
        {"run_id": "bbbbbbbb-2222", "staged": {"champion": decision}}, Path("w"), None, True
    )
    assert journal["champion"] == decision
    journal["warehouse"] = str(hearth_home / "none.duckdb")
    for _ in range(2):  # a roll forward may be repeated
        roll_forward(journal, MlflowStore(registry))
        assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "2"

    third = _register(frame, y, "cccccccc-3333")
    why = "Dagster run cccccccc was interrupted"
    assert disown_versions(registry, "cccccccc-3333", why, "2") == ["3"]
    tags = client.get_model_version(MODEL_NAME, third.version).tags
    assert tags["promotion"] == "never promoted: Dagster run cccccccc was interrupted"
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "2"
    assert disown_versions(registry, "not a run id; DROP", "x") == []


# ---- inside Dagster: an interrupted step, a stop, and a signal as the run ends --------------

MODE = {"mode": "ok"}


def _job():
    from hearth.operations.commit import stage
    from hearth.publish.outputs import old_name, prepare_outputs

    @dg.asset
    def loaded(warehouse: WarehouseResource):
        with warehouse.connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            con.execute("INSERT INTO t VALUES (2)")
        if MODE["mode"] in ("SIGINT", "SIGTERM"):
            os.kill(os.getpid(), getattr(signal, MODE["mode"]))
            raise AssertionError("the signal should have stopped the step")

    @dg.asset(deps=[loaded])
    def published(warehouse: WarehouseResource, outputs: OutputsResource):
        root = outputs.resolved()
        prepared = prepare_outputs(root, "2026-01", writes("new"))
        change = {"root": str(root), "as_of": "2026-01", "prepared": prepared.name}
        assert stage(warehouse.resolved(), "outputs", change | {"old": old_name("2026-01")})
        if MODE["mode"] == "stop":
            raise dg.Failure(description="The gate refused the version.")

    return dg.Definitions(
        assets=[loaded, published],
        jobs=[dg.define_asset_job("j", executor_def=dg.in_process_executor)],
        resources={
            "warehouse": WarehouseResource(outputs=OutputsResource(), mlflow=MlflowResource()),
            "outputs": OutputsResource(),
        },
    ).resolve_job_def("j")


@pytest.mark.parametrize("mode", ["ok", "stop", "SIGINT", "SIGTERM", "as_it_ends"])
def test_dagster_runs_commit_only_when_not_interrupted(hearth_home, monkeypatch, mode):
    from hearth.cli.launch import _problems
    from hearth.operations.alerts import stop_from_instance

    make_home(hearth_home)
    wh, out = hearth_home / "warehouse.duckdb", hearth_home / "outputs"
    before_bytes, before_tree = wh.read_bytes(), tree(out)
    MODE["mode"] = mode
    if mode == "as_it_ends":  # a signal after the last step, before the commit
        import hearth.operations.recovery

        def pause(name: str) -> None:
            if name == "before_commit":
                os.kill(os.getpid(), signal.SIGINT)

        monkeypatch.setattr(hearth.operations.recovery, "pause_point", pause)
    with dg.instance_for_test() as instance:
        result = _job().execute_in_process(instance=instance, raise_on_error=False)
        problems = _problems(result)
        alert = stop_from_instance(instance, result.run_id).sentences()
    assert not (hearth_home / MARKER).exists() and not (hearth_home / JOURNAL).exists()
    if mode == "ok":
        assert result.success and rows(wh) == [(1,), (2,)]
        assert (out / "latest" / LIST).read_text() == "new"
        return
    assert not result.success
    if mode == "stop":  # a stopped run changes no accepted record (issue 23)
        assert rows(wh) == [(1,)] and tree(out) == before_tree
        assert problems == alert == ["[published] The gate refused the version."]
        return
    assert wh.read_bytes() == before_bytes and tree(out) == before_tree
    when = "as it was ending" if mode == "as_it_ends" else "during this step"
    expected = (
        f"The run was interrupted (Ctrl-C, or a stop signal such as a shutdown's SIGTERM) {when}; "
        "nothing it did was kept: the warehouse, the outputs and @champion are as they were."
    )
    assert problems == alert == [expected if mode == "as_it_ends" else f"[loaded] {expected}"]


KILLED = """
import os, sys, duckdb
from pathlib import Path
from hearth.operations.recovery import guarded_run
with guarded_run(Path(sys.argv[1]), sys.argv[2], what="the killed run") as shadow:
    con = duckdb.connect(str(shadow))
    con.execute("DELETE FROM t")
    con.close()
    os.kill(os.getpid(), 9)
"""


def test_a_killed_hearth_run_is_marked_failed_and_named_by_the_next_runs_alert(hearth_home):
    from hearth.operations.recovery import recover, settle_dead_run

    make_home(hearth_home)
    wh = hearth_home / "warehouse.duckdb"
    before = wh.read_bytes()
    with dg.instance_for_test() as instance:
        run = instance.add_run(
            dg.DagsterRun(job_name="hearth_full_run", tags={"hearth/trigger": "hearth run"})
        )
        proc = subprocess.run([sys.executable, "-c", KILLED, str(wh), run.run_id])
        assert proc.returncode == -9 and wh.read_bytes() == before
        notes = recover(
            wh, hearth_home / "outputs", None, lambda r, o: settle_dead_run(instance, r, o)
        )
        assert "did not finish; its partial work was discarded" in notes[0]
        assert instance.get_run_by_id(run.run_id).status.value == "FAILURE"
    assert wh.read_bytes() == before and rows(wh) == [(1,)]
    alert = (hearth_home / "alerts.log").read_text()
    assert (
        f"Hearth stopped: run {run.run_id[:8]} of hearth_full_run, started by hearth run" in alert
    )
    assert "The run's process was killed; Hearth discarded its partial work." in alert


def test_accepted_removals_are_audited_once_when_the_run_commits(hearth_home):
    """Issue 23: the removals an officer accepted are recorded in the audit with the user, as the
    run's commit takes effect - once, even when a kill makes the commit roll forward again."""
    from hearth.operations.commit import journal_from, roll_forward
    from hearth.privacy.audit import entries

    applied = [
        {
            "key": "fire:2025-11:0123456789",
            "source": "fire",
            "month": "2025-11",
            "kind": "not_landed",
            "rows_accepted": 37,
            "rows_quarantined": 2,
        }
    ]
    marker = {
        "run_id": "dddddddd-4444",
        "staged": {"removals": {"applied": applied, "via": "hearth run"}},
    }
    assert journal_from(marker, Path("w"), None, False)["removals"] is None  # stopped: never
    journal = journal_from(marker, Path("w"), None, True)
    journal["warehouse"] = str(hearth_home / "none.duckdb")
    for _ in range(2):
        roll_forward(journal, None)
    [entry] = [e for e in entries() if e["action"] == "removals_accepted"]
    assert entry["detail"]["run_id"] == "dddddddd-4444" and entry["via"] == "hearth run"
    assert entry["detail"]["rows_accepted"] == 37 and entry["detail"]["removals"] == applied
    assert entry["os_user"] and entry["user"]
