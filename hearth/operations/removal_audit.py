"""The audit entry for removals an officer accepted (hearth/ingest/removals.py): written when
the run that applied them commits (hearth/operations/commit.py), with who ran it."""

from __future__ import annotations

AUDIT_ACTION = "removals_accepted"


def audit_removals(applied: list[dict], run_id: str, via: str | None) -> dict | None:
    """Record in the audit (HEARTH_HOME/audit) that the removals `applied` took effect in run
    `run_id`, and who ran it: once per run, so a commit rolled forward again adds nothing.
    Counts and months only, never a record."""
    from hearth.privacy.audit import append, entries

    if not applied:
        return None
    for e in entries():
        if e.get("action") == AUDIT_ACTION and (e.get("detail") or {}).get("run_id") == run_id:
            return None
    keep = ("key", "source", "month", "kind", "rows_accepted", "rows_quarantined")
    return append(
        AUDIT_ACTION,
        role=None,
        via=via,
        detail={
            "run_id": run_id,
            "rows_accepted": sum(int(r["rows_accepted"]) for r in applied),
            "rows_quarantined": sum(int(r["rows_quarantined"]) for r in applied),
            "removals": [{k: r[k] for k in keep} for r in applied],
        },
    )
