"""The executor settings (hearth/operations/executors.py), without Dagster: which executor,
the run config each gets, the celery worker's file and environment, and broker URLs never
written out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

from hearth.operations import executors as ex
from tests.support.environment import clear_hearth


@pytest.fixture(autouse=True)
def _no_hearth_settings(monkeypatch):
    clear_hearth(monkeypatch)


def test_the_executor_is_the_option_then_the_setting_then_in_process(monkeypatch):
    assert ex.executor_name() == "in_process"
    monkeypatch.setenv("HEARTH_EXECUTOR", "multiprocess")
    assert ex.executor_name() == "multiprocess"
    assert ex.executor_name("celery") == "celery"
    assert ex.executor_name("in-process") == "in_process"


@pytest.mark.parametrize("value", ["dask", "Multiprocess", ""])
def test_an_unknown_executor_is_refused_naming_the_choices(value, monkeypatch):
    if not value:
        monkeypatch.setenv("HEARTH_EXECUTOR", "spark")
    with pytest.raises(ex.ExecutorError) as e:
        ex.executor_name(value or None)
    msg = str(e.value)
    assert "in_process, multiprocess, celery, k8s" in msg
    assert ("HEARTH_EXECUTOR" if not value else "--executor") in msg


def test_each_executor_gets_its_own_config_under_its_name():
    assert ex.execution_config("in_process") == {"config": {"in_process": {}}}
    assert ex.execution_config("multiprocess", 3) == {
        "config": {"multiprocess": {"max_concurrent": 3}}
    }
    celery = ex.execution_config("celery")["config"]["celery"]
    assert celery == {"broker": {"env": ex.BROKER_ENV}, "backend": {"env": ex.BACKEND_ENV}}
    k8s = ex.execution_config("k8s", 2)["config"]["k8s"]
    assert k8s["max_concurrent"] == 2 and k8s["job_image"] == "hearth:latest"


def test_the_broker_defaults_to_local_redis_and_the_backend_to_the_broker(monkeypatch):
    assert ex.broker_url() == "redis://127.0.0.1:6379/0" == ex.backend_url()
    monkeypatch.setenv(ex.BROKER_ENV, "amqp://u:p@mq:5672//")
    monkeypatch.setenv(ex.BACKEND_ENV, "rpc://")
    assert (ex.broker_url(), ex.backend_url()) == ("amqp://u:p@mq:5672//", "rpc://")


def test_the_worker_file_says_execution_config_and_holds_no_url(monkeypatch):
    """dagster-celery reads `execution: config:`; the same keys at top level are ignored and the
    worker silently waits for RabbitMQ on localhost."""
    monkeypatch.setenv(ex.BROKER_ENV, "redis://:s3cret@10.0.0.5:6379/0")
    data = yaml.safe_load(ex.worker_yaml())
    assert list(data) == ["execution"]
    assert data["execution"] == {
        "config": {"broker": {"env": ex.BROKER_ENV}, "backend": {"env": ex.BACKEND_ENV}}
    }
    assert "s3cret" not in ex.worker_yaml()


def test_a_broker_password_is_withheld_from_messages():
    assert ex.redacted("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert ex.redacted("amqp://user:pw@mq:5672//") == "amqp://user:***@mq:5672//"
    assert ex.redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_the_worker_runs_dagster_celerys_worker_with_its_app_and_queue(tmp_path):
    cmd = ex.worker_command(tmp_path / "worker.yaml", "w1@%h", 2)
    assert Path(cmd[0]) == Path(sys.executable).parent / "dagster-celery"
    assert cmd[1:3] == ["worker", "start"]
    assert cmd[cmd.index("-A") + 1] == "dagster_celery.app"
    assert cmd[cmd.index("-y") + 1] == str(tmp_path / "worker.yaml")
    assert cmd[cmd.index("-q") + 1] == "dagster"
    assert cmd[-2:] == ["--", "--concurrency=2"]


def test_the_workers_environment_keeps_the_machines_and_puts_the_venv_first(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    env = ex.worker_environment(tmp_path)
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca.pem" and env["HTTPS_PROXY"]
    assert env["HEARTH_LANDING"] == str(tmp_path.resolve())
    assert env[ex.BROKER_ENV] == ex.DEFAULT_BROKER
    assert "HEARTH_LANDING" not in ex.worker_environment(None)


def test_kubernetes_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HEARTH_K8S_IMAGE", "reg/hearth:2")
    monkeypatch.setenv("HEARTH_K8S_MEMORY", "12Gi")
    cfg = ex.k8s_config()
    assert cfg["job_image"] == "reg/hearth:2"
    assert cfg["resources"]["limits"] == {"memory": "12Gi"}
    assert cfg["env_secrets"] == ["hearth-secrets"]
    assert "HEARTH_HOME=/srv/hearth" in cfg["env_vars"]
