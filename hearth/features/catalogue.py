"""The feature catalogue (`sql/features/catalogue.yaml`): names, agencies, plain words, and who
may read each feature, derived from the data contracts.

The contracts are the one source of who sees what (`hearth/quality/contracts.py:may_read`). A
feature is built from contract columns (an event's date and code columns, the register's, or
all a theme adds up). A role may read a feature whole (`Feature.roles`) when its value follows
from columns the role may read: every column is readable, or the feature counts every value of
the ones that are not (all risk levels of domestic abuse are "domestic abuse", which a
commissioner may read; high-risk alone is not). A role that may read only a code's first part
reads the feature coarsely, in the catalogue's `coarse_words` (`role_kinds`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import yaml

from hearth.features.access import Kind, agree, code_columns, code_part, reads_whole
from hearth.features.catalogue_checks import (
    check_agencies,
    check_coarse_words,
    crisis_keys,
    read_recording,
    recording_features,
    register_column,
)
from hearth.features.confidence import Confidence, read_confidence, share_specs
from hearth.features.windows import amount, amount_words, usable_windows, window_words
from hearth.quality.contracts import ROLES
from hearth.settings import SQL_DIR
from hearth.sources import SOURCES, event_code_parts

NO_EVENT_MONTHS = 99  # "months since" for a household with no such record in three years
TREND_HISTORY = 24  # a trend compares the last 12 months with the 12 before


@dataclass(frozen=True)
class Feature:
    name: str
    agency: str  # health | social_care | fire | police | register | combined
    roles: tuple[str, ...]  # who may read it whole: derived from the data contracts
    kind: str  # count | trend | recency | household | derived | confidence | recording
    key: str | None = None  # the event feature (or theme) it belongs to
    members: tuple[str, ...] = ()  # a theme's event feature keys; empty for the rest
    window: int | None = None
    one: str = ""
    many: str = ""
    text: str = ""
    text_one: str = ""  # the words when the value is 1 ("1 person", not "1 people")
    definition: str = ""  # what a theme counts, said once in the key (`Catalogue.reason_key`)
    uses: tuple[str, ...] = ()  # a derived feature's inputs (feature names or agencies)
    sign_of_need: bool = False  # records of need (not a status or a protective measure)
    codes: tuple[str, ...] = ()  # the event codes it counts (a theme's or combination's: all)
    columns: tuple[tuple[str, str], ...] = ()  # (source, column) it is built from

    @property
    def monotone(self) -> int:
        """How risk may move with this feature's value, from what the feature is: +1 (does
        not fall) for a count of agency records, -1 (does not rise) for the months since the
        latest one, 0 (free) for the rest (trends, household make-up, area, combinations, and
        the record kinds the catalogue lists as `not_signs_of_need`).
        More records, or more recent ones, never mean less need: a constraint a data
        scientist can defend on any extract, not one fitted to a world."""
        if not self.sign_of_need:
            return 0
        return {"count": 1, "recency": -1}.get(self.kind, 0)

    def describe(self, value: float, recency_cap: int | None = None) -> str:
        """The feature and its value in plain words, as a reason reads. `recency_cap` is the
        longest look-back the model used: beyond it, "months since" reads as none."""
        if self.kind == "count":
            n = amount(self.window, value)
            words = self.one if n == 1 else self.many
            return f"{amount_words(n)} {words} {window_words(self.window)}"
        if self.kind == "trend":
            n = int(round(value))
            if n > 0:
                return f"{n} more {self.many} in the last 12 months than in the 12 before"
            if n < 0:
                return f"{-n} fewer {self.many} in the last 12 months than in the 12 before"
            return f"no change in {self.many} over two years"
        if self.kind == "recency":
            if recency_cap is not None and value > recency_cap:
                return f"no {self.one} in the last {recency_cap} months"
            if value >= NO_EVENT_MONTHS:
                return f"no {self.one} in the last 3 years"
            n = int(round(value))
            return f"latest {self.one} {n} month{'s' if n != 1 else ''} ago"
        if self.text_one and round(value) == 1:
            return self.text_one.format(value=value)
        return self.text.format(value=value)


@dataclass(frozen=True)
class Catalogue:
    features: tuple[Feature, ...]
    event_codes: tuple[tuple[str, str], ...]  # (event_code, feature key)
    windows: tuple[int, ...]
    roles: tuple[str, ...]
    coarse_words: tuple[tuple[str, str, str], ...] = ()  # (code part, one, many)
    parts: tuple[tuple[str, str, str | None], ...] = ()  # (code, role, `code_part`)
    confidence: Confidence | None = None  # `link_confidence`: what "high confidence" means
    # `recording`: (feature, agency, area column or None for the household's own records)
    recording: tuple[tuple[str, str, str | None], ...] = ()

    @cached_property
    def _parts(self) -> dict[tuple[str, str], str | None]:
        return {(c, r): p for c, r, p in self.parts}

    def code_part(self, code: str, role: str) -> str | None:
        """`code_part` of one of the catalogue's codes, worked out once when it loaded."""
        return self._parts[(code, role)]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def by_name(self, name: str) -> Feature:
        return self._index[name]

    @cached_property
    def _index(self) -> dict[str, Feature]:
        """Built once per catalogue (reasons look features up hundreds of thousands of times)."""
        return {f.name: f for f in self.features}

    def usable_names(self, history_months: int) -> list[str]:
        """The features a model trained with `history_months` of history before its training
        date can use and mean the same at every later date: the count windows of
        `usable_windows` (from 2 years of history the 3-year rate), trends only with two years
        of history ("months since" is capped instead, see `recency_cap`)."""
        windows = usable_windows(self.windows, history_months)
        out = []
        for f in self.features:
            if f.kind == "count" and f.window not in windows:
                continue
            if f.kind == "trend" and history_months < TREND_HISTORY:
                continue
            out.append(f.name)
        return out

    def monotone_constraints(self, names: list[str]) -> list[int]:
        """Each named feature's `monotone` direction, in the order given (for a model's
        `monotonic_cst`); a column the catalogue does not describe has none (0)."""
        return [self._index[n].monotone if n in self._index else 0 for n in names]

    def agency_features(self, agency: str) -> list[str]:
        """One agency's own features plus the register's (who lives where), which every
        partner already shares, plus the themes that agency holds records of (counted over
        its records only, see `theme_members`): the single-agency model of the
        value-of-sharing table."""
        return self.features_of({agency})

    def features_of(self, agencies: set[str]) -> list[str]:
        """The features a model fitted on these agencies' data can have: their own, the
        register's, and the themes with at least one of their record kinds."""
        return [
            f.name
            for f in self.features
            if f.agency in agencies
            or f.agency == "register"
            or (f.members and self.theme_members(f.key, agencies))
        ]

    def theme_members(self, theme: str, agencies: set[str] | None = None) -> list[str]:
        """The event feature keys a theme adds up, only those of `agencies` if given."""
        members = self._theme_members[theme]
        if agencies is None:
            return list(members)
        return [k for k in members if self._event[k].agency in agencies]

    @cached_property
    def _theme_members(self) -> dict[str, tuple[str, ...]]:  # asked for every household
        return {f.key: f.members for f in reversed(self.features) if f.members}

    @property
    def themes(self) -> list[str]:
        return list(self._themes)

    @cached_property
    def _themes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.key for f in self.features if f.members))

    @property
    def agencies(self) -> list[str]:
        return list(self._agencies)

    @cached_property
    def _agencies(self) -> tuple[str, ...]:  # asked for every reason of every household
        return tuple(sorted({f.agency for f in self.features} - {"register", "combined"}))

    @cached_property
    def _event(self) -> dict[str, Feature]:
        """Each event feature (its "months since" stands for it) by key."""
        return {f.key: f for f in self.features if f.kind == "recency" and not f.members}

    @cached_property
    def _evidence(self) -> dict[str, dict[str, tuple[str, ...]]]:
        return {}  # hearth/features/wording.py:evidence answers, kept (asked per household)

    @cached_property
    def _role_kinds(self) -> dict[tuple, tuple[Kind, ...]]:
        return {}  # `role_kinds` answers, kept: reasons ask them hundreds of thousands of times

    def role_kinds(self, keys: tuple[str, ...], role: str, within: bool = False) -> list[Kind]:
        """See `_work_out_kinds`; worked out once per question."""
        ask = (keys, role, within)
        if ask not in self._role_kinds:
            self._role_kinds[ask] = tuple(self._work_out_kinds(keys, role, within))
        return list(self._role_kinds[ask])

    def _work_out_kinds(self, keys: tuple[str, ...], role: str, within: bool) -> list[Kind]:
        """The kinds of record `role` may read among the event features `keys`: a feature it
        may read whole in its own words; one it may read only in part as the coarse kind of
        that part, counted over every event feature of it (with `within`, only if those are
        all among `keys`: a theme may not count a kind it holds only part of); nothing where
        it may not know of the record, or where the coarse kind is not whole."""
        out: dict[str, Kind] = {}
        words = {k: (one, many) for k, one, many in self.coarse_words}
        for key in keys:
            f = self._event[key]
            if role in f.roles:
                out.setdefault(key, Kind(key, (key,), f.one, f.many))
                continue
            parts = {self.code_part(c, role) for c in f.codes}
            if len(parts) != 1 or None in parts:
                continue
            part = parts.pop()
            members = tuple(
                k
                for k, e in self._event.items()
                if all(self.code_part(c, role) == part for c in e.codes)
            )
            codes = {c for k in members for c in self._event[k].codes}
            if not {c for c, _ in self.event_codes if self.code_part(c, role) == part} <= codes:
                continue  # a feature counts this part with another: no clean sum
            if within and not set(members) <= set(keys):
                continue
            out.setdefault(part, Kind(part, members, *words[part]))
        return list(out.values())


@cache
def load_catalogue() -> Catalogue:
    raw = yaml.safe_load((SQL_DIR / "features" / "catalogue.yaml").read_text(encoding="utf-8"))
    return build_catalogue(raw)


def build_catalogue(raw: dict) -> Catalogue:
    """The catalogue from its YAML, with every feature's roles derived from the contracts;
    anything that cannot be checked against them is refused in a sentence."""
    check_agencies(raw)
    windows = tuple(raw["windows"])
    if "roles" in raw and tuple(raw["roles"]) != ROLES:
        raise ValueError(
            f"sql/features/catalogue.yaml: roles {raw['roles']} are not the data contracts' "
            f"roles {list(ROLES)}"
        )
    feats: list[Feature] = []
    codes: list[tuple[str, str]] = []
    not_need = set(raw.get("not_signs_of_need", []))
    unknown = sorted(not_need - {ef["key"] for ef in raw["event_features"]})
    if unknown:
        raise ValueError(f"sql/features/catalogue.yaml: not_signs_of_need names unknown {unknown}")
    for ef in raw["event_features"]:
        for c in ef["codes"]:
            try:
                event_code_parts(c)
            except ValueError as e:
                where = f"sql/features/catalogue.yaml: event feature {ef['key']}"
                raise ValueError(f"{where}: {e}") from None
        codes += [(c, ef["key"]) for c in ef["codes"]]
    every = [c for c, _ in codes]
    parts = {(c, r): code_part(c, r) for c in dict.fromkeys(every) for r in ROLES}

    def derive(where: str, f_codes, f_columns, written) -> tuple[str, ...]:
        roles = tuple(r for r in ROLES if reads_whole(set(f_codes), set(f_columns), r, parts))
        agree(where, written, roles)
        return roles

    for ef in raw["event_features"]:
        key, f_codes = ef["key"], tuple(ef["codes"])
        columns = tuple(dict.fromkeys(col for c in f_codes for col in code_columns(c)))
        roles = derive(f"event feature {key}", f_codes, (), ef.get("roles"))
        common = dict(
            agency=ef["agency"],
            roles=roles,
            key=key,
            one=ef["one"],
            many=ef["many"],
            codes=f_codes,
            columns=columns,
        )
        common["sign_of_need"] = key not in not_need
        feats += [Feature(f"{key}_{w}m", kind="count", window=w, **common) for w in windows]
        feats.append(Feature(f"{key}_trend", kind="trend", **common))
        feats.append(Feature(f"{key}_months_since", kind="recency", **common))
    by_key = {f.key: f for f in feats}
    crises = crisis_keys(raw["event_features"])
    for tf in raw.get("theme_features", []):
        members = tuple(tf.get("keys") or crises)
        if tf.get("crisis") and set(members) != set(crises):
            # the crisis theme is the labels' definition (the contracts' crisisEvents), read
            raise ValueError(
                f"sql/features/catalogue.yaml: theme {tf['key']} counts the crises, which the "
                f"contracts' crisisEvents make {sorted(crises)}; its keys are {sorted(members)}."
            )
        unknown = [k for k in members if k not in by_key]
        if unknown:
            raise ValueError(
                f"sql/features/catalogue.yaml: theme {tf['key']} names unknown {unknown}"
            )
        t_codes = tuple(dict.fromkeys(c for k in members for c in by_key[k].codes))
        t_columns = tuple(dict.fromkeys(col for k in members for col in by_key[k].columns))
        common = dict(
            agency="combined",
            roles=derive(f"theme {tf['key']}", t_codes, (), tf.get("roles")),
            key=tf["key"],
            one=tf["one"],
            many=tf["many"],
            definition=tf.get("definition", ""),
            codes=t_codes,
            columns=t_columns,
        )
        common["sign_of_need"] = not_need.isdisjoint(members)
        feats += [
            Feature(f"{tf['key']}_{w}m", kind="count", window=w, members=members, **common)
            for w in windows
        ]
        feats.append(
            Feature(f"{tf['key']}_months_since", kind="recency", members=members, **common)
        )
    for hf in raw["household_features"]:
        columns = tuple(register_column(hf["name"], c) for c in hf.get("columns") or ())
        if not columns:
            raise ValueError(
                f"sql/features/catalogue.yaml: household feature {hf['name']} names no "
                "`columns` (source.column) it is built from, so who may read it is unknown."
            )
        roles = derive(f"household feature {hf['name']}", (), columns, hf.get("roles"))
        feats.append(
            Feature(
                hf["name"],
                hf["agency"],
                roles,
                "household",
                text=hf["text"],
                text_one=hf.get("text_one", ""),
                columns=columns,
            )
        )
    named = {f.name: f for f in feats}
    for df in raw["derived_features"]:
        uses = tuple(df.get("uses", ()))
        d_codes: list[str] = []
        d_columns: list[tuple[str, str]] = []
        for used in uses:
            if used in named:
                d_codes += named[used].codes
                d_columns += named[used].columns
            elif used in SOURCES:  # an agency's records of any kind ("agencies involved")
                d_codes += [c for c in every if c.split(":")[0] == used]
                d_columns += [(used, SOURCES[used].date_column)]
            else:
                raise ValueError(
                    f"sql/features/catalogue.yaml: derived feature {df['name']} uses {used!r}, "
                    "which is neither a feature nor a source"
                )
        d_codes = list(dict.fromkeys(d_codes))
        plain = [
            c for c in dict.fromkeys(d_columns) if not any(c in code_columns(x) for x in d_codes)
        ]
        roles = derive(f"derived feature {df['name']}", d_codes, plain, df.get("roles"))
        feats.append(
            Feature(
                df["name"],
                df["agency"],
                roles,
                "derived",
                text=df["text"],
                text_one=df.get("text_one", ""),
                uses=uses,
                codes=tuple(d_codes),
                columns=tuple(dict.fromkeys(d_columns)),
            )
        )
    recording = read_recording(raw)
    feats += recording_features(raw, recording, every, derive, Feature)
    conf = read_confidence(raw)  # hearth/features/confidence.py
    for sf in share_specs(raw, conf, every):
        roles = derive(f"link_confidence feature {sf.name}", sf.codes, sf.linked, sf.roles)
        kw = dict(text=sf.text, uses=sf.uses, codes=sf.codes)
        feats.append(Feature(sf.name, sf.agency, roles, "confidence", columns=sf.columns, **kw))
    coarse = tuple((k, w["one"], w["many"]) for k, w in (raw.get("coarse_words") or {}).items())
    flat = tuple((c, r, p) for (c, r), p in parts.items())
    cat = Catalogue(tuple(feats), tuple(codes), windows, ROLES, coarse, flat, conf, recording)
    check_coarse_words(cat.coarse_words, cat.code_part, every)
    return cat
