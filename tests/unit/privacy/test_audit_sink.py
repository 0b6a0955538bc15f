"""The audit sink: every entry is also sent outside the service account's reach, and
`hearth audit --verify` finds each of ten ways of tampering with the log against it - with a
file sink owned by another user, a real syslog receiver (a unix datagram socket bound here)
and a webhook (a real HTTP server). The user recorded is the kernel's login user.
Real files, sockets and processes; no mocks."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hearth.privacy import audit, audit_sink

NOBODY = 65534
SETPRIV = shutil.which("setpriv")


def _cli(*args: str):
    from hearth.cli.app import app

    return CliRunner().invoke(app, list(args))


def _log(n: int = 5) -> list[dict]:
    for i in range(n):
        audit.append(
            "reidentify",
            role=("health", "police", "fire")[i % 3],
            via="test",
            clients=10 + i,
            matched=i,
            run_as_of="2026-01",
            detail={"households_returned": i},
        )
    return audit.entries()


# ---- the sinks --------------------------------------------------------------------------------


class FileSink:
    """An append-only file owned by another user (nobody), as the installer sets it up."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "audit-sink.jsonl"
        self.path.touch()
        os.chown(self.path, NOBODY, NOBODY)
        self.path.chmod(0o622)
        self.spec, self.read = f"file:{self.path}", None

    def drain(self) -> None:
        pass

    def close(self) -> None:
        pass


class SyslogSink:
    """A syslog receiver: a unix datagram socket that files each message with a timestamp and
    host name, as rsyslog does; drained before each check (no thread, nothing to race)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="hs-", dir="/tmp"))  # a socket path is short
        self.socket_path = self.folder / "log"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.socket_path))
        self.sock.setblocking(False)
        self.file = self.folder / "messages"
        self.file.touch()
        self.spec, self.read = f"syslog:{self.socket_path}", str(self.file)

    def drain(self) -> None:
        with self.file.open("a") as f:
            while True:
                try:
                    data = self.sock.recv(65536).decode()
                except BlockingIOError:
                    return
                message = re.sub(r"^<\d+>", "", data)
                f.write(f"2026-01-31T10:00:00+00:00 vm {message}\n")

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.folder)


class WebhookSink:
    """An HTTP service that keeps each POSTed record and answers GET with them, one a line."""

    def __init__(self) -> None:
        received: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                body = b"".join(r + b"\n" for r in received)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        url = f"http://127.0.0.1:{self.server.server_port}/audit?token=s3cret"
        self.spec, self.read = url, url

    def drain(self) -> None:
        pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SINKS = {"file": FileSink, "syslog": SyslogSink, "webhook": WebhookSink}


@pytest.fixture(params=["file", "syslog"])
def a_sink(request, hearth_home, tmp_path, monkeypatch) -> Iterator:
    sink = FileSink(tmp_path) if request.param == "file" else SINKS[request.param]()
    monkeypatch.delenv("HEARTH_ROLES_FILE", raising=False)
    monkeypatch.setenv(audit_sink.SINK_ENV, sink.spec)
    if sink.read:
        monkeypatch.setenv(audit_sink.SINK_READ_ENV, sink.read)
    else:
        monkeypatch.delenv(audit_sink.SINK_READ_ENV, raising=False)
    yield sink
    sink.close()


# ---- the ten tamperings ---------------------------------------------------------------------


def _lines() -> list[str]:
    return audit.log_path().read_text().splitlines()


def _write(lines: list[str], head: bool = True) -> None:
    """The log as `lines`, and (with `head`) a head rewritten to match, as a forger would."""
    audit.log_path().write_text("".join(ln + "\n" for ln in lines))
    if head:
        last = json.loads(lines[-1])["hash"] if lines else audit.GENESIS
        audit.head_path().write_text(json.dumps({"entries": len(lines), "hash": last}))


def _rebuild(entries: list[dict]) -> None:
    """Renumber and rechain `entries` and rewrite the head: a chain consistent in itself."""
    prev, out = audit.GENESIS, []
    for seq, e in enumerate(entries, start=1):
        e = {**e, "seq": seq, "prev": prev}
        e["hash"] = audit.entry_hash(e)
        prev = e["hash"]
        out.append(json.dumps(e, sort_keys=True, separators=(",", ":")))
    _write(out)


def _parsed() -> list[dict]:
    return [json.loads(ln) for ln in _lines()]


def delete_the_log(older: Path) -> None:
    shutil.rmtree(audit.audit_dir())


def empty_it(older: Path) -> None:
    audit.log_path().write_text("")
    audit.head_path().unlink()


def delete_the_last_entry(older: Path) -> None:
    _write(_lines()[:-1], head=False)


def delete_a_middle_entry(older: Path) -> None:
    lines = _lines()
    _write(lines[:2] + lines[3:], head=False)


def edit_an_entry(older: Path) -> None:
    lines = _lines()
    lines[1] = lines[1].replace('"role":"police"', '"role":"commissioner"')
    _write(lines, head=False)


def edit_and_rebuild_the_chain(older: Path) -> None:
    entries = _parsed()
    entries[1]["clients"] = 0
    _rebuild(entries)


def cut_and_rewrite_the_head(older: Path) -> None:
    _write(_lines()[:-2])


def reorder(older: Path) -> None:
    entries = _parsed()
    entries[1], entries[3] = entries[3], entries[1]
    _rebuild(entries)


def insert_a_forged_entry(older: Path) -> None:
    entries = _parsed()
    forged = {**entries[0], "role": "police", "user": "asmith", "clients": 1}
    _rebuild(entries[:2] + [forged] + entries[2:])


def replace_with_an_older_copy(older: Path) -> None:
    shutil.rmtree(audit.audit_dir())
    shutil.copytree(older, audit.audit_dir())


TAMPERINGS: dict[str, Callable[[Path], None]] = {
    f.__name__: f
    for f in (
        delete_the_log,
        empty_it,
        delete_the_last_entry,
        delete_a_middle_entry,
        edit_an_entry,
        edit_and_rebuild_the_chain,
        cut_and_rewrite_the_head,
        reorder,
        insert_a_forged_entry,
        replace_with_an_older_copy,
    )
}
# What the sink check says for each (the chain may say more).
SINK_SAYS = {
    "delete_the_log": r"The sink holds entries 1-5, which the log does not",
    "empty_it": r"The sink holds entries 1-5, which the log does not",
    "delete_the_last_entry": r"The sink holds entry 5, which the log does not",
    "delete_a_middle_entry": r"The log's entries 3 and 4 are not the ones the sink holds",
    "edit_an_entry": r"The log's entry 2 is not the one the sink holds",
    "edit_and_rebuild_the_chain": r"The log's entries 2-5 are not the ones the sink holds",
    "cut_and_rewrite_the_head": r"The sink holds entries 4 and 5, which the log does not",
    "reorder": r"The log's entries 2-5 are not the ones the sink holds",
    "insert_a_forged_entry": r"The log's entry 6 never reached the sink",
    "replace_with_an_older_copy": r"The sink holds entries 4 and 5, which the log does not",
}
# The log alone (no sink): what its chain and head still show.
FOUND_WITHOUT_SINK = {
    "delete_the_last_entry",
    "delete_a_middle_entry",
    "edit_an_entry",
}
UNDETERMINED_WITHOUT_SINK = {"delete_the_log", "empty_it"}


def _tampered_log(tamper: str) -> None:
    _log(3)
    older = Path(tempfile.mkdtemp(prefix="older-")) / "audit"
    shutil.copytree(audit.audit_dir(), older)
    _log(2)
    TAMPERINGS[tamper](older)
    shutil.rmtree(older.parent)


def test_an_untouched_log_verifies_against_its_sink(a_sink):
    _log(5)
    a_sink.drain()
    result = _cli("audit", "--verify")
    assert result.exit_code == 0, result.output
    assert "The audit log is intact: 5 entries" in result.output
    assert "and against" in result.output and "No audit sink" not in result.output
    check = audit.verify()
    assert check.sink_entries == 5 and check.intact


@pytest.mark.parametrize("tamper", list(TAMPERINGS))
def test_each_tampering_is_found_by_verify_against_the_sink(a_sink, tamper):
    _tampered_log(tamper)
    a_sink.drain()
    result = _cli("audit", "--verify")
    assert result.exit_code == 1, result.output
    assert "The audit log has been tampered with" in result.output
    assert re.search(SINK_SAYS[tamper], result.output.replace("\n", " ")), result.output


@pytest.mark.parametrize("tamper", list(TAMPERINGS))
def test_without_a_sink_verify_says_what_it_cannot_detect(hearth_home, monkeypatch, tamper):
    monkeypatch.delenv(audit_sink.SINK_ENV, raising=False)
    monkeypatch.delenv("HEARTH_ROLES_FILE", raising=False)
    _tampered_log(tamper)
    result = _cli("audit", "--verify")
    out = " ".join(result.output.split())
    if tamper in FOUND_WITHOUT_SINK:
        assert result.exit_code == 1 and "tampered with" in out
    elif tamper in UNDETERMINED_WITHOUT_SINK:
        # a deleted or emptied log is never "intact"
        assert result.exit_code == 1 and "could not be verified" in out, out
        assert "cannot tell a log that was never written" in out
    else:
        assert result.exit_code == 0 and "intact" in out
    assert "No audit sink is configured, so this check cannot detect" in out
    assert "HEARTH_AUDIT_SINK" in out and "docs/operations.md" in out


def test_a_webhook_sink_takes_each_entry_and_finds_a_deleted_log(hearth_home, monkeypatch):
    hook = WebhookSink()
    try:
        monkeypatch.setenv(audit_sink.SINK_ENV, hook.spec)
        monkeypatch.setenv(audit_sink.SINK_READ_ENV, hook.read)
        _log(3)
        ok = _cli("audit", "--verify")
        assert ok.exit_code == 0 and "intact: 3 entries" in ok.output, ok.output
        assert "http://127.0.0.1" in ok.output and "s3cret" not in ok.output
        delete_the_log(Path())
        bad = _cli("audit", "--verify")
        assert bad.exit_code == 1 and "The sink holds entries 1-3" in bad.output
    finally:
        hook.close()
    # a webhook that is down refuses the entry: nothing is recorded
    with pytest.raises(audit.AuditError, match=r"did not take the entry.*Nothing was recorded"):
        _log(1)
    assert "s3cret" not in str(audit.verify().undetermined)


def test_the_roles_file_names_the_sink_over_the_environment(hearth_home, tmp_path, monkeypatch):
    sink = FileSink(tmp_path)
    roles = tmp_path / "etc" / "roles.yaml"
    roles.parent.mkdir()
    roles.write_text(f"police:\n  users: [asmith]\naudit:\n  sink: {sink.spec}\n")
    monkeypatch.setenv("HEARTH_ROLES_FILE", str(roles))
    monkeypatch.setenv(audit_sink.SINK_ENV, "syslog:/nonexistent/socket")  # ignored
    _log(2)
    assert len(sink.path.read_text().splitlines()) == 2
    check = audit.verify()
    assert check.intact and check.sink_entries == 2 and str(roles) in (check.sink or "")


def test_a_sink_file_the_account_owns_is_refused_and_nothing_is_recorded(
    hearth_home, tmp_path, monkeypatch
):
    own = tmp_path / "mine.jsonl"
    own.touch()
    monkeypatch.setenv(audit_sink.SINK_ENV, f"file:{own}")
    with pytest.raises(audit.AuditError, match="belongs to the account Hearth runs as"):
        _log(1)
    assert not audit.log_path().exists() and own.read_text() == ""
    missing = tmp_path / "missing.jsonl"
    monkeypatch.setenv(audit_sink.SINK_ENV, f"file:{missing}")
    with pytest.raises(audit.AuditError, match="does not exist: the installer creates it"):
        _log(1)
    monkeypatch.setenv(audit_sink.SINK_ENV, "ftp://x")
    result = _cli("audit", "--verify")
    assert result.exit_code == 1 and "is not one Hearth knows" in result.output


def test_a_syslog_sink_without_a_place_to_read_it_back_cannot_verify(hearth_home, monkeypatch):
    receiver = SyslogSink()
    try:
        monkeypatch.setenv(audit_sink.SINK_ENV, receiver.spec)
        monkeypatch.delenv(audit_sink.SINK_READ_ENV, raising=False)
        _log(1)
        result = _cli("audit", "--verify")
        out = " ".join(result.output.split())
        assert result.exit_code == 1 and "not where to read its copies back" in out
    finally:
        receiver.close()


# ---- who is recorded ---------------------------------------------------------------------------


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HEARTH_") and k not in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI")
    }
    return {**env, "HEARTH_HOME": str(home), **extra}


APPEND = (
    "from hearth.privacy import audit; import json; "
    "e = audit.append('reidentify', role='police', via='test'); "
    "print(json.dumps({k: e[k] for k in ('user', 'os_user', 'login_uid')}))"
)


def _can_set_loginuid() -> bool:
    done = subprocess.run(["sh", "-c", "echo 65534 > /proc/self/loginuid"], capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not _can_set_loginuid(), reason="cannot set a login uid here")
def test_the_user_recorded_is_the_kernels_login_user_not_sudo_user(tmp_path):
    """A session whose login uid is nobody's, running as root with SUDO_USER=asmith: the
    entry names nobody (the login), root (the account), never asmith."""
    home = tmp_path / "home"
    env = _env(home, SUDO_USER="asmith", SUDO_UID="4242", USER="asmith", LOGNAME="asmith")
    script = f'echo {NOBODY} > /proc/self/loginuid && exec {sys.executable} -c "{APPEND}"'
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"user": "nobody", "os_user": "root", "login_uid": NOBODY}
    # no login recorded (4294967295, a service): the effective user, still not asmith
    done = subprocess.run([sys.executable, "-c", APPEND], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"user": "root", "os_user": "root", "login_uid": None}


# ---- the documented set-up, as the service account ---------------------------------------------


def _append_only(path: Path) -> bool:
    return subprocess.run(["chattr", "+a", str(path)], capture_output=True).returncode == 0


@pytest.mark.skipif(os.getuid() != 0 or SETPRIV is None, reason="needs root and setpriv")
def test_the_service_account_can_add_to_the_sink_but_not_rewrite_it():
    """docs/operations.md's file sink: root owns it, the account's group may write, chattr +a.
    Hearth runs as nobody (the service account, owner of its home): it appends entries, cannot
    empty the sink, and when it deletes its own log, its own --verify says so."""
    base = Path(tempfile.mkdtemp(prefix="hearth-sink-", dir="/tmp"))
    sink = base / "audit.jsonl"
    try:
        base.chmod(0o755)
        home = base / "home"
        home.mkdir(mode=0o700)
        os.chown(home, NOBODY, NOBODY)
        sink.touch()
        os.chown(sink, 0, NOBODY)
        sink.chmod(0o660)
        if not _append_only(sink):
            pytest.skip("this file system has no append-only attribute")
        env = _env(home, HEARTH_AUDIT_SINK=f"file:{sink}")

        def as_account(*cmd: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )

        hearth = [sys.executable, "-m", "hearth.cli.app"]
        for _ in range(2):
            assert as_account(sys.executable, "-c", APPEND).returncode == 0
        assert len(sink.read_text().splitlines()) == 2
        emptied = as_account("sh", "-c", f": > {sink}")
        assert emptied.returncode != 0 and "Operation not permitted" in emptied.stderr
        ok = as_account(*hearth, "audit", "--verify")
        assert ok.returncode == 0 and "intact: 2 entries" in ok.stdout, ok.stdout + ok.stderr
        assert as_account("rm", "-r", str(home / "audit")).returncode == 0
        bad = as_account(*hearth, "audit", "--verify")
        assert bad.returncode == 1 and "The sink holds entries 1 and 2" in bad.stdout + bad.stderr
    finally:
        subprocess.run(["chattr", "-a", str(sink)], capture_output=True)
        shutil.rmtree(base)
