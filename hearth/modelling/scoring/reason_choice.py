"""Which of a household's features are its reasons, in words: the strongest contributions to
its risk among the facts it has, each a different fact, for the full list and for each role;
cheap enough for every household of a list (the presence of every value is worked out for a
chunk at once, and the words are remembered by the values they are worded from)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hearth.features.catalogue import NO_EVENT_MONTHS, Catalogue
from hearth.features.link_words import (
    confidence_counts,
    confidence_inputs,
    confidence_readable,
)
from hearth.features.wording import (
    AGENCIES_WINDOW,
    fact_of,
    readable_by,
    say,
    visible_kinds,
)


@dataclass
class Reasons:
    texts: list[list[str]]  # up to `n` per household, everything shown (the full list)
    features: list[list[str]]  # the feature behind each reason
    # per household, per role: the role's own top reasons as (text, feature), strongest first
    by_role: list[dict[str, list[tuple[str, str]]]]


MAX_REMEMBERED = 200_000  # sayings `Words` keeps before it starts again


class Words:
    """`say` and `fact_of` for one catalogue and look-back, remembered by the values each
    reads: households with the same records read the same, and a list of a million says
    the same few thousand things."""

    def __init__(self, cat: Catalogue, recency_cap: int | None, roles: tuple[str, ...]) -> None:
        self.cat, self.cap, self.roles = cat, recency_cap, roles
        self._inputs: dict[str, tuple[str, ...]] = {}
        self._said: dict[tuple, tuple[str | None, frozenset[str]]] = {}
        self._readable: dict[tuple[str, str | None], bool | str] = {}

    def inputs(self, name: str) -> tuple[str, ...]:
        """The values a reason on `name` is worded from, for every role."""
        got = self._inputs.get(name)
        if got is None:
            f = self.cat.by_name(name)
            need = [name]
            if f.kind in ("count", "trend", "recency"):
                suffix = {"count": f"_{f.window}m", "trend": "_trend", "recency": "_months_since"}
                for role in (None, *self.roles):
                    for k in visible_kinds(self.cat, f, role):
                        need += [f"{m}{suffix[f.kind]}" for m in k.members]
            elif f.kind == "derived":
                for u in f.uses:
                    if u in self.cat.agencies:
                        need += [
                            g.name
                            for g in self.cat.features
                            if g.agency == u and g.kind == "count" and g.window == AGENCIES_WINDOW
                        ]
            # ", linked with moderate confidence": the shares and the counts they weigh
            need += confidence_inputs(self.cat, name) + confidence_counts(self.cat, name)
            got = self._inputs[name] = tuple(dict.fromkeys(need))
        return got

    def _readable_as(self, name: str, role: str | None) -> bool | str:
        """False if `role` may not read a reason on `name`; "same" if it reads it whole in the
        words of the full list (every kind of record in its own words); else True."""
        if not readable_by(self.cat, name, role):
            return False
        f = self.cat.by_name(name)
        if role is None or role not in f.roles:
            return True
        if not confidence_readable(self.cat, name, role):  # the full list's words say how
            return True  # surely its records were linked, which this role may not read
        kinds = visible_kinds(self.cat, f, role)
        own = all(k.members == (k.key,) for k in kinds)
        return "same" if own and len(kinds) == len(visible_kinds(self.cat, f, None)) else True

    def values_of(self, name: str, values: Mapping[str, float]) -> tuple:
        """The household's values a reason on `name` is worded from (the words' memory key)."""
        return tuple(map(values.get, self.inputs(name)))  # map: no generator per call

    def say(self, name: str, values: Mapping[str, float], role: str | None) -> str | None:
        """`wording.say(cat, name, values, cap, role)`, remembered by the values it reads (the
        lead rules' words: reasons.Sayer)."""
        key = ("say", name, role, self.values_of(name, values))
        got = self._said.get(key)
        if got is None:
            if len(self._said) >= MAX_REMEMBERED:
                self._said.clear()
            got = self._said[key] = (say(self.cat, name, values, self.cap, role),)
        return got[0]

    def said(
        self,
        name: str,
        values: Mapping[str, float],
        role: str | None,
        read: tuple | None = None,
    ) -> tuple[str | None, frozenset[str]]:
        """The reason's words for `role` (None if it may not read it) and the fact it states.
        `read`: `values_of(name, values)` when the caller has it (one household's reason on
        `name` is tried for every role)."""
        readable = self._readable.get((name, role))
        if readable is None:
            readable = self._readable[(name, role)] = self._readable_as(name, role)
        if not readable:
            return None, frozenset()
        if readable == "same":  # the role reads it whole in the full list's words
            role = None
        if read is None:
            read = self.values_of(name, values)
        key = (name, role, read)
        got = self._said.get(key)
        if got is None:
            if len(self._said) >= MAX_REMEMBERED:  # bounded memory on a list of any length
                self._said.clear()
            text = say(self.cat, name, values, self.cap, role)
            facts = fact_of(self.cat, name, values, self.cap, role) if text else frozenset()
            got = self._said[key] = (text, facts)
        return got


def present_mask(
    X: np.ndarray, names: list[str], cat: Catalogue, recency_cap: int | None
) -> np.ndarray:
    """`wording.present` of every value of X at once (a reason is a fact the household has)."""
    out = np.zeros(X.shape, dtype=bool)
    for j, name in enumerate(names):
        kind = cat.by_name(name).kind
        col = X[:, j]
        if kind == "recency":
            keep = col < NO_EVENT_MONTHS
            out[:, j] = keep & (col <= recency_cap) if recency_cap is not None else keep
        elif kind in ("count", "trend"):
            out[:, j] = np.round(col) > 0
        else:
            out[:, j] = col > 0
    return out


def top_reasons(
    contrib: np.ndarray,
    X: np.ndarray,
    names: list[str],
    cat: Catalogue,
    n: int = 3,
    recency_cap: int | None = None,
    values: list[Mapping[str, float]] | None = None,
    roles: tuple[str, ...] = (),
    words: Words | None = None,
) -> Reasons:
    """Each household's strongest `n` reasons, in words, for the full list and for each of
    `roles`: the features whose contribution raised its risk most, among those it has
    (`wording.present`: never an absent or zero value), each a different fact
    (`wording.fact_of`: not one theme over two windows). A role reads the strongest among the
    reasons it may read, a theme counted over the record kinds it may read. Row i of
    `contrib`, `X` and `values` is one household, whatever the order of the rows. `values`:
    each household's catalogue features by name (to name the kinds behind a theme); by
    default the model's own features from `X`."""
    words = words or Words(cat, recency_cap, roles)
    ok = (contrib > 0) & present_mask(X, names, cat, recency_cap)
    ranked = np.where(ok, contrib, -np.inf)
    order = np.argsort(-ranked, axis=1, kind="stable")
    usable = ok.sum(axis=1)
    texts, feats, by_role = [], [], []
    for i in range(len(order)):
        row = values[i] if values is not None else dict(zip(names, X[i].tolist(), strict=True))
        picked: dict[str | None, list[tuple[str, str]]] = {r: [] for r in (None, *roles)}
        facts: dict[str | None, list[frozenset[str]]] = {r: [] for r in picked}
        for j in order[i, : usable[i]]:
            if all(len(p) >= n for p in picked.values()):
                break
            name, read = names[j], None
            for role, got in picked.items():
                if len(got) >= n:
                    continue
                if read is None:  # the values it is worded from, once for every role
                    read = words.values_of(name, row)
                text, fact = words.said(name, row, role, read)
                if not text or any(text == t for t, _ in got):
                    continue
                if any(fact & seen for seen in facts[role]):
                    continue  # the same fact again (another window, a kind a theme names)
                got.append((text, name))
                facts[role].append(fact)
        texts.append([t for t, _ in picked[None]])
        feats.append([f for _, f in picked[None]])
        by_role.append({r: picked[r] for r in roles})
    return Reasons(texts, feats, by_role)
