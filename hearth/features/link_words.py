"""How surely the records behind a reason were linked, in its words: a reason resting mostly
on records linked with less than high confidence (the catalogue's `link_confidence`) says so
(", linked with moderate confidence"), to a role that may read how surely they were linked.
Used by `wording.say`; the scorer's remembered words (`reason_choice.Words`) key on the shares
it reads."""

from __future__ import annotations

from collections.abc import Mapping

from hearth.features.catalogue import Catalogue


def confidence_words(
    cat: Catalogue, name: str, values: Mapping[str, float], role: str | None = None
) -> str:
    """ ", linked with moderate confidence" (the catalogue's `link_confidence` words) when more
    than its `mostly` share of the records behind a reason on `name` was linked with less than
    high confidence, else "". Judged on the household's records of the reason's kinds in the
    catalogue's confidence window (12 months), each source's by that source's share
    (`<source>_uncertain_share_12m`); said only to a role that may read every one of those
    shares (how surely a record was linked follows from its source's keys and linkage tokens,
    which the contracts keep to the sending agency), and to the full list."""
    conf = cat.confidence
    if conf is None or not confidence_readable(cat, name, role):
        return ""
    total = uncertain = 0.0
    for source, keys in evidence(cat, name).items():
        share_name = conf.share_feature(source)
        n = sum(float(values.get(f"{k}_{conf.window}m") or 0.0) for k in keys)
        total += n
        uncertain += n * float(values.get(share_name) or 0.0)
    if total <= 0 or uncertain / total <= conf.mostly:
        return ""
    return f", {conf.words}"


def confidence_inputs(cat: Catalogue, name: str) -> tuple[str, ...]:
    """The link-confidence shares `confidence_words` reads for a reason on `name` (one per
    source of its records): what else, beside the reason's own values, its words depend on."""
    conf = cat.confidence
    if conf is None:
        return ()
    return tuple(conf.share_feature(source) for source in evidence(cat, name))


def confidence_counts(cat: Catalogue, name: str) -> tuple[str, ...]:
    """The record counts `confidence_words` weighs the shares by, for a reason on `name` (each
    of its kinds of record in the confidence window): its words depend on them too, whatever
    the reason's own window."""
    conf = cat.confidence
    if conf is None:
        return ()
    return tuple(f"{k}_{conf.window}m" for keys in evidence(cat, name).values() for k in keys)


def confidence_readable(cat: Catalogue, name: str, role: str | None) -> bool:
    """Whether `role` reads how surely the records behind a reason on `name` were linked (so
    its words may carry `confidence_words`): the full list does, a role only if it may read
    every share behind the reason."""
    return role is None or all(role in cat.by_name(s).roles for s in confidence_inputs(cat, name))


def evidence(cat: Catalogue, name: str) -> dict[str, tuple[str, ...]]:
    """The agency records a feature rests on, by source: the event feature keys whose codes it
    counts (an event feature's own, a theme's members, a combination's). Empty for who lives
    where and for the link-confidence shares themselves. Worked out once per feature."""
    known = cat._evidence
    if name not in known:
        f = cat.by_name(name)
        codes = set(f.codes) if f.kind != "confidence" else set()
        by_key: dict[str, set[str]] = {}
        for code, key in cat.event_codes:
            by_key.setdefault(key, set()).add(code)
        out: dict[str, tuple[str, ...]] = {}
        for key, own in by_key.items():
            if codes and own <= codes:
                source = next(iter(own)).split(":")[0]
                out[source] = (*out.get(source, ()), key)
        known[name] = out
    return known[name]
