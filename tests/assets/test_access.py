"""Access: a private HEARTH_HOME, roles from a file the installer owns, and run config that
cannot send a run's files outside HEARTH_HOME (the audit chain:
tests/unit/privacy/test_access_audit.py).
Real files, real DuckDB, real Dagster runs."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from hearth.defs.resources import (
    LandingResource,
    MlflowResource,
    OutputsResource,
    PrivateIOManager,
)
from hearth.privacy import audit
from hearth.privacy.access import ensure_private_home, os_user, private_process
from hearth.privacy.role_access import RoleError, authorise

SETPRIV = shutil.which("setpriv")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    """A permissive umask, as a shell usually has, restored afterwards."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _cli(*args: str):
    from hearth.cli.app import app

    return CliRunner().invoke(app, list(args))


# ---- a private HEARTH_HOME --------------------------------------------------------------------


def test_home_is_created_owner_only(tmp_path, monkeypatch, umask_022):
    home = tmp_path / "new" / "home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    ensure_private_home()
    assert mode(home) == 0o700


def test_a_home_others_could_read_is_tightened_by_any_command(hearth_home, umask_022):
    hearth_home.chmod(0o755)
    (hearth_home / "warehouse.duckdb").write_bytes(b"x")
    (hearth_home / "outputs" / "2026-01" / "roles" / "police").mkdir(parents=True)
    listed = hearth_home / "outputs" / "2026-01" / "roles" / "police" / "ranked_households.csv"
    listed.write_text("rank\n1\n")
    (hearth_home / "outputs" / "2026-01").chmod(0o755)
    (hearth_home / "mlflow.db").write_bytes(b"x")
    (hearth_home / "mlflow.db").chmod(0o666)
    result = _cli("audit")
    assert result.exit_code == 0, result.output
    assert mode(hearth_home) == 0o700
    for p in (hearth_home / "warehouse.duckdb", hearth_home / "mlflow.db", listed):
        assert mode(p) & 0o077 == 0, p
    assert mode(hearth_home / "outputs" / "2026-01") == 0o700
    # and from now on this process makes private files
    (hearth_home / "new.txt").write_text("x")
    assert mode(hearth_home / "new.txt") == 0o600


def test_private_process_sets_umask_077(tmp_path, umask_022):
    private_process()
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    assert mode(tmp_path / "f") == 0o600 and mode(tmp_path / "d") == 0o700


@pytest.mark.skipif(os.getuid() != 0 or SETPRIV is None, reason="needs root and setpriv")
def test_another_user_cannot_read_the_home(umask_022, monkeypatch):
    """A real attempt as `nobody`: a file beside the home is readable, the home's are not."""
    base = Path(tempfile.mkdtemp(prefix="hearth-access-", dir="/tmp"))
    try:
        base.chmod(0o755)
        (base / "public.txt").write_text("public\n")
        (base / "public.txt").chmod(0o644)
        home = base / "home"
        monkeypatch.setenv("HEARTH_HOME", str(home))
        ensure_private_home()
        private_process()
        (home / "warehouse.duckdb").write_bytes(b"secret")

        def as_nobody(*cmd: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", *cmd],
                capture_output=True,
                text=True,
                timeout=30,
            )

        assert as_nobody("cat", str(base / "public.txt")).stdout == "public\n"
        denied = as_nobody("cat", str(home / "warehouse.duckdb"))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr
        assert as_nobody("ls", str(home)).returncode != 0
    finally:
        shutil.rmtree(base)


# ---- roles --------------------------------------------------------------------------------


def _roles(tmp_path: Path, monkeypatch, text: str) -> Path:
    folder = tmp_path / "etc"
    folder.mkdir(exist_ok=True)
    path = folder / "roles.yaml"
    path.write_text(text)
    path.chmod(0o644)
    monkeypatch.setenv("HEARTH_ROLES_FILE", str(path))
    return path


def test_without_a_roles_file_only_the_owner_of_the_home_may_use_a_role(hearth_home, monkeypatch):
    monkeypatch.delenv("HEARTH_ROLES_FILE", raising=False)
    grant = authorise("police")
    assert grant.user == os_user() and grant.via == "owner of HEARTH_HOME (no roles file)"
    monkeypatch.setattr("hearth.privacy.role_access.login_user", lambda: "mallory")
    with pytest.raises(RoleError, match="no roles file .* only the owner of HEARTH_HOME") as e:
        authorise("police")
    assert "you are mallory" in str(e.value)


def test_roles_file_maps_users_and_groups_to_roles(hearth_home, tmp_path, monkeypatch):
    import grp

    me = os_user()
    my_group = grp.getgrgid(os.getgid()).gr_name
    _roles(tmp_path, monkeypatch, f"health:\n  users: [{me}]\nfire:\n  groups: [{my_group}]\n")
    assert authorise("health").via.startswith(f"user {me} in ")
    assert authorise("fire").via.startswith(f"group {my_group} in ")
    with pytest.raises(RoleError) as e:
        authorise("police")
    assert str(e.value).startswith(f"{me} may not use the police role: the roles file ")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("polce:\n  users: [x]\n", "unknown role 'polce'"),
        ("police:\n  people: [x]\n", "only 'users' and 'groups'"),
        ("police:\n  users: asmith\n", "must be a list of names"),
        ("- police\n", "must map each role"),
    ],
)
def test_a_roles_file_that_is_not_understood_is_refused(
    hearth_home, tmp_path, monkeypatch, text, problem
):
    _roles(tmp_path, monkeypatch, text)
    with pytest.raises(RoleError, match=problem):
        authorise("police")


@pytest.mark.parametrize("file_mode, folder_mode", [(0o664, 0o755), (0o646, 0o755), (0o644, 0o775)])
def test_a_roles_file_others_could_change_is_not_trusted(
    hearth_home, tmp_path, monkeypatch, file_mode, folder_mode
):
    path = _roles(tmp_path, monkeypatch, f"police:\n  users: [{os_user()}]\n")
    path.chmod(file_mode)
    path.parent.chmod(folder_mode)
    with pytest.raises(RoleError, match="can be changed by users other than its owner"):
        authorise("police")
    path.chmod(0o644)
    path.parent.chmod(0o755)
    assert authorise("police").role == "police"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the file to another user")
def test_a_roles_file_owned_by_someone_else_is_not_trusted(hearth_home, tmp_path, monkeypatch):
    path = _roles(tmp_path, monkeypatch, f"police:\n  users: [{os_user()}]\n")
    os.chown(path, 65534, 65534)
    with pytest.raises(RoleError, match="not to root or to the owner of HEARTH_HOME"):
        authorise("police")


def test_a_named_roles_file_that_is_missing_refuses_every_role(hearth_home, monkeypatch):
    monkeypatch.setenv("HEARTH_ROLES_FILE", str(hearth_home / "absent.yaml"))
    with pytest.raises(RoleError, match="HEARTH_ROLES_FILE names .* which does not exist"):
        authorise("health")


def test_a_refused_role_is_audited_and_nothing_is_read(hearth_home, tmp_path, monkeypatch):
    _roles(tmp_path, monkeypatch, "police:\n  users: [someone-else]\n")
    clients = tmp_path / "agency" / "clients.csv"
    clients.parent.mkdir()
    clients.write_text("nhs_number\n9434765919\n")
    result = _cli(
        "reidentify",
        "--clients",
        str(clients),
        "--id-column",
        "nhs_number",
        "--role",
        "police",
        "--key-file",
        str(tmp_path / "no-such.key"),
    )
    assert result.exit_code == 2
    assert f"{os_user()} may not use the police role" in result.output
    assert "does not exist" not in result.output  # refused before the key was looked at
    (entry,) = audit.entries()
    assert entry["action"] == "refused" and entry["role"] == "police"
    assert entry["os_user"] == os_user() and "may not use" in entry["detail"]["why"]


# ---- run config cannot point a run outside HEARTH_HOME ----------------------------------------


def _probe_job():
    @dg.asset
    def probe(landing: LandingResource, outputs: OutputsResource, mlflow: MlflowResource):
        out = outputs.resolved()
        out.mkdir(parents=True, exist_ok=True)
        (out / "probe.txt").write_text(str(landing.resolved()))
        return mlflow.uri()

    resources = {"landing": LandingResource(), "outputs": OutputsResource()}
    return probe, resources | {"mlflow": MlflowResource(), "io_manager": PrivateIOManager()}


def _materialize(config: dict):
    probe, resources = _probe_job()
    return dg.materialize(
        [probe],
        resources=resources,
        run_config={"resources": {k: {"config": v} for k, v in config.items()}},
        raise_on_error=False,
    )


@pytest.mark.parametrize(
    "resource, config",
    [
        ("outputs", {"path": "{elsewhere}/chosen"}),
        ("outputs", {"path": "{home}/../elsewhere/chosen"}),
        ("landing", {"path": "{elsewhere}"}),
        ("mlflow", {"tracking_uri": "sqlite:///{elsewhere}/mlflow.db"}),
        ("mlflow", {"tracking_uri": "http://127.0.0.1:1/"}),
        ("io_manager", {"base_dir": "{elsewhere}/pickles"}),
    ],
)
def test_run_config_pointing_outside_hearth_home_is_refused(
    hearth_home, tmp_path, resource, config
):
    elsewhere = tmp_path / "elsewhere"
    cfg = {k: v.format(elsewhere=elsewhere, home=hearth_home) for k, v in config.items()}
    result = _materialize({resource: cfg})
    assert not result.success
    assert not elsewhere.exists()  # nothing read or written there
    assert not (hearth_home / "outputs" / "probe.txt").exists()
    failures = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    from hearth.cli.launch import _problems

    (sentence,) = _problems(result)
    assert sentence.startswith(f"The run's configuration points the {resource} resource at ")
    assert "the run was refused and nothing was read or written" in sentence and failures
    from hearth.operations.alerts import compose, stop_from_events  # the alert says the same

    alert = compose(result.run_id, "probe", stop_from_events(e for e in result.all_events))
    assert f" • {sentence}" in alert


def test_run_config_under_hearth_home_or_where_the_environment_says_is_used(
    hearth_home, tmp_path, monkeypatch
):
    inside = hearth_home / "outputs-2"
    assert _materialize({"outputs": {"path": str(inside)}}).success
    assert (inside / "probe.txt").exists()
    landing = tmp_path / "sftp" / "landing"
    monkeypatch.setenv("HEARTH_LANDING", str(landing))  # as `hearth run --landing` sets it
    assert _materialize({"landing": {"path": str(landing)}}).success
    assert (hearth_home / "outputs" / "probe.txt").read_text() == str(landing.resolve())
    uri = f"sqlite:///{hearth_home / 'mlflow.db'}"
    assert _materialize({"mlflow": {"tracking_uri": uri}}).success


def test_the_definitions_use_the_guarded_io_manager():
    from hearth.definitions import defs

    assert isinstance(defs().resources["io_manager"], PrivateIOManager)


def test_sudo_user_and_other_variables_do_not_choose_the_person(hearth_home, tmp_path, monkeypatch):
    """The account Hearth runs as can set any variable: SUDO_USER names no one."""
    for var, value in (("SUDO_USER", "asmith"), ("SUDO_UID", "4242"), ("USER", "asmith")):
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("LOGNAME", "asmith")
    _roles(tmp_path, monkeypatch, "police:\n  users: [asmith]\n")
    with pytest.raises(RoleError, match=f"{os_user()} may not use the police role"):
        authorise("police")
