"""A household's feature in words, as a role may read it: the one place that turns a catalogue
feature and one household's values into the sentence of a reason cell or of a lead's why.

A theme ("past crisis", "domestic abuse records") is said through the kinds of record behind
it for that household, in the member features' own words ("latest past crisis: dwelling fire
started by smoking materials, 12 months ago"); what the theme counts is said once, in the key
(`reason_key`), not in every cell. A role that may read only some of a theme's record kinds
(police: the police incidents of "domestic abuse records", not the child safeguarding
concerns) reads the theme counted over those kinds only, or nothing if it holds none of them."""

from __future__ import annotations

from collections.abc import Mapping

from hearth.features.catalogue import NO_EVENT_MONTHS, WINDOW_WORDS, Catalogue, Feature

MAX_KINDS = 3  # kinds of record named in one reason; the rest are counted together


def visible_members(cat: Catalogue, feature: Feature, role: str | None) -> list[str]:
    """The theme's record kinds `role` may read (all of them for no role)."""
    if role is None:
        return list(feature.members)
    return [k for k in feature.members if role in cat.by_name(f"{k}_months_since").roles]


def readable_by(cat: Catalogue, name: str, role: str | None) -> bool:
    """Whether `role` may read a reason on `name` in some form: the feature itself, or a theme
    with at least one record kind the role may read. Unknown features are not readable."""
    try:
        f = cat.by_name(name)
    except KeyError:
        return False
    if role is None or role in f.roles:
        return True
    return bool(f.members) and bool(visible_members(cat, f, role))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _kinds(
    cat: Catalogue, f: Feature, values: Mapping[str, float], role: str | None, cap: int | None
) -> list[tuple[str, int]] | None:
    """The theme's record kinds this household has, with their count in the window (counts) or
    their months since (recency: only the latest kinds); None if a member's value is unknown."""
    keys = visible_members(cat, f, role)
    if f.kind == "count":
        raw = [(k, values.get(f"{k}_{f.window}m")) for k in keys]
        if any(v is None for _, v in raw):
            return None
        present = [(k, int(round(float(v)))) for k, v in raw if round(float(v)) > 0]
        return sorted(present, key=lambda kv: -kv[1])
    raw = [(k, values.get(f"{k}_months_since")) for k in keys]
    if any(v is None for _, v in raw):
        return None
    months = [(k, int(round(float(v)))) for k, v in raw]
    happened = [(k, m) for k, m in months if m < NO_EVENT_MONTHS and (cap is None or m <= cap)]
    if not happened:
        return []
    latest = min(m for _, m in happened)
    return [(k, m) for k, m in happened if m == latest]


def _shared_tail(members: list[Feature]) -> int:
    """How many closing words all these kinds' plural words share ("... domestic abuse
    incidents"), leaving each at least one word of its own; 0 if none."""
    words = [m.many.split() for m in members]
    n = 0
    while all(len(w) > n + 1 for w in words) and len({tuple(w[-n - 1 :]) for w in words}) == 1:
        n += 1
    return n


def _list_kinds(members: list[Feature], counts: list[int] | None, rest: str = "") -> str:
    """The kinds named together, their shared closing words said once: "4 standard-risk and
    2 high-risk domestic abuse incidents", "standard-risk and medium-risk domestic abuse
    incidents"; `rest` (the kinds not named) closes the list."""
    tail = _shared_tail(members) if len(members) > 1 and not rest else 0
    items = []
    for i, m in enumerate(members):
        n = counts[i] if counts else 1
        words = (m.one if n == 1 else m.many).split()
        if tail:
            words = m.many.split()[:-tail]
        items.append(f"{n} {' '.join(words)}" if counts else " ".join(words))
    said = _and([*items, rest] if rest else items)
    return f"{said} {' '.join(members[0].many.split()[-tail:])}" if tail else said


def _theme_words(cat: Catalogue, f: Feature, kinds: list[tuple[str, int]]) -> str:
    if f.kind == "count":
        if len(kinds) == 1:  # one kind of record: the member feature's own sentence
            return cat.by_name(f"{kinds[0][0]}_{f.window}m").describe(kinds[0][1])
        total = sum(n for _, n in kinds)
        shown = kinds if len(kinds) <= MAX_KINDS else kinds[: MAX_KINDS - 1]
        left = sum(n for _, n in kinds[len(shown) :])
        said = _list_kinds(
            [cat.by_name(f"{k}_{f.window}m") for k, _ in shown],
            [n for _, n in shown],
            f"{left} other {'record' if left == 1 else 'records'}" if left else "",
        )
        head = f"{total} {f.one if total == 1 else f.many}"
        return f"{head} in the last {WINDOW_WORDS[f.window]}: {said}"
    shown = kinds if len(kinds) <= MAX_KINDS else kinds[: MAX_KINDS - 1]
    left = len(kinds) - len(shown)
    said = _list_kinds(
        [cat.by_name(f"{k}_months_since") for k, _ in shown],
        None,
        f"{left} other kinds" if left else "",
    )
    n = kinds[0][1]
    return f"latest {f.one}: {said}, {n} month{'s' if n != 1 else ''} ago"


def say(
    cat: Catalogue,
    name: str,
    values: Mapping[str, float],
    recency_cap: int | None = None,
    role: str | None = None,
) -> str | None:
    """The feature `name` of a household with these `values` (its catalogue features by name)
    in plain words, as `role` may read it (everything for no role); None if it may not."""
    if not readable_by(cat, name, role):
        return None
    f = cat.by_name(name)
    whole = role is None or role in f.roles
    if not f.members:
        return f.describe(float(values[name]), recency_cap)
    kinds = _kinds(cat, f, values, role, recency_cap)
    if kinds:
        return _theme_words(cat, f, kinds)
    # no member values to name the kinds by, or no record of the theme: only the whole theme
    # may say so (a role reading part of it cannot speak for the rest)
    return f.describe(float(values[name]), recency_cap) if whole and name in values else None


def named_keys(
    cat: Catalogue, name: str, values: Mapping[str, float], recency_cap: int | None = None
) -> set[str]:
    """The kinds of record (event feature and theme keys) a reason on `name` is about for this
    household: a theme's key with the kinds it names, an event feature's key, a derived
    feature with the records it combines. Who lives where (the register) is context, not a
    record: it names none."""
    f = cat.by_name(name)
    if f.members:
        return {f.key} | {k for k, _ in (_kinds(cat, f, values, None, recency_cap) or [])}
    return fact_keys(cat, name)


def fact_keys(cat: Catalogue, name: str) -> set[str]:
    """The kinds of record a feature reads: a theme's key and all its members, an event
    feature's key, a derived feature's name and the records of what it uses."""
    f = cat.by_name(name)
    if f.agency == "register":
        return set()
    if f.members:
        return {f.key, *f.members}
    if f.kind == "derived":
        out = {f.name}
        for used in f.uses:
            try:
                out |= fact_keys(cat, used)
            except KeyError:  # an agency name ("agencies involved"), not a feature
                continue
        return out
    return {f.key} if f.key else {f.name}


def reason_key(cat: Catalogue) -> list[tuple[str, str]]:
    """The words used in reasons that stand for several kinds of record, with what each
    counts: said once beside the list (the report's and the workbook's key)."""
    seen: dict[str, str] = {}
    for f in cat.features:
        if f.members and f.definition and f.many not in seen:
            seen[f.many] = f.definition
    return list(seen.items())
