"""The report's token-linkage lines: what the linkage of records without an exact key did and
how well (run_summary.json `token_linkage`; hearth/linkage/probabilistic.py)."""

from __future__ import annotations

from html import escape

from hearth.publish.report.cells import _exact
from hearth.publish.words import percent


def token_linkage_section(m: dict | None) -> str:
    """What the token linkage did (records without an exact key), in a sentence or two."""
    address = {k: v for k, v in ((m or {}).get("address_links") or {}).items() if v["linked"]}
    if not m or (not m.get("ran") and not address):
        return "<p>Every linked event was linked by an exact key (probability 1).</p>"
    parts = []
    for source, pr in (m.get("precision_recall") or {}).items():
        at = (pr.get("person") or pr.get("household") or {}).get("at_0.5") or {}
        if at.get("precision") is not None:
            parts.append(
                f"{escape(source.replace('_', ' '))}: precision {percent(at['precision'])}, "
                f"recall {percent(at['recall'])}"
            )
    cal = ((m.get("calibration") or {}).get("best") or {}).get("max_error_after")
    text = ""
    if m.get("ran"):
        text += (
            f"{_exact(m.get('needing_link'))} records with no exact key were linked where they "
            "could be by keyed-hash tokens of name, date of birth and address, each with the "
            "probability that its link is right. Checked on records that carry an exact key "
            f"too, at probability 0.5 and above: {'; '.join(parts) or 'too few such records'}."
        )
        if cal is not None:
            text += f" Recalibrated, the probabilities were within {cal * 100:.1f} points of "
            text += "the true rate."
    for source, v in address.items():
        text += (
            f" {_exact(v['linked'])} {escape(source.replace('_', ' '))} records with an address "
            "only were linked to the one household at that address, each with probability "
            f"{percent(v['link_probability'])}."
        )
    return f"<p>{text.strip()}</p>"
