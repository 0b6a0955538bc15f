"""Where a run's steps execute, by deployment; the one set of definitions is the same for all.

- `in_process`: every step in the process that launched the run (tests, a laptop; the default of
  `hearth run`, whose interruption guarantees are proven on it: tests/live).
- `multiprocess`: one process per step on one machine (Dagster's multiprocess executor).
- `celery`: steps queued on a broker (Redis or RabbitMQ) and run by `hearth worker`s, which may be
  on other machines (dagster-celery).
- `k8s`: one Kubernetes Job per step (dagster-k8s `k8s_job_executor`), for a cluster; here the
  job specs are rendered (`hearth run --executor k8s` writes them), not launched.

Whatever the executor, steps that open one warehouse file never run at once: every such step is
in Dagster pool `warehouse` (or the pool its file names), and the instance limits each pool to one
step at a time (`concurrency: pools: granularity: op, default_limit: 1` in dagster.yaml). Steps in
no pool run side by side.

Settings are environment variables, read when called:
HEARTH_EXECUTOR (the default of `hearth run --executor`), HEARTH_CELERY_BROKER (default
`redis://127.0.0.1:6379/0`), HEARTH_CELERY_BACKEND (default: the broker's URL), and for Kubernetes
HEARTH_K8S_IMAGE, HEARTH_K8S_NAMESPACE, HEARTH_K8S_SECRET, HEARTH_K8S_HOME_CLAIM,
HEARTH_K8S_CPU, HEARTH_K8S_MEMORY. Broker URLs (which may carry a password) reach run config and
the worker's config file only as `{env: HEARTH_CELERY_BROKER}`, never as their value.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import yaml

EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")
RUNNABLE_HERE = ("in_process", "multiprocess", "celery")  # k8s: rendered, launched on a cluster
EXECUTOR_ENV = "HEARTH_EXECUTOR"
DEFAULT_EXECUTOR = "in_process"
BROKER_ENV, BACKEND_ENV = "HEARTH_CELERY_BROKER", "HEARTH_CELERY_BACKEND"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
CELERY_QUEUE = "dagster"  # dagster-celery's default queue, the one `hearth worker` serves
WAREHOUSE_POOL = "warehouse"  # the pool of every step that opens the warehouse file

# Kubernetes: what a step's pod needs, with the defaults docs/operations.md describes.
K8S_DEFAULTS = {
    "HEARTH_K8S_IMAGE": "hearth:latest",
    "HEARTH_K8S_NAMESPACE": "hearth",
    "HEARTH_K8S_SECRET": "hearth-secrets",  # pseudonymisation key, Postgres password
    "HEARTH_K8S_HOME_CLAIM": "hearth-home",  # a ReadWriteMany volume holding HEARTH_HOME
    "HEARTH_K8S_CPU": "1",
    "HEARTH_K8S_MEMORY": "8Gi",
}
K8S_HOME = "/srv/hearth"  # where the pod mounts HEARTH_HOME
K8S_DAGSTER_HOME = "/opt/dagster/dagster_home"  # the instance's settings, from a config map
K8S_INSTANCE_CONFIG_MAP = "hearth-dagster-instance"


class ExecutorError(ValueError):
    """A setting that names no executor, or an executor that cannot run here; a sentence."""


def executor_name(value: str | None = None) -> str:
    """The executor asked for (`--executor`, else HEARTH_EXECUTOR, else in_process), checked."""
    name = (value or os.environ.get(EXECUTOR_ENV) or DEFAULT_EXECUTOR).strip().replace("-", "_")
    if name not in EXECUTORS:
        source = "--executor" if value else EXECUTOR_ENV
        raise ExecutorError(
            f"{source} names no executor Hearth knows; use one of {', '.join(EXECUTORS)}."
        )
    return name


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or DEFAULT_BROKER


def backend_url() -> str:
    return os.environ.get(BACKEND_ENV) or broker_url()


def redacted(url: str) -> str:
    """A broker URL fit for a message: any password replaced by `***`."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def celery_config() -> dict:
    """dagster-celery's executor config, shaped as its `execution: config:` block wants it. The
    URLs are named by environment variable, so neither the run's record in Dagster nor the
    worker's file holds a password; both sides read them from their own environment."""
    os.environ.setdefault(BROKER_ENV, broker_url())
    os.environ.setdefault(BACKEND_ENV, backend_url())
    return {"broker": {"env": BROKER_ENV}, "backend": {"env": BACKEND_ENV}}


def worker_yaml() -> str:
    """The file `dagster-celery worker start -y` reads. It must say `execution: config:`; the
    same keys at top level are ignored and the worker waits for RabbitMQ on localhost."""
    return yaml.safe_dump({"execution": {"config": celery_config()}}, sort_keys=False)


def k8s_settings() -> dict[str, str]:
    return {k: os.environ.get(k) or v for k, v in K8S_DEFAULTS.items()}


def k8s_config() -> dict:
    """The `k8s_job_executor` config for Hearth's steps: the image, the namespace, secrets as
    environment (never values in the spec), HEARTH_HOME on a shared volume, and each step's
    CPU and memory (requests = limits for memory: a step over it is stopped, not the node)."""
    s = k8s_settings()
    return {
        "job_image": s["HEARTH_K8S_IMAGE"],
        "job_namespace": s["HEARTH_K8S_NAMESPACE"],
        "image_pull_policy": "IfNotPresent",
        "env_secrets": [s["HEARTH_K8S_SECRET"]],
        "env_vars": [f"HEARTH_HOME={K8S_HOME}"],  # DAGSTER_HOME: set by dagster-k8s
        "volumes": [
            {
                "name": "hearth-home",
                "persistentVolumeClaim": {"claimName": s["HEARTH_K8S_HOME_CLAIM"]},
            }
        ],
        "volume_mounts": [{"name": "hearth-home", "mountPath": K8S_HOME}],
        "resources": {
            "requests": {"cpu": s["HEARTH_K8S_CPU"], "memory": s["HEARTH_K8S_MEMORY"]},
            "limits": {"memory": s["HEARTH_K8S_MEMORY"]},
        },
        "load_incluster_config": True,
    }


def execution_config(name: str, max_concurrent: int | None = None) -> dict:
    """The run config `execution` block for Hearth's executor (hearth/defs/jobs.py): a
    selector on the executor's name, holding that executor's own config."""
    name = executor_name(name)
    inner: dict = {}
    if name == "multiprocess" and max_concurrent:
        inner["max_concurrent"] = max_concurrent
    elif name == "celery":
        inner = celery_config()
    elif name == "k8s":
        inner = k8s_config()
        if max_concurrent:
            inner["max_concurrent"] = max_concurrent
    return {"config": {name: inner}}


def venv_bin() -> Path:
    """The folder of this Python's scripts (`celery`, `dagster`): dagster-celery shells out to
    `celery`, so a worker started from here must have it on PATH."""
    return Path(sys.executable).parent


def worker_command(config_yaml: Path, name: str, concurrency: int) -> list[str]:
    """The command that starts one celery worker for Hearth: dagster-celery's own
    `worker start` with the app it needs (`-A dagster_celery.app`) and the queue it serves."""
    return [
        str(venv_bin() / "dagster-celery"),
        "worker",
        "start",
        "-A",
        "dagster_celery.app",
        "-y",
        str(config_yaml),
        "-q",
        CELERY_QUEUE,
        "-n",
        name,
        "--",
        f"--concurrency={concurrency}",
    ]


def worker_environment(landing: Path | None = None) -> dict[str, str]:
    """The worker's environment: this one, with the venv's `bin` first on PATH, the broker
    settings resolved, and HEARTH_LANDING when the landing is not HEARTH_HOME/landing (a run's
    landing resource accepts only that one or the default)."""
    env = dict(os.environ)
    env["PATH"] = f"{venv_bin()}{os.pathsep}{env.get('PATH', '')}"
    env[BROKER_ENV], env[BACKEND_ENV] = broker_url(), backend_url()
    if landing is not None:
        env["HEARTH_LANDING"] = str(landing.resolve())
    return env


def render_k8s_step_jobs(
    job_origin, run_id: str, job_name: str, step_keys: list[str], config: dict | None = None
) -> list[dict]:
    """The Kubernetes Job each step would be launched as, built by dagster-k8s's own code
    (the executor's config schema, its container context and `construct_dagster_k8s_job`), as
    plain dicts ready for YAML. `job_origin` is the reconstructable job's python origin."""
    from types import SimpleNamespace

    import kubernetes  # dagster-k8s's dependency
    from dagster._config import post_process_config, validate_config
    from dagster._grpc.types import ExecuteStepArgs
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.executor import k8s_job_executor
    from dagster_k8s.job import (
        UserDefinedDagsterK8sConfig,
        construct_dagster_k8s_job,
        get_k8s_job_name,
    )

    raw = config if config is not None else k8s_config()
    schema = k8s_job_executor.config_schema.config_type
    checked = validate_config(schema, raw)
    if not checked.success:
        first = checked.errors[0].message if checked.errors else "invalid"
        raise ExecutorError(f"The Kubernetes executor's settings are not valid: {first}")
    cfg = post_process_config(schema, raw).value
    context = K8sContainerContext(
        image_pull_policy=cfg.get("image_pull_policy"),
        env_secrets=cfg.get("env_secrets"),
        env_vars=cfg.get("env_vars"),
        volume_mounts=cfg.get("volume_mounts"),
        volumes=cfg.get("volumes"),
        namespace=cfg.get("job_namespace"),
        resources=cfg.get("resources"),
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(cfg.get("step_k8s_config", {})),
    )
    # what the cluster's K8sRunLauncher holds (dagster.yaml on the cluster, docs/operations.md)
    launcher = SimpleNamespace(
        job_image=None,
        dagster_home=K8S_DAGSTER_HOME,
        instance_config_map=K8S_INSTANCE_CONFIG_MAP,
        postgres_password_secret=None,
    )
    client = kubernetes.client.ApiClient()
    jobs = []
    for step_key in step_keys:
        args = ExecuteStepArgs(
            job_origin=job_origin, run_id=run_id, step_keys_to_execute=[step_key]
        )
        name = f"dagster-step-{get_k8s_job_name(run_id, step_key)}"
        job = construct_dagster_k8s_job(
            job_config=context.get_k8s_job_config(cfg.get("job_image"), launcher),
            args=args.get_command_args(skip_serialized_namedtuple=True),
            job_name=name,
            pod_name=name,
            component="step_worker",
            user_defined_k8s_config=context.run_k8s_config,
            labels={"dagster/job": job_name, "dagster/op": step_key, "dagster/run-id": run_id},
            env_vars=[
                *args.get_command_env(),
                {"name": "DAGSTER_RUN_JOB_NAME", "value": job_name},
                {"name": "DAGSTER_RUN_STEP_KEY", "value": step_key},
            ],
        )
        body = client.sanitize_for_serialization(job)
        body["metadata"]["namespace"] = context.namespace
        jobs.append(body)
    return jobs
