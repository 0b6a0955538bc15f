"""The audit log: every entry names its OS user, and `hearth audit --verify` finds an entry
changed, deleted, moved or cut from the end - also when the edit is made through DuckDB, as in
issue 13. Real files and real DuckDB."""

from __future__ import annotations

import json
import re
import shutil
import stat

import duckdb
import pytest
from typer.testing import CliRunner

from hearth.privacy import audit
from hearth.privacy.access import os_user


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cli(*args: str):
    from hearth.cli.app import app

    return CliRunner().invoke(app, list(args))


# ---- the audit chain ------------------------------------------------------------------------


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
    assert any(re.search(problem, p) for p in check.problems), check.problems


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
        fields = {k: e[k] for k in ("role", "via", "clients")}
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
