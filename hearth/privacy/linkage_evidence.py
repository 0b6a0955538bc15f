"""The DPO's evidence on linking records that share no key (issue 25): how many records arrived
without an exact key, how many were linked by keyed-hash tokens and how well, checked on records
that carry an exact key too, and how honest the link probabilities are (the measures the run
kept in `linkage_measures`, run_summary.json `token_linkage`; hearth/linkage/probabilistic.py).

Counts of records, rates and probabilities only: never a token, a pseudonym or a record id."""

from __future__ import annotations

from typing import Any

from hearth.features.catalogue import load_catalogue
from hearth.linkage.probabilistic import LINK_FLOOR
from hearth.modelling.evaluation.fairness import wilson

LEVELS = {"person": "the right person", "household": "the right household"}


def _fraction(v: object) -> str:
    return "" if v is None else f"{float(v):.4f}"  # type: ignore[arg-type]


def accuracy_rows(m: dict[str, Any] | None) -> list[dict[str, str]]:
    """Per source, level (person, household) and probability threshold: records linked at or
    above it, precision and recall, on records whose exact key says who or where they are."""
    rows: list[dict[str, str]] = []
    for source, levels in ((m or {}).get("precision_recall") or {}).items():
        for level, per in levels.items():
            for key, v in per.items():
                if not key.startswith("at_"):
                    continue
                rows.append(
                    {
                        "source": source,
                        "checked_for": LEVELS.get(level, level),
                        "labelled_records": str(per["labelled_records"]),
                        "link_probability_at_least": key.removeprefix("at_"),
                        "linked": str(v["linked"]),
                        "precision": _fraction(v["precision"]),
                        "recall": _fraction(v["recall"]),
                    }
                )
    for source, v in ((m or {}).get("address_links") or {}).items():
        if not v.get("needing_link"):
            continue
        rows.append(
            {
                "source": source,
                "checked_for": "the household at the record's address (address only)",
                "labelled_records": str(v.get("labelled_records") or 0),
                "link_probability_at_least": _fraction(v.get("link_probability")),
                "linked": str(v.get("linked") or 0),
                "precision": _fraction(v.get("precision_on_labelled")),
                "recall": "",
            }
        )
    return rows


def _interval(rate: float | None, n: int) -> str:
    """The Wilson 95% interval of an observed rate of n links, as "low-high"; empty if none."""
    if rate is None or not n:
        return ""
    low, high = wilson(round(rate * n), n)
    return f"{low:.3f}-{high:.3f}"


def calibration_rows(m: dict[str, Any] | None) -> list[dict[str, str]]:
    """Per candidate group (best, runners-up), before and after recalibration, per tenth of
    the probability range: candidates, mean probability and the observed rate of right links
    with its 95% interval (a tenth of a few dozen links says little: one standard error is
    0.07-0.09 at 25-40)."""
    rows: list[dict[str, str]] = []
    for which, table in ((m or {}).get("calibration") or {}).items():
        if not isinstance(table, dict) or "before" not in table:
            continue
        for stage in ("before", "after"):
            for r in table[stage]:
                rows.append(
                    {
                        "candidates": "best links" if which == "best" else "runners-up",
                        "recalibration": stage,
                        "probability_tenth": str(r["tenth"]),
                        "links": str(r["candidates"]),
                        "mean_probability": _fraction(r["mean_probability"]),
                        "observed_rate": _fraction(r["observed_rate"]),
                        "observed_rate_95": _interval(r["observed_rate"], r["candidates"]),
                    }
                )
    return rows


def sentence(m: dict[str, Any] | None) -> str:
    """What linkage without a shared key did, in a sentence for the pack's summary."""
    address = {k: v for k, v in ((m or {}).get("address_links") or {}).items() if v.get("linked")}
    if not m or (not m.get("ran") and not address):
        return (
            "Every linked event was linked by an exact key (a pseudonymised NHS number or UPRN); "
            "no record was linked by probability."
        )
    text = ""
    if m.get("ran"):
        linked = sum(v.get("linked") or 0 for v in (m.get("by_source") or {}).values())
        model = m.get("model") or {}
        text += (
            f"{m.get('needing_link', 0):,} records arrived without an exact key; {linked:,} were "
            "linked by keyed-hash tokens of name, date of birth and postcode made inside the "
            "agency (no name, date of birth or postcode reached Hearth), each with the "
            "probability that its link is right, checked on records that carry an exact key too "
            "(linkage.csv, linkage_calibration.csv)"
        )
        if model.get("name"):
            text += f"; the linkage model is {model['name']} version {model.get('version')}" + (
                f", retrained because {model['retrain_reason']}" if model.get("retrained") else ""
            )
        conf = load_catalogue().confidence
        text += (
            f". Links below probability {LINK_FLOOR:g} are not used; links from {LINK_FLOOR:g} "
            f"to below {conf.high:g} count by their probability and a reason resting mostly on "
            f'them says "{conf.words}"; an officer can review them only through hearth '
            "reidentify-links, which is audited."
        )
    for source, v in address.items():
        text += (
            f" {v['linked']:,} {source.replace('_', ' ')} records with an address only were "
            "linked to the one household at that address."
        )
    return text.strip()
