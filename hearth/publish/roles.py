"""What each role may see of the ranked list.

Columns follow the data contracts: a column taken from a source (the household pseudonym and
the area codes come from the addresses register) is shown to a role only if that source's
contract lists the role on the column. Columns Hearth makes (rank, score, tier, the reasons,
the suggested lead agency and why) are the point of the list and go to every role, in the
role's own words: the scorer works out each role's reasons (`ROLE_REASONS`), the household's
strongest among the features the feature catalogue (`sql/features/catalogue.yaml`) lets the
role read, a theme counted over the kinds of record the role may read
(`hearth/features/wording.py`). A household none of whose reasons the role may read shows
"other agency information" once. The lead agency stays (it names who should act); its why
shows only if the role may read every fact it states. A list scored before role reasons were
kept falls back to hiding each reason the role may not read; a reason on a feature the
catalogue does not know is hidden too (fail closed)."""

from __future__ import annotations

import json

import polars as pl

from hearth.features.catalogue import Catalogue, load_catalogue
from hearth.features.wording import readable_by
from hearth.publish.ranked import with_area_names
from hearth.quality.contracts import ROLES, load_contract

OTHER_AGENCY = "other agency information"
REASONS = ("reason_1", "reason_2", "reason_3")
ROLE_REASONS = "role_reasons"  # hidden column: each role's reasons and lead why, as JSON

# The list's columns, in order, with where each comes from: (source, contract column) or None
# for a column Hearth makes.
LIST_COLUMNS: dict[str, tuple[str, str] | None] = {
    "rank": None,
    "household_pid": ("addresses", "household_pid"),
    # an area's name goes to whoever may see its code (hearth/publish/areas.py)
    "la_name": ("addresses", "la_code"),
    "la_code": ("addresses", "la_code"),
    "ward_name": ("addresses", "ward_code"),
    "ward_code": ("addresses", "ward_code"),
    "lsoa_name": ("addresses", "lsoa_code"),
    "lsoa_code": ("addresses", "lsoa_code"),
    "score": None,
    "risk_tier": None,
    "reason_1": None,
    "reason_2": None,
    "reason_3": None,
    "lead_agency": None,
    "lead_why": None,
}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    return role


def visible_columns(role: str) -> list[str]:
    """The list's columns that `role` may see, in list order."""
    check_role(role)
    out = []
    for name, origin in LIST_COLUMNS.items():
        if origin is None or role in load_contract(origin[0]).column(origin[1]).roles:
            out.append(name)
    return out


def visible_features(role: str, cat: Catalogue | None = None) -> set[str]:
    check_role(role)
    cat = cat or load_catalogue()
    return {f.name for f in cat.features if role in f.roles}


def encode_role_reasons(by_role: dict[str, tuple[list[tuple[str, str]], str | None]]) -> str:
    """One household's reasons per role, [(text, feature), ...] with the lead's why as the role
    may read it, as the JSON kept in the `ROLE_REASONS` column."""
    return json.dumps(
        {
            r: {"reasons": [list(x) for x in rs], "lead_why": why}
            for r, (rs, why) in by_role.items()
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def role_reasons(
    encoded: str | None, role: str, cat: Catalogue | None = None
) -> tuple[list[str], str | None] | None:
    """A household's reasons and lead why for `role` from the `ROLE_REASONS` JSON, keeping
    only reasons on features the role may read (fail closed); None if none were kept."""
    if not encoded:
        return None
    entry = json.loads(encoded).get(role)
    if entry is None:
        return None
    cat = cat or load_catalogue()
    texts = [t for t, f in entry.get("reasons", []) if t and readable_by(cat, f, role)]
    return texts[: len(REASONS)], entry.get("lead_why")


def role_view(ranked: pl.DataFrame, role: str, cat: Catalogue | None = None) -> pl.DataFrame:
    """The ranked list as `role` may see it: its columns only, each household's strongest
    reasons among those the role may read, and the lead's why if the role may read its facts.
    The feature names are not passed on."""
    check_role(role)
    cat = cat or load_catalogue()
    if "lead_why" not in ranked.columns:  # a list published before leads had a why
        ranked = ranked.with_columns(pl.lit(None, dtype=pl.String).alias("lead_why"))
    masked = _masked(ranked, role, cat)
    if ROLE_REASONS in ranked.columns:
        cols: dict[str, list[str | None]] = {r: [] for r in (*REASONS, "lead_why")}
        rows = zip(
            ranked[ROLE_REASONS].to_list(),
            *(masked[r].to_list() for r in (*REASONS, "lead_why")),
            strict=True,
        )
        for encoded, *fallback in rows:
            got = role_reasons(encoded, role, cat)
            if got is None:
                own, why = fallback[: len(REASONS)], fallback[-1]
            else:
                texts, why = got
                had_any = any(v is not None for v in fallback[: len(REASONS)])
                own = texts or ([OTHER_AGENCY] if had_any else [])
                own = own + [None] * (len(REASONS) - len(own))
            for r, v in zip(REASONS, own, strict=True):
                cols[r].append(v)
            cols["lead_why"].append(why)
        masked = masked.with_columns([pl.Series(c, v, dtype=pl.String) for c, v in cols.items()])
    return masked.select(visible_columns(role))


def _masked(ranked: pl.DataFrame, role: str, cat: Catalogue) -> pl.DataFrame:
    """Each reason the role may not read as "other agency information"; the lead's why only
    for the commissioners (a list without role reasons cannot tell which facts it states)."""
    allowed = sorted(visible_features(role, cat))
    masked = []
    for reason in REASONS:
        feature = pl.col(f"{reason}_feature")
        masked.append(
            pl.when(pl.col(reason).is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(feature.is_in(allowed))
            .then(pl.col(reason))
            .otherwise(pl.lit(OTHER_AGENCY))
            .alias(reason)
        )
    if role != "commissioner":
        masked.append(pl.lit(None, dtype=pl.String).alias("lead_why"))
    return with_area_names(ranked).with_columns(masked)
