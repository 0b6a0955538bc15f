"""Why a household is ranked where it is, in words, and who should lead.

For tree models the contributions are shap's TreeExplainer values (additive to the model's
log-odds); for the logistic model they are the exact linear terms. Only contributions that
raise the risk become reasons, chosen in hearth/modelling/scoring/reason_choice.py."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from hearth.features.catalogue import Catalogue, load_catalogue
from hearth.features.wording import ANOTHER_AGENCY, fact_keys, named_keys, say
from hearth.sources import AGENCIES

RULES_FILE = Path(__file__).with_name("lead_agency.yaml")
# `wording.say` for one feature, household and role, as (name, values, role): the scorer passes
# one that remembers what it said by the values it read (reason_choice.Words.say)
Sayer = Callable[[str, Mapping[str, float], str | None], str | None]
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


def contributions(inner_model, X: np.ndarray) -> np.ndarray:
    """Per-row, per-feature contributions to the model's log-odds."""
    # sklearn: only when explaining (the lead rules below are read where no model is loaded)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    if isinstance(inner_model, HistGradientBoostingClassifier):
        import shap  # slow import: only when explaining

        values = shap.TreeExplainer(inner_model).shap_values(X)
        return np.asarray(values[1] if isinstance(values, list) else values)
    if isinstance(inner_model, Pipeline):
        transformed = X
        for _, step in inner_model.steps[:-1]:
            transformed = step.transform(transformed)
        coef = inner_model.steps[-1][1].coef_[0]
        return transformed * coef
    # The baseline: each counted column adds its own count.
    cols = getattr(inner_model, "columns", None) or []
    out = np.zeros_like(X, dtype=float)
    out[:, cols] = X[:, cols]
    return out


@cache
def load_rules() -> dict:
    rules = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    check_rules(rules, load_catalogue(), RULES_FILE.name)
    return rules


def check_rules(rules: dict, cat: Catalogue, where: str) -> None:
    """Refuse a rules file the scorer could not apply, in a sentence naming the rule and key."""
    for i, rule in enumerate(rules.get("rules") or [], 1):
        if not rule.get("lead") or not rule.get("why") or not rule.get("when"):
            raise ValueError(f"{where}: rule {i} needs a lead, a why and at least one condition.")
        for c in rule["when"]:
            if c.get("feature") not in cat.names:
                raise ValueError(
                    f"{where}: rule {i} ({rule['lead']}) reads {c.get('feature')!r}, which is "
                    "not a feature of sql/features/catalogue.yaml."
                )
            if c.get("op") not in _OPS or not isinstance(c.get("value"), int | float):
                raise ValueError(
                    f"{where}: rule {i} ({rule['lead']}) compares {c['feature']} with "
                    f"{c.get('op')!r} {c.get('value')!r}; use one of {', '.join(_OPS)} and a "
                    "number."
                )
    missing = [a for a in ("register", "combined", *cat.agencies) if a not in rules["by_agency"]]
    unknown = [
        t
        for t in (*rules.get("by_theme", {}), *rules.get("lead_by_kind", ()))
        if t not in cat.themes
    ]
    if missing:
        raise ValueError(f"{where}: by_agency has no lead for {', '.join(missing)}.")
    if unknown:
        raise ValueError(
            f"{where}: {', '.join(unknown)} under by_theme or lead_by_kind is not a theme of "
            "sql/features/catalogue.yaml."
        )
    _check_leads(rules, where)


def _check_leads(rules: dict, where: str) -> None:
    """Every lead the rules name declares its agency under `leads`, one the contracts know."""
    leads = rules.get("leads")
    if not isinstance(leads, dict) or not leads:
        raise ValueError(f"{where}: `leads` must list every lead with its agency.")
    for lead, agency in leads.items():
        if agency not in AGENCIES:
            raise ValueError(
                f"{where}: lead {lead!r} has agency {agency!r}, which no data contract "
                f"declares; use one of {', '.join(AGENCIES)}."
            )
    named = [r.get("lead") for r in rules.get("rules") or []]
    named += [*(rules.get("by_theme") or {}).values(), *(rules.get("by_agency") or {}).values()]
    undeclared = [n for n in dict.fromkeys(named) if n not in leads]
    if undeclared:
        raise ValueError(
            f"{where}: lead {undeclared[0]!r} is not listed under `leads` with its agency; "
            "add it there (e.g. `" + str(undeclared[0]) + ": health`)."
        )


def lead_agencies() -> dict[str, str]:
    """Each lead's agency, as the rules declare it (for visit plans: hearth/publish/capacity)."""
    return dict(load_rules()["leads"])


@dataclass(frozen=True)
class Lead:
    lead: str
    why: str  # the rule's why and the facts that fired it, in words (`lead_why`)
    facts: tuple[str, ...]  # the features that chose the lead (and its why states)
    # what chose it: a rule ("rule"), the strongest reason's theme ("theme"), the kinds of
    # record it names ("kinds") or its agency ("agency"), or no reason at all ("none");
    # decides who may read the lead (`lead_as_role`)
    basis: str = "rule"
    rule_why: str = ""  # the rule's own why, before the facts


def _holds(rule: dict, values: Mapping[str, float]) -> bool:
    return all(
        _OPS[c["op"]](float(values.get(c["feature"], 0.0)), c["value"]) for c in rule["when"]
    )


def lead_agency(
    values: Mapping[str, float],
    reason_features: list[str],
    cat: Catalogue,
    recency_cap: int | None = None,
    sayer: Sayer | None = None,
) -> Lead:
    """Who should lead, and why. The first rule whose conditions all hold and that is about
    the records one of the household's reasons names wins, so the lead follows what the list
    shows; its why states the rule and the household's facts that fired it, in the same
    words as the reasons. With no such rule the strongest reason's theme or agency leads."""
    rules = load_rules()
    shown: set[str] = set()
    for name in reason_features:
        shown |= named_keys(cat, name, values, recency_cap)
    for rule in rules["rules"]:
        facts = tuple(dict.fromkeys(c["feature"] for c in rule["when"]))
        about = set().union(*(fact_keys(cat, f) for f in facts))
        if about & shown and _holds(rule, values):
            why = _rule_why(rule["why"], facts, values, cat, recency_cap, sayer=sayer)
            return Lead(rule["lead"], why, facts, "rule", rule["why"])
    if not reason_features:
        return Lead(rules["by_agency"]["register"], NO_REASON_WHY, (), "none")
    first = reason_features[0]
    lead, basis = _strongest_lead(first, values, cat, recency_cap, rules)
    said = sayer(first, values, None) if sayer else say(cat, first, values, recency_cap)
    return Lead(lead, f"strongest reason: {said}", (first,), basis)


def also_leads(
    values: Mapping[str, float],
    lead: Lead,
    cat: Catalogue,
    recency_cap: int | None = None,
    sayer: Sayer | None = None,
) -> list[Lead]:
    """Every other service whose lead rule holds for the household, besides its lead, each
    with its why: "also" a fire safety visit for a smoker with no smoke alarm where domestic
    abuse leads. Every rule that holds, in the rules' order (a role reads the first of a
    service's it may read: `alsos_as_role`). Unlike the lead, an "also" need not be about a
    reason the list shows: the rule's facts are its why."""
    out = []
    for rule in load_rules()["rules"]:
        if rule["lead"] == lead.lead or not _holds(rule, values):
            continue
        facts = tuple(dict.fromkeys(c["feature"] for c in rule["when"]))
        why = _rule_why(rule["why"], facts, values, cat, recency_cap, sayer=sayer)
        out.append(Lead(rule["lead"], why, facts, "rule", rule["why"]))
    return out


def alsos_as_role(
    alsos: list[Lead],
    role: str | None,
    values: Mapping[str, float],
    cat: Catalogue,
    recency_cap: int | None = None,
    sayer: Sayer | None = None,
) -> list[tuple[str, str | None]]:
    """Each "also" service once, as `role` may read it (everything for no role): the first of
    its rules that hold whose facts the role may read, in the role's words, else "another
    agency" with no why, as for the lead (`lead_as_role`)."""
    out: dict[str, tuple[str, str | None]] = {}
    for a in alsos:
        if a.lead in out and out[a.lead][0] != ANOTHER_AGENCY:
            continue
        seen = (
            (a.lead, a.why)
            if role is None
            else lead_as_role(a, role, values, cat, recency_cap, sayer)
        )
        out[a.lead] = seen
    return list(out.values())


def also_words(alsos: list[tuple[str, str | None]]) -> str | None:
    """The "also" services of a household in one cell: "Fire and rescue (safe and well visit)
    — a smoker ...; Children's social care — ...", withheld ones once as "another agency"."""
    items = [f"{lead} — {why}" if why else lead for lead, why in alsos]
    return "; ".join(dict.fromkeys(items)) or None


def _strongest_lead(
    first: str, values: Mapping[str, float], cat: Catalogue, recency_cap, rules: dict
) -> tuple[str, str]:
    """The lead when no rule leads, and what chose it: the strongest reason's theme (or the
    kinds of record it names, for a theme in `lead_by_kind`) or its agency."""
    feature = cat.by_name(first)
    by_theme = rules.get("by_theme", {})
    if feature.members and feature.key in rules.get("lead_by_kind", ()):
        kinds = named_keys(cat, first, values, recency_cap) - {feature.key}
        leads = {_kind_lead(k, cat, rules) for k in kinds}
        if len(leads) == 1:
            return leads.pop(), "kinds"
    if feature.members and feature.key in by_theme:
        return by_theme[feature.key], "theme"
    return rules["by_agency"][feature.agency], "agency"


_KIND_LEADS: dict[tuple[int, int, str], str] = {}


def _kind_lead(key: str, cat: Catalogue, rules: dict) -> str:
    """The lead of a kind of record (see `lead_by_kind`), worked out once per rules file."""
    ask = (id(cat), id(rules), key)
    if ask not in _KIND_LEADS:
        _KIND_LEADS[ask] = _work_out_kind_lead(key, cat, rules)
    return _KIND_LEADS[ask]


def _work_out_kind_lead(key: str, cat: Catalogue, rules: dict) -> str:
    mixed = set(rules.get("lead_by_kind", ()))
    for theme, lead in rules.get("by_theme", {}).items():
        if theme not in mixed and theme in cat.themes and key in cat.theme_members(theme):
            return lead
    return rules["by_agency"][cat.by_name(f"{key}_months_since").agency]


NO_REASON_WHY = "no one agency's records stand out: the council's early help hub coordinates"


def _rule_why(
    why: str,
    facts: tuple[str, ...],
    values: Mapping[str, float],
    cat: Catalogue,
    recency_cap: int | None,
    role: str | None = None,
    sayer: Sayer | None = None,
) -> str:
    if sayer is None:
        said = [say(cat, f, values, recency_cap, role) for f in facts]
    else:
        said = [sayer(f, values, role) for f in facts]
    stated = [s for s in said if s and s != why]
    return f"{why} ({'; '.join(stated)})" if stated else why


def lead_as_role(
    lead: Lead,
    role: str,
    values: Mapping[str, float],
    cat: Catalogue,
    recency_cap: int | None = None,
    sayer: Sayer | None = None,
) -> tuple[str, str | None]:
    """The lead and its why as `role` may read them. The lead's name says what chose it (a
    "police-led MARAC" says domestic abuse was recorded), so a role sees it only if it may
    read every fact that could have chosen it: a rule's conditions; the strongest reason's
    theme whole; for a theme that leads by the kinds of record it names, every kind that
    leads there; for the agency behind the strongest reason, that reason in some form.
    Otherwise the lead is `ANOTHER_AGENCY`, with no why. The lead the rules give when no one
    agency's records stand out (the register's) says nothing and is always shown. The why is
    in the role's own words."""
    if lead.basis == "none":
        return lead.lead, lead.why
    said = None
    if lead.basis != "rule":
        first = lead.facts[0]
        said = sayer(first, values, role) if sayer else say(cat, first, values, recency_cap, role)
    strongest = f"strongest reason: {said}" if said else None
    if lead.basis == "agency":
        return (lead.lead, strongest) if said else (ANOTHER_AGENCY, None)
    if lead.basis != "rule" and lead.lead == load_rules()["by_agency"]["register"]:
        return lead.lead, strongest  # the hub's lead says nothing of which records chose it
    if lead.basis == "kinds":
        theme = cat.by_name(lead.facts[0])
        rules = load_rules()
        leading = [k for k in theme.members if _kind_lead(k, cat, rules) == lead.lead]
        if all(role in cat.by_name(f"{k}_months_since").roles for k in leading):
            return lead.lead, strongest
        return ANOTHER_AGENCY, None
    if any(role not in cat.by_name(f).roles for f in lead.facts):
        return ANOTHER_AGENCY, None
    if lead.basis == "theme":
        return lead.lead, strongest
    return lead.lead, _rule_why(lead.rule_why, lead.facts, values, cat, recency_cap, role, sayer)
