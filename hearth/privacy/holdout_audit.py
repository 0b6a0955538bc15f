"""The hold-out in the audit log (issue 26): each month a lottery holds households out of the
list, one entry records the generation, its salt, the share and who approved it, the margin, how
many were held out and the key's fingerprint, never a pseudonym. `hearth audit` lists them with
every other entry; `hearth audit --verify` checks them in the chain."""

from __future__ import annotations

from hearth.modelling.scoring.holdout_run import HoldoutDecision
from hearth.privacy import audit

ACTION = "holdout"


def record_holdout(decision: HoldoutDecision, via: str = "household_scores") -> dict | None:
    """Append the decision to the audit when a lottery was drawn (share above 0); None when
    nobody was held out (the warehouse and the model card still say so)."""
    if not decision.held_out:
        return None
    return audit.append(
        ACTION, role=None, via=via, run_as_of=decision.as_of, detail=decision.audit_detail()
    )


def holdout_entries() -> list[dict]:
    """The audit's hold-out entries, oldest first."""
    return [e for e in audit.entries() if e.get("action") == ACTION]
