"""A household's feature in words, as a role may read it: the one place that turns a catalogue
feature and one household's values into the sentence of a reason cell or of a lead's why.

Who may read what is the data contracts' (`hearth/features/catalogue.py` derives each feature's
roles from them). A role reads a feature it may read whole in the feature's own words. It reads
an event feature whose detail it may not see (a commissioner, of a COPD register record or a
high-risk domestic abuse incident) at the level it may see, counted over every record of that
level ("2 long-term condition register records", "3 domestic abuse incidents"), and nothing of
a record it may not know of at all (fire, of a health record).

A theme ("past crisis", "domestic abuse records") is said through the kinds of record behind
it for that household, in the kinds' words ("latest past crisis: dwelling fire started by
smoking materials, 12 months ago"); what the theme counts is said once, in the key
(`reason_key`), not in every cell. A role that may read only some of a theme's kinds reads the
kinds it may read, counted over those only and without the theme's name (which speaks for the
kinds it may not read), or nothing if it holds none of them.

A reason is a fact the household has (`present`): never a value that is absent or zero ("0
children", "no record of someone who has never smoked", or a household trait it does not have),
and a household's reasons are different facts (`fact_of`: two windows of one theme, or a theme
and a kind of record it names, are one fact). A count of agencies names them.

A reason built mostly on records linked with less than high confidence says so, in the
catalogue's words ("2 police records in the last 12 months, linked with moderate confidence":
`link_words.confidence_words`), to a role that may read how surely those records were linked."""

from __future__ import annotations

from collections.abc import Mapping

from hearth.features.catalogue import NO_EVENT_MONTHS, Catalogue, Feature, Kind
from hearth.features.link_words import confidence_words
from hearth.features.windows import amount, amount_words, window_words

MAX_KINDS = 3  # kinds of record named in one reason; the rest are counted together
# the window a count of agencies involved is over (hearth/features/build.py builds it so)
AGENCIES_WINDOW = 12
# the lead shown to a role that may not read what chose it
# (hearth/modelling/scoring/reasons.py:lead_as_role)
ANOTHER_AGENCY = "another agency"
# the reason of a household none of whose facts raised its estimate (every listed row says why)
NO_REASON = "nothing on record raised this household's estimate above the usual"


_VISIBLE: dict[tuple[int, str, str | None], tuple[Kind, ...]] = {}


def visible_kinds(cat: Catalogue, feature: Feature, role: str | None) -> list[Kind]:
    """The kinds of record a reason on an event feature or theme may name for `role` (all of
    them, in their own words, for no role); worked out once per feature and role (a list of
    a million households asks it millions of times)."""
    ask = (id(cat), feature.name, role)
    got = _VISIBLE.get(ask)
    if got is None:
        got = _VISIBLE[ask] = tuple(_work_out_visible(cat, feature, role))
    return list(got)


def _work_out_visible(cat: Catalogue, feature: Feature, role: str | None) -> list[Kind]:
    keys = feature.members or ((feature.key,) if feature.key else ())
    if not keys or feature.kind not in ("count", "trend", "recency"):
        return []
    if role is None:
        return [Kind(k, (k,), cat.by_name(f"{k}_months_since").one, _many(cat, k)) for k in keys]
    return cat.role_kinds(tuple(keys), role, within=bool(feature.members))


def _many(cat: Catalogue, key: str) -> str:
    return cat.by_name(f"{key}_months_since").many


def readable_by(cat: Catalogue, name: str, role: str | None) -> bool:
    """Whether `role` may read a reason on `name` in some form: the feature itself, an event
    feature at the level of detail the role may see, or a theme with at least one kind of
    record the role may read. Unknown features are not readable."""
    try:
        f = cat.by_name(name)
    except KeyError:
        return False
    if f.kind in ("confidence", "recording"):  # about how the data was recorded, not a need
        return False
    if role is None or role in f.roles:
        return True
    return bool(visible_kinds(cat, f, role))


def _kind_value(kind: Kind, f: Feature, values: Mapping[str, float]) -> float | None:
    """The household's value of `f`'s measure (count in its window, trend, months since) over
    the kind's event features; None if one is unknown."""
    suffix = f"_{f.window}m" if f.kind == "count" else _SUFFIX[f.kind]
    total = None
    for m in kind.members:
        v = values.get(m + suffix)
        if v is None:
            return None
        v = float(v)
        if total is None:
            total = v
        elif f.kind == "recency":
            total = min(total, v)
        else:
            total += v
    return total


_SUFFIX = {"trend": "_trend", "recency": "_months_since"}


def _describe(kind: Kind, f: Feature, value: float, cap: int | None) -> str:
    """`f`'s measure over `kind`, in the kind's words."""
    as_kind = Feature(
        f.name, f.agency, f.roles, f.kind, window=f.window, one=kind.one, many=kind.many
    )
    return as_kind.describe(value, cap)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _kinds(
    cat: Catalogue, f: Feature, values: Mapping[str, float], role: str | None, cap: int | None
) -> list[tuple[Kind, float]] | None:
    """The theme's kinds of record this household has, as `role` may read them, with their
    count in the window as kept (a rate unrounded: `windows.amount` rounds it where it is said,
    so a theme's total is the rounded sum, not a sum of rounded parts) or their months since
    (recency: only the latest kinds); None if a member's value is unknown."""
    kinds = visible_kinds(cat, f, role)
    raw = [(k, _kind_value(k, f, values)) for k in kinds]
    if any(v is None for _, v in raw):
        return None
    if f.kind == "count":  # the values as kept: rounded only where said, so sums add up
        present = [(k, v) for k, v in raw if round(v) > 0]
        return sorted(present, key=lambda kv: -kv[1])
    months = [(k, int(round(v))) for k, v in raw]
    happened = [(k, m) for k, m in months if m < NO_EVENT_MONTHS and (cap is None or m <= cap)]
    if not happened:
        return []
    latest = min(m for _, m in happened)
    return [(k, m) for k, m in happened if m == latest]


def _shared_tail(members: list[Kind]) -> int:
    """How many closing words all these kinds' plural words share ("... domestic abuse
    incidents"), leaving each at least one word of its own; 0 if none."""
    words = [m.many.split() for m in members]
    n = 0
    while all(len(w) > n + 1 for w in words) and len({tuple(w[-n - 1 :]) for w in words}) == 1:
        n += 1
    return n


def _list_kinds(members: list[Kind], counts: list[float] | None, rest: str = "") -> str:
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
        items.append(f"{amount_words(n)} {' '.join(words)}" if counts else " ".join(words))
    said = _and([*items, rest] if rest else items)
    return f"{said} {' '.join(members[0].many.split()[-tail:])}" if tail else said


def _theme_words(f: Feature, kinds: list[tuple[Kind, float]], whole: bool, cap: int | None) -> str:
    """The theme in the words of the kinds this household has; the theme's own name only for
    a role that reads it whole (to one that reads part of it, they are just records)."""
    one, many = (f.one, f.many) if whole else ("record", "records")
    if f.kind == "count":
        if len(kinds) == 1:  # one kind of record: the kind's own sentence
            return _describe(kinds[0][0], f, kinds[0][1], cap)
        total = amount(f.window, sum(n for _, n in kinds))
        shown = kinds if len(kinds) <= MAX_KINDS else kinds[: MAX_KINDS - 1]
        left = amount(f.window, sum(n for _, n in kinds[len(shown) :]))
        said = _list_kinds(
            [k for k, _ in shown],
            [amount(f.window, n) for _, n in shown],
            f"{amount_words(left)} other {'record' if left == 1 else 'records'}" if left else "",
        )
        head = f"{amount_words(total)} {one if total == 1 else many}"
        return f"{head} {window_words(f.window)}: {said}"
    shown = kinds if len(kinds) <= MAX_KINDS else kinds[: MAX_KINDS - 1]
    left = len(kinds) - len(shown)
    said = _list_kinds([k for k, _ in shown], None, f"{left} other kinds" if left else "")
    n = int(kinds[0][1])
    return f"latest {one}: {said}, {n} month{'s' if n != 1 else ''} ago"


def say(
    cat: Catalogue,
    name: str,
    values: Mapping[str, float],
    recency_cap: int | None = None,
    role: str | None = None,
) -> str | None:
    """The feature `name` of a household with these `values` (its catalogue features by name)
    in plain words, as `role` may read it (everything for no role); None if it may not. A
    reason resting mostly on uncertain links says so (`confidence_words`)."""
    text = _say(cat, name, values, recency_cap, role)
    return text + confidence_words(cat, name, values, role) if text else text


def _say(
    cat: Catalogue,
    name: str,
    values: Mapping[str, float],
    recency_cap: int | None = None,
    role: str | None = None,
) -> str | None:
    if not readable_by(cat, name, role):
        return None
    f = cat.by_name(name)
    whole = role is None or role in f.roles
    if not f.members:
        if whole:
            said = f.describe(float(values[name]), recency_cap)
            agencies = _agencies_named(cat, f, values)
            return f"{said}: {agencies}" if agencies else said
        kinds = visible_kinds(cat, f, role)  # an event feature read at a coarser level
        value = _kind_value(kinds[0], f, values) if len(kinds) == 1 else None
        return None if value is None else _describe(kinds[0], f, value, recency_cap)
    kinds = _kinds(cat, f, values, role, recency_cap)
    if kinds:
        return _theme_words(f, kinds, whole, recency_cap)
    # no member values to name the kinds by, or no record of the theme: only the whole theme
    # may say so (a role reading part of it cannot speak for the rest)
    return f.describe(float(values[name]), recency_cap) if whole and name in values else None


def _agencies_named(cat: Catalogue, f: Feature, values: Mapping[str, float]) -> str:
    """For a count of agencies involved, the agencies ("health, police and social care"), each
    one with a record of any kind in the window; "" for another feature, or when the records
    do not add up to the count (the values are not all there)."""
    agencies = [u for u in f.uses if u in cat.agencies]
    if f.kind != "derived" or not agencies:
        return ""
    by_agency = _window_counts(cat)
    involved = []
    for agency in agencies:
        got = [values.get(n) for n in by_agency.get(agency, ())]
        if any(v is None for v in got):
            return ""
        if any(float(v) > 0 for v in got):
            involved.append(agency.replace("_", " "))
    if not involved or len(involved) != round(float(values.get(f.name, -1))):
        return ""
    return _and(sorted(involved))


_WINDOW_COUNTS: dict[int, dict[str, tuple[str, ...]]] = {}


def _window_counts(cat: Catalogue) -> dict[str, tuple[str, ...]]:
    """Each agency's own event counts over `AGENCIES_WINDOW` (worked out once per catalogue)."""
    got = _WINDOW_COUNTS.get(id(cat))
    if got is None:
        got = {
            a: tuple(
                f.name
                for f in cat.features
                if f.agency == a and f.kind == "count" and f.window == AGENCIES_WINDOW
            )
            for a in cat.agencies
        }
        _WINDOW_COUNTS[id(cat)] = got
    return got


def present(
    cat: Catalogue, name: str, values: Mapping[str, float], recency_cap: int | None = None
) -> bool:
    """Whether the household has what the feature `name` speaks of, so that it may be a reason:
    records in the window, a latest record within the look-back, more records than the year
    before, a household trait it has (above 0). An absent or zero value is never a reason: its
    words would be a count of none ("0 children"), a double negative ("no record of someone
    who has never smoked") or untrue ("one person living alone" of a household that is not)."""
    value = values.get(name)
    if value is None:
        return False
    return is_present(cat.by_name(name).kind, float(value), recency_cap)


def is_present(kind: str, value: float, recency_cap: int | None = None) -> bool:
    """`present` for one value of a feature of this kind (the scorer applies it to a whole
    matrix at once: hearth/modelling/scoring/reasons.py)."""
    if kind == "recency":
        return value < NO_EVENT_MONTHS and (recency_cap is None or value <= recency_cap)
    return round(value) > 0 if kind in ("count", "trend") else value > 0


def fact_of(
    cat: Catalogue,
    name: str,
    values: Mapping[str, float],
    recency_cap: int | None = None,
    role: str | None = None,
) -> frozenset[str]:
    """What a reason on `name` is about for this household, as keys: two reasons are one fact
    when these meet. A theme's key and the kinds of record it names (any window, and "months
    since"); an event feature's key; a derived feature's records and the household traits it
    reads; a household trait its own name. For a role, also every kind of record its words
    count together (a commissioner's "emergency hospital admissions" of any kind are one)."""
    f = cat.by_name(name)
    if f.agency == "register":
        return frozenset({name})
    keys = set(named_keys(cat, name, values, recency_cap))
    if f.kind == "derived":
        keys |= {u for u in f.uses if u in cat._index and cat.by_name(u).agency == "register"}
    if role is not None:
        kinds = (
            [k for k, _ in (_kinds(cat, f, values, role, recency_cap) or [])]
            if f.members
            else visible_kinds(cat, f, role)
        )
        for k in kinds:
            keys |= {k.key, *k.members}
    return frozenset(keys)


def named_keys(
    cat: Catalogue, name: str, values: Mapping[str, float], recency_cap: int | None = None
) -> set[str]:
    """The kinds of record (event feature and theme keys) a reason on `name` is about for this
    household: a theme's key with the kinds it names, an event feature's key, a derived
    feature with the records it combines. Who lives where (the register) is context, not a
    record: it names none."""
    f = cat.by_name(name)
    if f.members:
        return {f.key} | {k.key for k, _ in (_kinds(cat, f, values, None, recency_cap) or [])}
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


def reason_key(cat: Catalogue, role: str | None = None) -> list[tuple[str, str]]:
    """The words used in reasons that stand for several kinds of record, with what each
    counts, as `role` reads them: said once beside the list (the report's and the workbook's
    key). A theme the role reads only in part is not named in its reasons, so not here; one it
    reads whole but at a coarser level is defined by the kinds it may see; each coarse kind
    the role reads says that its detail is not in this view."""
    seen: dict[str, str] = {}
    for f in cat.features:
        if not (f.members and f.definition) or f.many in seen:
            continue
        if role is None:
            seen[f.many] = f.definition
        elif role in f.roles:
            kinds = visible_kinds(cat, f, role)
            own = all(k.members == (k.key,) for k in kinds) and len(kinds) == len(f.members)
            seen[f.many] = f.definition if own else "any of: " + "; ".join(k.many for k in kinds)
    if role is not None:
        for code, _ in cat.event_codes:
            part = cat.code_part(code, role)
            if part is None or part == code:
                continue
            words = next(many for k, _, many in cat.coarse_words if k == part)
            seen.setdefault(
                words,
                f"{words} of every kind: what each was for or about is not in this view (the "
                "data contracts keep that detail to other partners)",
            )
    return list(seen.items())
