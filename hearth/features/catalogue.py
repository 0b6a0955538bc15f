"""The feature catalogue (`sql/features/catalogue.yaml`): names, agencies, plain words and roles."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import yaml

from hearth import sources
from hearth.settings import SQL_DIR
from hearth.sources import is_crisis_code

NO_EVENT_MONTHS = 99  # "months since" for a household with no such record in three years
WINDOW_WORDS = {3: "3 months", 6: "6 months", 12: "12 months", 24: "2 years", 36: "3 years"}
TREND_HISTORY = 24  # a trend compares the last 12 months with the 12 before


@dataclass(frozen=True)
class Feature:
    name: str
    agency: str  # health | social_care | fire | police | register | combined
    roles: tuple[str, ...]
    kind: str  # count | trend | recency | household | derived
    key: str | None = None  # the event feature (or theme) it belongs to
    members: tuple[str, ...] = ()  # a theme's event feature keys; empty for the rest
    window: int | None = None
    one: str = ""
    many: str = ""
    text: str = ""
    definition: str = ""  # what a theme counts, said once in the key (`Catalogue.reason_key`)
    uses: tuple[str, ...] = ()  # a derived feature's inputs (feature names or agencies)
    sign_of_need: bool = False  # records of need (not a status or a protective measure)

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
            n = int(round(value))
            return (
                f"{n} {self.one if n == 1 else self.many} in the last {WINDOW_WORDS[self.window]}"
            )
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
        return self.text.format(value=value)


@dataclass(frozen=True)
class Catalogue:
    features: tuple[Feature, ...]
    event_codes: tuple[tuple[str, str], ...]  # (event_code, feature key)
    windows: tuple[int, ...]
    roles: tuple[str, ...]

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
        date can use and mean the same at every later date: count windows no longer than that
        history, trends only with two years of it. (Recency is capped instead, see
        `recency_cap`.)"""
        out = []
        for f in self.features:
            if f.kind == "count" and f.window > history_months:
                continue
            if f.kind == "trend" and history_months < TREND_HISTORY:
                continue
            out.append(f.name)
        return out

    def monotone_constraints(self, names: list[str]) -> list[int]:
        """Each named feature's `monotone` direction, in the order given (for a model's
        `monotonic_cst`)."""
        return [self._index[n].monotone for n in names]

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
        members = next(f.members for f in self.features if f.key == theme and f.members)
        if agencies is None:
            return list(members)
        agency_of = {f.key: f.agency for f in self.features if f.kind == "recency"}
        return [k for k in members if agency_of[k] in agencies]

    @property
    def themes(self) -> list[str]:
        return list(dict.fromkeys(f.key for f in self.features if f.members))

    @property
    def agencies(self) -> list[str]:
        return sorted({f.agency for f in self.features} - {"register", "combined"})


def _check_agencies(raw: dict) -> None:
    """Every feature is an agency's (as the contracts declare them), the register's or a
    combination, and is seen only by roles that exist."""
    agencies = {*sources.AGENCIES, "register", "combined"}
    for group in ("event_features", "household_features", "derived_features"):
        for f in raw.get(group, []):
            name = f.get("key") or f.get("name")
            if f.get("agency") not in agencies:
                raise ValueError(
                    f"sql/features/catalogue.yaml: feature {name} has agency {f.get('agency')!r}; "
                    f"use one of {', '.join(sorted(agencies))} (agencies come from the contracts)."
                )
            unknown = [r for r in f.get("roles", []) if r not in raw["roles"]]
            if unknown:
                raise ValueError(
                    f"sql/features/catalogue.yaml: feature {name} names unknown roles {unknown}; "
                    f"roles are {', '.join(raw['roles'])}."
                )


def _crisis_keys(event_features: list[dict]) -> list[str]:
    """The event features that count crises, by the contracts' definition (crisisEvents, the
    same the labels use): every code of such a feature is a crisis, and no other's is."""
    keys = []
    for ef in event_features:
        crisis = [is_crisis_code(c) for c in ef["codes"]]
        if any(crisis) and not all(crisis):
            raise ValueError(
                f"sql/features/catalogue.yaml: event feature {ef['key']} counts crises and other "
                "records together; split it, so that the crisis theme counts only crises."
            )
        if any(crisis):
            keys.append(ef["key"])
    return keys


@cache
def load_catalogue() -> Catalogue:
    raw = yaml.safe_load((SQL_DIR / "features" / "catalogue.yaml").read_text(encoding="utf-8"))
    raw["roles"] = sources.ROLES  # who may see what: the commissioner and the contracts' agencies
    _check_agencies(raw)
    windows = tuple(raw["windows"])
    feats: list[Feature] = []
    codes: list[tuple[str, str]] = []
    not_need = set(raw.get("not_signs_of_need", []))
    unknown = sorted(not_need - {ef["key"] for ef in raw["event_features"]})
    if unknown:
        raise ValueError(f"sql/features/catalogue.yaml: not_signs_of_need names unknown {unknown}")
    for ef in raw["event_features"]:
        key, roles = ef["key"], tuple(ef["roles"])
        codes += [(c, key) for c in ef["codes"]]
        common = dict(agency=ef["agency"], roles=roles, key=key, one=ef["one"], many=ef["many"])
        common["sign_of_need"] = key not in not_need
        feats += [Feature(f"{key}_{w}m", kind="count", window=w, **common) for w in windows]
        feats.append(Feature(f"{key}_trend", kind="trend", **common))
        feats.append(Feature(f"{key}_months_since", kind="recency", **common))
    crises = _crisis_keys(raw["event_features"])
    for tf in raw.get("theme_features", []):
        members = tuple(tf.get("keys") or crises)
        if tf.get("crisis") and set(members) != set(crises):
            # the crisis theme is the labels' definition (the contracts' crisisEvents), read
            raise ValueError(
                f"sql/features/catalogue.yaml: theme {tf['key']} counts the crises, which the "
                f"contracts' crisisEvents make {sorted(crises)}; its keys are {sorted(members)}."
            )
        unknown = [k for k in members if k not in {f.key for f in feats}]
        if unknown:
            raise ValueError(
                f"sql/features/catalogue.yaml: theme {tf['key']} names unknown {unknown}"
            )
        # who may read a reason built on a theme: whoever may read every record kind in it
        roles = tuple(
            r for r in raw["roles"] if all(r in f.roles for f in feats if f.key in members)
        )
        common = dict(
            agency="combined",
            roles=roles,
            key=tf["key"],
            one=tf["one"],
            many=tf["many"],
            definition=tf.get("definition", ""),
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
        feats.append(
            Feature(hf["name"], hf["agency"], tuple(hf["roles"]), "household", text=hf["text"])
        )
    for df in raw["derived_features"]:
        feats.append(
            Feature(
                df["name"],
                df["agency"],
                tuple(df["roles"]),
                "derived",
                text=df["text"],
                uses=tuple(df.get("uses", ())),
            )
        )
    return Catalogue(tuple(feats), tuple(codes), windows, tuple(raw["roles"]))
