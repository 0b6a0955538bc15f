"""Where each audit entry is also sent: a sink outside the reach of the account Hearth runs as.

The account that runs Hearth owns HEARTH_HOME/audit/, so it could delete the log or rebuild
its chain. A copy of every entry that the account can add to but not change is what lets
`hearth audit --verify` find that. One sink, named by a line of text:

- `file:/var/log/hearth/audit.jsonl`: a file another user owns (root, or an audit account)
  that the service account may only append to (`chattr +a`, group write). Hearth refuses a
  sink file owned by the account it runs as: that account could rewrite it.
- `syslog` or `syslog:/path/to/socket` (default `/dev/log`, where rsyslog or journald listen):
  an `authpriv.notice` message tagged `hearth-audit`. To verify, Hearth reads the copies back
  from where the daemon files them: `read:` a file (`/var/log/hearth-audit.log`) or `journal`
  (`journalctl -t hearth-audit`).
- `https://...` (or `http://...`): a webhook, each entry POSTed as JSON. `read:` is a file or
  an address whose GET answers the records received, one a line.

The sink is named in the installer's roles file (`audit:` with `sink:` and `read:`; the
service account cannot change that file), else in HEARTH_AUDIT_SINK and HEARTH_AUDIT_SINK_READ
(enough where the person verifying sets the environment; on a shared server use the roles
file, since the account can change its own environment). Each record is one JSON line,
`{"hearth_audit": 1, "home": HEARTH_HOME, "entry": {...}}`, so several homes can share a
sink. An address is never printed whole (it may carry a token)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SINK_ENV = "HEARTH_AUDIT_SINK"
SINK_READ_ENV = "HEARTH_AUDIT_SINK_READ"
SYSLOG_TAG = "hearth-audit"
DEFAULT_SYSLOG_SOCKET = "/dev/log"
# authpriv (10) * 8 + notice (5): where syslog daemons keep security records
SYSLOG_PRIORITY = 85
RECORD_MARK = '{"hearth_audit":'
HOW_TO = "see 'The audit sink' in docs/operations.md"


class AuditSinkError(RuntimeError):
    """The sink is misconfigured, refused an entry, or cannot be read back: a sentence."""


@dataclass(frozen=True)
class Sink:
    kind: str  # file | syslog | webhook
    target: str  # a path, a socket path, or an address
    read: str | None  # where verify reads the copies back: a file, "journal", an address
    where: str  # where it was configured, for messages

    def describe(self) -> str:
        what = {
            "file": f"the file {self.target}",
            "syslog": f"syslog ({self.target})",
            "webhook": f"the webhook at {_site(self.target)}",
        }[self.kind]
        return f"{what}, named in {self.where}"


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


def parse(spec: str, read: str | None, where: str) -> Sink:
    """A sink from its line of text (see the module's docstring)."""
    spec, read = spec.strip(), (read or "").strip() or None
    if spec.startswith("file:"):
        path = spec[len("file:") :].strip()
        if not path.startswith("/"):
            raise AuditSinkError(
                f"The audit sink in {where} must name the file by its full path "
                f"(file:/var/log/hearth/audit.jsonl), not {path!r}."
            )
        return Sink("file", path, read or path, where)
    if spec == "syslog" or spec.startswith("syslog:"):
        socket_path = spec[len("syslog:") :].strip() or DEFAULT_SYSLOG_SOCKET
        return Sink("syslog", socket_path, read, where)
    if spec.startswith(("https://", "http://")):
        return Sink("webhook", spec, read, where)
    raise AuditSinkError(
        f"The audit sink in {where} is not one Hearth knows: give file:/full/path, syslog[:socket] "
        f"or an https:// address ({HOW_TO})."
    )


def configured(roles_file_section: tuple[dict, Path] | None) -> Sink | None:
    """The sink the roles file's `audit:` section names, else the environment's, else None."""
    if roles_file_section is not None:
        section, path = roles_file_section
        spec = section.get("sink")
        if spec:
            if not isinstance(spec, str):
                raise AuditSinkError(f"In the roles file {path}, audit: sink: must be text.")
            read = section.get("read")
            return parse(spec, read if isinstance(read, str) else None, f"the roles file {path}")
    spec = os.environ.get(SINK_ENV, "").strip()
    if spec:
        return parse(spec, os.environ.get(SINK_READ_ENV), SINK_ENV)
    return None


def record(entry: dict, home: Path) -> str:
    # the mark first (not sorted), so a reader finds it inside a syslog daemon's line
    return json.dumps(
        {"hearth_audit": 1, "home": str(home), "entry": entry},
        separators=(",", ":"),
        ensure_ascii=True,
    )


def send(sink: Sink, entry: dict, home: Path, timeout: float = 10.0) -> None:
    """Send one entry to the sink; AuditSinkError if it was not taken."""
    line = record(entry, home)
    if sink.kind == "file":
        _append_file(sink, line)
    elif sink.kind == "syslog":
        _send_syslog(sink, line)
    else:
        req = urllib.request.Request(
            sink.target,
            data=line.encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "code", None) or type(e).__name__
            raise AuditSinkError(
                f"The audit webhook at {_site(sink.target)} did not take the entry ({reason})."
            ) from None


def file_refusal(path: Path) -> str | None:
    """Why a sink file cannot be trusted, or None: it must exist and belong to someone other
    than the account Hearth runs as (which could otherwise rewrite it)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (
            f"The audit sink file {path} does not exist: the installer creates it, owned by "
            f"another user and append-only ({HOW_TO})."
        )
    except OSError as e:
        return f"The audit sink file {path} cannot be reached ({e.strerror})."
    if st.st_uid == os.geteuid():
        return (
            f"The audit sink file {path} belongs to the account Hearth runs as, which could "
            f"rewrite it; it must belong to another user ({HOW_TO})."
        )
    return None


def _append_file(sink: Sink, line: str) -> None:
    path = Path(sink.target)
    refusal = file_refusal(path)
    if refusal:
        raise AuditSinkError(refusal)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise AuditSinkError(
            f"The audit sink file {path} did not take the entry ({e.strerror})."
        ) from None


def _send_syslog(sink: Sink, line: str) -> None:
    message = f"<{SYSLOG_PRIORITY}>{SYSLOG_TAG}[{os.getpid()}]: {line}".encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message, sink.target)
        return
    except OSError as e:
        if e.errno != 91:  # EPROTOTYPE: the daemon listens on a stream socket
            raise AuditSinkError(
                f"Syslog at {sink.target} did not take the audit entry ({e.strerror}); is a "
                "syslog daemon (rsyslog, journald) listening there?"
            ) from None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(sink.target)
            s.sendall(message + b"\n")
    except OSError as e:
        raise AuditSinkError(
            f"Syslog at {sink.target} did not take the audit entry ({e.strerror})."
        ) from None


def read_copies(sink: Sink, home: Path, timeout: float = 30.0) -> list[dict]:
    """The entries the sink holds for `home`, in the order it received them."""
    if not sink.read:
        raise AuditSinkError(
            f"The audit sink is {sink.describe()}, but not where to read its copies back: set "
            f"read: in the roles file's audit section (or {SINK_READ_ENV}) to the file the "
            f"syslog daemon writes, 'journal' for journald, or an address ({HOW_TO})."
        )
    text = _read_text(sink.read, timeout)
    out = []
    for line in text.splitlines():
        i = line.find(RECORD_MARK)
        if i < 0:
            continue
        try:
            rec = json.loads(line[i:])
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("home") == str(home):
            entry = rec.get("entry")
            if isinstance(entry, dict):
                out.append(entry)
    return out


def _read_text(where: str, timeout: float) -> str:
    if where == "journal":
        try:
            done = subprocess.run(
                ["journalctl", "--no-pager", "-o", "cat", "-t", SYSLOG_TAG],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise AuditSinkError(f"journalctl could not be run ({type(e).__name__}).") from None
        if done.returncode != 0:
            raise AuditSinkError(
                f"journalctl could not read the journal (exit {done.returncode}): run the check "
                "as a member of the systemd-journal or adm group."
            )
        return done.stdout
    if where.startswith(("https://", "http://")):
        try:
            with urllib.request.urlopen(where, timeout=timeout) as resp:
                return resp.read().decode("utf-8", errors="replace")
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "code", None) or type(e).__name__
            raise AuditSinkError(
                f"The audit sink's copies at {_site(where)} could not be read ({reason})."
            ) from None
    try:
        return Path(where).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise AuditSinkError(
            f"The audit sink's copies in {where} could not be read ({e.strerror})."
        ) from None
