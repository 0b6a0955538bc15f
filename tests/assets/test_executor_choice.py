"""The executor by deployment (hearth/defs/jobs.py, hearth/operations/executors.py), with a real
Dagster instance: steps that open the warehouse never overlap and other steps do (read from
Dagster's own step events), every warehouse step is in the pool, an instance whose pools are
per run is refused, and the Kubernetes Jobs of Hearth's steps are rendered by dagster-k8s."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
import yaml

from hearth.operations.executors import WAREHOUSE_POOL


def _intervals(instance, run_id: str) -> dict[str, tuple[float, float]]:
    """Each step's (start, end) from its STEP_START and STEP_SUCCESS events."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    starts, ends = {}, {}
    for rec in instance.all_logs(run_id, of_type=kinds):
        kind = rec.dagster_event.event_type_value
        (starts if kind == "STEP_START" else ends)[rec.step_key] = rec.timestamp
    return {k: (starts[k], ends[k]) for k in starts if k in ends}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


def _run_toy(hearth_home, execution: dict):
    import dagster as dg

    from hearth.cli.launch import ensure_dagster_home
    from tests.support.executor_job import executor_job

    ensure_dagster_home()
    instance = dg.DagsterInstance.get()
    result = dg.execute_job(
        dg.reconstructable(executor_job),
        instance,
        run_config={"execution": {"config": execution}},
        raise_on_error=False,
    )
    return instance, result


def test_warehouse_steps_take_turns_and_others_overlap_on_the_multiprocess_executor(hearth_home):
    instance, result = _run_toy(hearth_home, {"multiprocess": {"max_concurrent": 4}})
    assert result.success
    steps = _intervals(instance, result.run_id)
    assert set(steps) == {"write_a", "write_b", "free_a", "free_b"}
    # no pool: started together, they ran at the same time
    assert _overlap(steps["free_a"], steps["free_b"]) > 0
    # pool `warehouse`: one after the other, never both with the file open
    assert _overlap(steps["write_a"], steps["write_b"]) <= 0
    # the run was guarded once, by the process that orchestrated it: it committed the shadow
    # both steps wrote, and left no marker, shadow or lock holder behind
    import duckdb

    with duckdb.connect(str(hearth_home / "warehouse.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"write_a", "write_b"} <= tables
    assert not list(hearth_home.glob(".warehouse.duckdb.run-*"))
    assert not (hearth_home / ".run-in-progress.json").exists()


def test_a_dead_runs_warehouse_slot_is_freed_by_the_next_run(hearth_home):
    import dagster as dg

    from hearth.cli.launch import ensure_dagster_home
    from hearth.defs.resources import release_dead_slots

    ensure_dagster_home()
    instance = dg.DagsterInstance.get()
    storage = instance.event_log_storage
    storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
    claim = storage.claim_concurrency_slot(WAREHOUSE_POOL, "dead-run-id", "ingest", 0)
    assert claim.is_claimed  # as a run killed mid-step leaves it
    assert release_dead_slots(instance, "this-run-id") == ["dead-run-id"]
    assert storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots == []
    # the run's own slot is not another's
    storage.claim_concurrency_slot(WAREHOUSE_POOL, "this-run-id", "ingest", 0)
    assert release_dead_slots(instance, "this-run-id") == []


def test_an_instance_whose_pools_are_per_run_is_refused_before_any_step(hearth_home):
    dagster_home = hearth_home / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(  # the installer's own file: Hearth keeps it
        "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    granularity: run\n"
        "    default_limit: 1\n"
    )
    from hearth.defs.jobs import NOT_PER_STEP

    with pytest.raises(Exception) as caught:
        instance, result = _run_toy(hearth_home, {"multiprocess": {}})
        assert not result.success
        raise AssertionError(str(result.all_events))
    assert NOT_PER_STEP.format(name="multiprocess") in str(caught.value)
    assert not (hearth_home / "warehouse.duckdb").exists()


def test_every_step_that_uses_the_warehouse_is_in_its_pool(small_world, monkeypatch):
    """DuckDB takes one writer per file: a step that opens the warehouse outside the pool could
    run beside one that writes it, on any executor but in_process."""
    monkeypatch.setenv("HEARTH_LANDING", str(small_world / "landing"))
    from hearth.definitions import defs

    job = defs().resolve_job_def("hearth_full_run")
    users = {
        node.name: node.definition.pool
        for node in job.graph.nodes
        if "warehouse" in node.definition.required_resource_keys
    }
    assert len(users) >= 10  # ingest per source, checks, linkage, features, model, scores, publish
    assert {name for name, pool in users.items() if pool != WAREHOUSE_POOL} == set()


def _step_args(env: list[dict]) -> dict:
    packed = next(e["value"] for e in env if e["name"] == "DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS")
    return json.loads(zlib.decompress(base64.b64decode(packed)))


def test_the_kubernetes_jobs_of_hearths_steps_are_rendered_by_dagster_k8s(
    small_world, hearth_home, monkeypatch
):
    from hearth.cli.out_of_process import render_k8s_run

    monkeypatch.setenv("HEARTH_K8S_IMAGE", "registry.example/hearth:1.2.3")
    monkeypatch.setenv("HEARTH_K8S_SECRET", "partnership-keys")
    monkeypatch.setenv("HEARTH_K8S_MEMORY", "6Gi")
    monkeypatch.setenv("HEARTH_PSEUDONYMISATION_KEY", "never-in-a-spec")
    folder = render_k8s_run(small_world / "landing", None, False, None)
    run = yaml.safe_load((folder / "run.yaml").read_text())
    k8s = run["execution"]["config"]["k8s"]
    assert k8s["job_image"] == "registry.example/hearth:1.2.3"
    jobs = list(yaml.safe_load_all((folder / "step-jobs.yaml").read_text()))
    ops = [j["metadata"]["labels"]["dagster/op"] for j in jobs]
    assert "champion_model" in ops and "published_outputs" in ops
    assert ops.index("linked_events") < ops.index("champion_model")  # in the plan's order
    assert len(set(ops)) == len(ops)
    text = (folder / "step-jobs.yaml").read_text()
    assert "never-in-a-spec" not in text  # secrets come from the cluster, not the spec
    for job, op in zip(jobs, ops, strict=True):
        assert job["kind"] == "Job" and job["metadata"]["namespace"] == "hearth"
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "registry.example/hearth:1.2.3"
        assert container["args"] == ["dagster", "api", "execute_step"]
        assert container["envFrom"] == [{"secretRef": {"name": "partnership-keys"}}]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["HEARTH_HOME"] == "/srv/hearth" and env["DAGSTER_RUN_STEP_KEY"] == op
        assert _step_args(container["env"])["step_keys_to_execute"] == [op]
        assert container["resources"] == {
            "requests": {"cpu": "1", "memory": "6Gi"},
            "limits": {"memory": "6Gi"},
        }
        assert container["volumeMounts"] == [{"name": "hearth-home", "mountPath": "/srv/hearth"}]
        assert pod["volumes"] == [
            {"name": "hearth-home", "persistentVolumeClaim": {"claimName": "hearth-home"}}
        ]
        assert pod["restartPolicy"] == "Never"
