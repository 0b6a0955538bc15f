"""The report's retention lines: what the run deleted because its contract's retention had
passed, per source (run_summary.json `retention`; hearth/quality/retention.py)."""

from __future__ import annotations

from html import escape

from hearth.publish.report.cells import _table
from hearth.quality.retention import retention_sentence


def retention_section(retention: dict | None) -> str:
    """What this run deleted because its contract's retention had passed, per source."""
    sentence = f'<p id="retention">{escape(retention_sentence(retention))}</p>'
    if not retention:
        return sentence
    rows = [
        [
            escape(name),
            f"{s['retention_months']} months",
            escape(str(s["kept_from"])),
            f"{s['accepted_rows_deleted']:,}",
            f"{s['quarantined_rows_deleted']:,}",
        ]
        for name, s in (retention.get("sources") or {}).items()
    ]
    table = _table(
        ["Source", "Kept for", "Records kept from", "Accepted rows deleted", "Quarantined deleted"],
        rows,
        "num-4 num-5",
        "retention-table",
    )
    return sentence + table
