"""What the feature catalogue (sql/features/catalogue.yaml) is checked against as it loads:
the contracts' agencies and roles, their crisis definition (crisisEvents) and their columns.
Each refusal is a sentence naming the feature (hearth/features/catalogue.py: build_catalogue)."""

from __future__ import annotations

from collections.abc import Callable

from hearth import sources
from hearth.sources import ROLES, SOURCES, is_crisis_code


def check_agencies(raw: dict) -> None:
    """Every feature is an agency's (as the contracts declare them), the register's or a
    combination, and any roles it writes exist (they must also agree with those derived from
    the contracts: `build_catalogue`)."""
    agencies = {*sources.AGENCIES, "register", "combined"}
    confidence = (raw.get("link_confidence") or {}).get("features") or []
    for group in ("event_features", "household_features", "derived_features", confidence):
        for f in raw.get(group, []) if isinstance(group, str) else group:
            name = f.get("key") or f.get("name")
            if f.get("agency") not in agencies:
                raise ValueError(
                    f"sql/features/catalogue.yaml: feature {name} has agency {f.get('agency')!r}; "
                    f"use one of {', '.join(sorted(agencies))} (agencies come from the contracts)."
                )
            unknown = [r for r in f.get("roles", []) if r not in sources.ROLES]
            if unknown:
                raise ValueError(
                    f"sql/features/catalogue.yaml: feature {name} names unknown roles {unknown}; "
                    f"roles are {', '.join(sources.ROLES)}."
                )


def crisis_keys(event_features: list[dict]) -> list[str]:
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


def register_column(name: str, written: str) -> tuple[str, str]:
    source, _, column = str(written).partition(".")
    if source not in SOURCES or column not in SOURCES[source].columns:
        raise ValueError(
            f"sql/features/catalogue.yaml: household feature {name} names {written!r}, which is "
            "not a source.column of the data contracts"
        )
    return source, column


def check_coarse_words(
    coarse_words: tuple[tuple[str, str, str], ...],
    code_part: Callable[[str, str], str | None],
    every: list[str],
) -> None:
    """Every code part some role reads a feature by must have its coarse words: refuse a
    catalogue that would leave a role with no words, or with the detail it may not read."""
    have = {k for k, _, _ in coarse_words}
    for role in ROLES:
        for code in every:
            part = code_part(code, role)
            if part is not None and part != code and part not in have:
                raise ValueError(
                    f"sql/features/catalogue.yaml: the {role} role may read {code} only as "
                    f"{part!r}, which has no coarse_words; add its words (one, many)."
                )


RECORDING_WINDOW = 12  # every model has at least a year of history (usable_names)


def read_recording(raw: dict) -> tuple[tuple[str, str, str | None], ...]:
    """The `recording` features, each as (name, agency, area column or None for the household's
    own records): for every agency, its own count and one mean per area. Refused in a sentence
    when the window is not 12 months or an area's column is not one the features are kept
    beside (ward_code, la_code)."""
    spec = raw.get("recording")
    if not spec:
        return ()
    if spec.get("window") != RECORDING_WINDOW:
        raise ValueError(
            "sql/features/catalogue.yaml: recording window must be 12 (months): every model has "
            "a year of history, so the rates mean the same at its training date and later."
        )
    areas = spec.get("areas") or {}
    for word, column in areas.items():
        if column not in ("ward_code", "la_code", "lsoa_code"):
            raise ValueError(
                f"sql/features/catalogue.yaml: recording area {word} is column {column!r}; use "
                "ward_code, la_code or lsoa_code (the areas kept beside the features)."
            )
    out: list[tuple[str, str, str | None]] = []
    for agency in sorted(sources.AGENCIES):
        own = f"{agency}_records_12m"
        out.append((own, agency, None))
        out += [(f"{word}_{own}", agency, column) for word, column in areas.items()]
    return tuple(out)


def recording_features(raw: dict, recording, every: list[str], derive, feature) -> list:
    """The `recording` features as `feature` (the catalogue's Feature) objects, their roles
    derived from the contracts (`derive`) like an agency's records of any kind: its dates and
    every code of it."""
    out = []
    for name, agency, _ in recording:
        codes = tuple(c for c in every if c.split(":")[0] == agency)
        date = ((agency, SOURCES[agency].date_column),)
        roles = derive(f"recording feature {name}", codes, date, None)
        text = recording_text(raw, name, agency)
        out.append(
            feature(
                name,
                agency,
                roles,
                "recording",
                text=text,
                uses=(agency,),
                codes=codes,
                columns=date,
            )
        )
    return out


def recording_text(raw: dict, name: str, agency: str) -> str:
    """A recording feature's words, from its agency's `coarse_words`."""
    many = (raw.get("coarse_words") or {}).get(agency, {}).get("many")
    if not many:
        raise ValueError(
            f"sql/features/catalogue.yaml: recording feature {name} needs coarse_words for "
            f"{agency} (its words)."
        )
    if name == f"{agency}_records_12m":
        return f"{{value:.0f}} {many} in all in the last 12 months"
    area = name.split("_", 1)[0]
    return f"the {area}'s households average {{value:.1f}} {many} in the last 12 months"
