"""What each role may see of the ranked list.

Everything follows the data contracts, the one source of who sees what
(`hearth/quality/contracts.py:may_read`). A column taken from a source (the household pseudonym
and the area codes come from the addresses register) is shown to a role only if that source's
contract lists the role on the column. Columns Hearth makes (rank, score, tier, the reasons,
the suggested lead agency and why) go to every role, in the role's own words: the scorer works
out each role's reasons, lead and why (`ROLE_REASONS`), from the features the role may read
(`hearth/features/catalogue.py` derives them from the contracts) at the level of detail it may
see (`hearth/features/wording.py`). A household none of whose reasons the role may read shows
"other agency information" once; a lead whose name would tell the role of a record it may not
read is "another agency", with no why (`hearth/modelling/scoring/reasons.py:lead_as_role`), and
so is each other service with a part ("also", `also_agencies`) whose rule reads such records.

The commissioners' view is also the main list (`ranked_households.csv`, `.xlsx`) and the
report: no person pseudonym, record id, clinical detail or police risk level.

A list scored before role reasons were kept falls back to reasons the role reads whole in the
words they were written in, and "another agency" for every lead; a reason on a feature the
catalogue does not know is hidden too (fail closed)."""

from __future__ import annotations

import json

import polars as pl

from hearth.features.catalogue import Catalogue, load_catalogue
from hearth.features.wording import ANOTHER_AGENCY, NO_REASON, readable_by, visible_kinds
from hearth.modelling.scoring.ranking import ROLE_REASONS
from hearth.modelling.scoring.reasons import also_words
from hearth.publish.ranked import with_area_names
from hearth.quality.contracts import ROLES, load_contract

OTHER_AGENCY = "other agency information"
REASONS = ("reason_1", "reason_2", "reason_3")

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
    "also_agencies": None,
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
    """The features `role` reads whole and in their own words: a reason on one of them reads
    the same for the role as in the full list."""
    check_role(role)
    cat = cat or load_catalogue()
    return {
        f.name
        for f in cat.features
        if role in f.roles
        and (not f.members or all(k.members == (k.key,) for k in visible_kinds(cat, f, role)))
    }


def role_reasons(
    encoded: str | None, role: str, cat: Catalogue | None = None
) -> tuple[list[str], str, str | None] | None:
    """A household's reasons, lead and lead why for `role` from the `ROLE_REASONS` JSON,
    keeping only reasons on features the role may read (fail closed: a lead not kept per
    role is "another agency"); None if there is no entry for the role. Its "also" services:
    `role_also`."""
    if not encoded:
        return None
    entry = json.loads(encoded).get(role)
    if entry is None:
        return None
    cat = cat or load_catalogue()
    texts = [t for t, f in entry.get("reasons", []) if t and readable_by(cat, f, role)]
    lead = entry.get("lead")
    if not lead:
        return texts[: len(REASONS)], ANOTHER_AGENCY, None
    return texts[: len(REASONS)], lead, entry.get("lead_why")


def role_also(encoded: str | None, role: str) -> list[tuple[str, str | None]]:
    """The other services with a part for a household, [(lead, why), ...], as `role` may read
    them: one whose rule reads records the role may not read is "another agency", with no
    why, like the lead (`hearth/modelling/scoring/reasons.py:lead_as_role`)."""
    if not encoded:
        return []
    entry = json.loads(encoded).get(role) or {}
    return [(lead or ANOTHER_AGENCY, why if lead else None) for lead, why in entry.get("also", [])]


def also_cell(alsos: list[tuple[str, str | None]]) -> str | None:
    """The "also" services in one cell (hearth/modelling/scoring/reasons.py:also_words)."""
    return also_words(alsos)


def role_view(ranked: pl.DataFrame, role: str, cat: Catalogue | None = None) -> pl.DataFrame:
    """The ranked list as `role` may see it: its columns only, each household's strongest
    reasons among those the role may read in the role's words, and the lead and its why as the
    role may read them. The feature names are not passed on."""
    check_role(role)
    cat = cat or load_catalogue()
    for col in ("lead_why", "also_agencies"):  # a list published before it had them
        if col not in ranked.columns:
            ranked = ranked.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    masked = _masked(ranked, role, cat)
    if ROLE_REASONS in ranked.columns:
        names = (*REASONS, "lead_agency", "lead_why", "also_agencies")
        cols = {c: masked[c].to_list() for c in names}
        encoded_rows = ranked[ROLE_REASONS].to_list()
        # only the households explained at scoring have role words (the top of a million)
        for i in (i for i, e in enumerate(encoded_rows) if e):
            got = role_reasons(encoded_rows[i], role, cat)
            if got is None:
                continue
            texts, lead, why = got
            had_any = any(cols[r][i] is not None for r in REASONS)
            own = texts or ([OTHER_AGENCY] if had_any else [])
            if cols[REASONS[0]][i] == NO_REASON:  # says nothing of any record: every role's
                own = [NO_REASON]
            own = own + [None] * (len(REASONS) - len(own))
            for r, v in zip(REASONS, own, strict=True):
                cols[r][i] = v
            cols["lead_agency"][i], cols["lead_why"][i] = lead, why
            cols["also_agencies"][i] = also_cell(role_also(encoded_rows[i], role))
        masked = masked.with_columns([pl.Series(c, v, dtype=pl.String) for c, v in cols.items()])
    return masked.select(visible_columns(role))


def _masked(ranked: pl.DataFrame, role: str, cat: Catalogue) -> pl.DataFrame:
    """Each reason the role may not read whole in the words it was written in as "other agency
    information"; every lead as "another agency" with no why (a list without role reasons
    cannot tell what chose its lead)."""
    allowed = sorted(visible_features(role, cat))
    masked = []
    for reason in REASONS:
        feature = pl.col(f"{reason}_feature")
        masked.append(
            pl.when(pl.col(reason).is_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(pl.col(reason) == NO_REASON)
            .then(pl.col(reason))
            .when(feature.is_in(allowed))
            .then(pl.col(reason))
            .otherwise(pl.lit(OTHER_AGENCY))
            .alias(reason)
        )
    lead = pl.when(pl.col("lead_agency").is_null()).then(None).otherwise(pl.lit(ANOTHER_AGENCY))
    also = pl.when(pl.col("also_agencies").is_null()).then(None).otherwise(pl.lit(ANOTHER_AGENCY))
    masked += [
        lead.alias("lead_agency"),
        pl.lit(None, dtype=pl.String).alias("lead_why"),
        also.alias("also_agencies"),
    ]
    return with_area_names(ranked).with_columns(masked)
