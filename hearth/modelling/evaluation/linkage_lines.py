"""The model card's "Linked records": how the events the model read were linked to households,
and how surely (the run's token-linkage measures, hearth/linkage/probabilistic.py `measures`).
A model is only as good as the links under its features: a data scientist comparing versions
sees here whether a change in quality came with a change in linkage."""

from __future__ import annotations

from typing import Any


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def linkage_lines(each: dict[str, dict[str, Any] | None] | None) -> list[str]:
    """`each`: the measures of every warehouse the model was trained on
    (hearth/linkage/probabilistic.py `measures_each`): one warehouse's own under "", or each
    authority's for a partnership model, every one shown under its name."""
    lines = ["## Linked records", ""]
    each = each or {"": None}
    if list(each) == [""]:
        return lines + _one(each[""])
    lines.append(
        f"The model was trained on {len(each)} authorities' households; each linked its own "
        "events, so each is shown."
    )
    for name, m in each.items():
        lines += ["", f"### {name}", "", *_one(m)]
    return lines


def _one(m: dict[str, Any] | None) -> list[str]:
    lines: list[str] = []
    address = {k: v for k, v in ((m or {}).get("address_links") or {}).items() if v.get("linked")}
    if not m or (not m.get("ran") and not address):
        return [
            "Every event the model read was linked to its household by an exact key (a "
            "pseudonymised NHS number or UPRN): each counts in full."
        ]
    if m.get("ran"):
        model = m.get("model") or {}
        version = f" (linkage model version {model['version']})" if model.get("version") else ""
        lines = [
            f"{m.get('needing_link', 0):,} event records had no exact key and were linked by "
            f"keyed-hash tokens of name, date of birth and postcode{version}. Features count "
            "each by the probability that its link is right, so an uncertain link weighs less; "
            "a household's share of such evidence is a feature too.",
            "",
            "| source | records needing a link | linked | precision at 0.5 | recall at 0.5 |",
            "|---|---|---|---|---|",
        ]
        pr = m.get("precision_recall") or {}
        for source, v in (m.get("by_source") or {}).items():
            at = ((pr.get(source) or {}).get("household") or {}).get("at_0.5") or {}
            lines.append(
                f"| {source.replace('_', ' ')} | {v['needing_link']:,} | {v['linked']:,} | "
                f"{_pct(at.get('precision'))} | {_pct(at.get('recall'))} |"
            )
        lines += [
            "",
            "Precision and recall are of the household linked, checked on records that carry "
            "an exact key too.",
        ]
    for source, v in address.items():
        lines += [
            *([""] if lines else []),
            f"{v['linked']:,} {source.replace('_', ' ')} records with an address only were "
            f"linked to the one household at that address, each with probability "
            f"{_pct(v.get('link_probability'))}.",
        ]
    return lines
