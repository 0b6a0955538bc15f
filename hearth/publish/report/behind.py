"""The data-quality section's note on freshness and kept records: which source is stale and by
how many months (a run that allowed missing sources goes on with what was accepted before), and
months the warehouse keeps though the landing no longer has them (hearth/ingest/removals.py)."""

from __future__ import annotations

from html import escape

from hearth.publish.report.cells import _exact


def behind_html(summary: dict) -> str:
    """Which source is stale and by how many months (a run that allowed missing sources goes on
    with what was accepted before), and months kept though the landing no longer has them."""
    fresh = summary.get("freshness") or {}
    out = []
    for name in fresh.get("stale_sources") or []:
        f = (fresh.get("sources") or {}).get(name) or {}
        label = escape(name.replace("_", " "))
        if not f.get("newest_month"):
            out.append(f"<li>{label}: no extract accepted; the list uses none of its records.</li>")
            continue
        n = f.get("months_behind") or 0
        out.append(
            f"<li>{label}: {n} month{'s' if n != 1 else ''} behind: its newest accepted extract "
            f"is {escape(str(f['newest_month']))} (the run needed "
            f"{escape(str(f.get('expected_month')))}); the list uses its records up to then.</li>"
        )
    kept = summary.get("removals_pending") or []
    by_source: dict[str, list[dict]] = {}
    for r in kept:
        by_source.setdefault(r["source"], []).append(r)
    for name, rs in by_source.items():
        months = ", ".join(escape(r["month"]) for r in rs)
        rows = sum(int(r["rows_accepted"]) for r in rs)
        out.append(
            f"<li>{escape(name.replace('_', ' '))}: {months} kept though no longer landed or "
            f"landed again with fewer rows ({_exact(rows)} accepted rows); an officer must "
            "accept their removal (hearth run --accept-removals) before they leave.</li>"
        )
    if not out:
        return (
            "<p>Every source had sent the month the run needed, and nothing is kept that the "
            "landing no longer has.</p>"
        )
    return f"<ul>{''.join(out)}</ul>"
