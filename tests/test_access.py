"""Access: a private HEARTH_HOME, roles from a file the installer owns, an audit log whose
edits and deletions `hearth audit --verify` finds, and run config that cannot send a run's
files outside HEARTH_HOME. Real files, real DuckDB, real Dagster runs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from hearth import audit
from hearth.access import ensure_private_home, os_user, private_process
from hearth.role_access import RoleError, authorise
from pipelines.resources import (
    LandingResource,
    MlflowResource,
    OutputsResource,
    PrivateIOManager,
)

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
    from hearth.cli import app

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
    monkeypatch.setattr("hearth.role_access.os_user", lambda: "mallory")
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


# ---- the audit chain ------------------------------------------------------------------------


def _log(n: int = 5) -> list[dict]:
    for i in range(n):
        audit.append(
            "reidentify",
            role=("health", "police", "fire")[i % 3],
            user=os_user(),
            os_user=os_user(),
            sudo_user=None,
            via="test",
            clients=10 + i,
            matched=i,
            run_as_of="2026-01",
            detail={"households_returned": i},
        )
    return audit.entries()


def _rewrite(lines: list[str]) -> None:
    audit.log_path().write_text("".join(ln + "\n" for ln in lines))


def test_an_intact_log_verifies_and_every_entry_names_its_os_user(hearth_home):
    entries = _log()
    check = audit.verify()
    assert check.intact and check.entries == 5 and check.head == f"5:{entries[-1]['hash']}"
    assert all(e["os_user"] == os_user() and e["user"] == os_user() for e in entries)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev"] == audit.GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert mode(audit.log_path()) == 0o600 and mode(audit.head_path()) == 0o600
    assert mode(audit.audit_dir()) == 0o700


def _edit_role(lines, rehash=False):
    e = json.loads(lines[1])
    e["role"] = "commissioner"
    if rehash:
        e["hash"] = audit.entry_hash(e)
    lines[1] = json.dumps(e, sort_keys=True, separators=(",", ":"))
    return lines


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (lambda ls: _edit_role(ls), "entry 2 .* was changed after it was written"),
        (lambda ls: _edit_role(ls, rehash=True), "entry 3 .* does not follow the entry before"),
        (lambda ls: ls[:2] + ls[3:], "entry 4 .* follows entry 2: 1 entry was deleted"),
        (lambda ls: ls[:3], "head records 5 entries but the log holds 3: 2 entries were deleted"),
        (lambda ls: ls[:1] + ls[1:2] * 2 + ls[2:], "follows entry 2: entries were moved or copied"),
        (lambda ls: [ls[0], ls[1].replace('"matched":1', '"matched":0'), *ls[2:]], "changed"),
        (lambda ls: [ls[0], "not json", *ls[2:]], "Line 2 of the audit log is not an entry"),
    ],
)
def test_verify_finds_an_edit_a_deletion_or_a_truncation(hearth_home, tamper, problem):
    _log()
    _rewrite(tamper(audit.log_path().read_text().splitlines()))
    check = audit.verify()
    assert not check.intact
    assert any(__import__("re").search(problem, p) for p in check.problems), check.problems


def test_verify_finds_a_missing_head_and_a_deleted_log(hearth_home):
    _log()
    head = audit.head_path().read_bytes()
    audit.head_path().unlink()
    assert any("head" in p and "missing" in p for p in audit.verify().problems)
    audit.head_path().write_bytes(head)
    audit.log_path().unlink()
    assert audit.verify().problems == [
        "The audit head records 5 entries but the log holds 0: 5 entries were deleted from its end."
    ]


def test_a_rebuilt_chain_is_caught_by_a_head_kept_elsewhere(hearth_home):
    entries = _log()
    kept = audit.verify().head
    # someone rebuilds the whole chain and its head without entry 2
    shutil.rmtree(audit.audit_dir())
    for e in entries[:1] + entries[2:]:
        fields = {k: e[k] for k in ("role", "user", "os_user", "sudo_user", "via", "clients")}
        audit.append(e["action"], **fields, matched=e["matched"], run_as_of=e["run_as_of"])
    assert audit.verify().intact  # the chain alone cannot tell
    check = audit.verify(expect=kept)
    assert check.problems == ["The audit log no longer has entry 5, which the head you kept names."]
    assert not audit.verify(expect=f"2:{entries[1]['hash']}").intact
    assert audit.verify(expect=audit.verify().head).intact
    assert "must be a head line" in audit.verify(expect="five").problems[0]


def test_an_edit_made_through_duckdb_fails_hearth_audit_verify(hearth_home):
    """The attack of issue 13: one entry's role changed and another deleted with DuckDB."""
    _log()
    log = str(audit.log_path())
    con = duckdb.connect()
    rows = con.execute(
        "SELECT * REPLACE (CASE WHEN seq = 2 THEN 'commissioner' ELSE role END AS role) "
        "FROM read_json_auto(?) WHERE seq <> 4 ORDER BY seq",
        [log],
    ).fetchall()
    names = [d[0] for d in con.description]
    con.close()
    _rewrite([json.dumps(dict(zip(names, r, strict=True)), default=str) for r in rows])
    listing = _cli("audit")
    assert "has been changed or cut short" in listing.output
    result = _cli("audit", "--verify")
    assert result.exit_code == 1
    assert "The audit log has been tampered with" in result.output
    assert "entry 2" in result.output and "changed after it was written" in result.output
    assert "1 entry was deleted" in result.output


def test_hearth_audit_lists_who_and_verify_passes(hearth_home):
    _log(2)
    listing = _cli("audit")
    assert listing.exit_code == 0 and os_user() in listing.output and "police" in listing.output
    ok = _cli("audit", "--verify")
    assert ok.exit_code == 0 and "The audit log is intact: 2 entries" in ok.output
    assert "--expect 2:" in ok.output


def test_old_warehouse_audit_rows_are_carried_into_the_chain_once(hearth_home):
    wh = hearth_home / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute(
        "CREATE TABLE audit_log (used_at TIMESTAMP, action VARCHAR, role VARCHAR, clients BIGINT,"
        " matched BIGINT, run_as_of VARCHAR, detail VARCHAR)"
    )
    con.execute(
        "INSERT INTO audit_log VALUES ('2026-01-05 10:00:00', 'reidentify', 'health', 5, 2, "
        "'2026-01', '{\"households_returned\": 2}')"
    )
    con.close()
    _log(1)
    first, second = audit.entries()
    assert first["role"] == "health" and first["os_user"] == "unknown"
    assert first["detail"]["imported_from_warehouse"].startswith("2026-01-05 10:00:00")
    assert second["prev"] == first["hash"] and audit.verify().intact
    assert len(audit.entries()) == 2  # imported once


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
    from hearth.runner import _problems

    (sentence,) = _problems(result)
    assert sentence.startswith(f"The run's configuration points the {resource} resource at ")
    assert "the run was refused and nothing was read or written" in sentence and failures


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
    from pipelines.definitions import defs

    assert isinstance(defs().resources["io_manager"], PrivateIOManager)
