"""What each role may see of the ranked list.

Columns follow the data contracts: a column taken from a source (the household pseudonym and
the area codes come from the addresses register) is shown to a role only if that source's
contract lists the role on the column. Columns Hearth makes (rank, score, tier, the reasons and
the suggested lead agency) are the point of the list and go to every role, but each reason is
shown only if the feature catalogue (`sql/features/catalogue.yaml`) lets the role see the
feature it was built on; otherwise it reads "other agency information". A reason on a feature
the catalogue does not know is hidden too (fail closed). The lead agency stays: it names who
should act."""

from __future__ import annotations

import polars as pl

from hearth.features.catalogue import Catalogue, load_catalogue
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


def role_view(ranked: pl.DataFrame, role: str, cat: Catalogue | None = None) -> pl.DataFrame:
    """The ranked list as `role` may see it: its columns only, and reasons on features it may
    not see replaced by "other agency information". The feature names are not passed on."""
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
    return with_area_names(ranked).with_columns(masked).select(visible_columns(role))
