"""An officer's review of a listed household's uncertain links: `hearth reidentify-links`.

Which records rest on a link made with less than high confidence (the feature catalogue's
`link_confidence`) is shown nowhere else: not in any list, view, report or summary. An officer
of an agency asks for one household on the published list (by rank or pseudonym) and gets its
records from the sources the data contracts let that role review — each record's id (the
agency's own reference, to check it in its own system), date and link probability, never a
token. The terms are re-identification's (hearth/privacy/reidentify.py): the roles file grants
the role, a refusal and every review go to the chained audit log (counts, the household's
rank, the sources; never a record id or a pseudonym), and the warehouse is only read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.privacy.reidentify import (
    ReidentifyError,
    _audit,
    _authorised,
    _read_warehouse,
    published_list,
)
from hearth.publish.roles import check_role
from hearth.quality.contracts import may_read
from hearth.sources import SOURCES
from hearth.warehouse import query


@dataclass(frozen=True)
class UncertainLinks:
    """One household's records linked with less than high confidence, as a role may review
    them: never a token, only what the agency needs to find each record in its own system."""

    role: str
    as_of: str
    rank: int  # the household's place on the published list
    high: float  # the catalogue's high confidence: every link listed is below it
    sources: tuple[str, ...]  # the sources the role may review
    links: pl.DataFrame  # source, record_id, event_date, link_probability


def reviewable_sources(role: str) -> tuple[str, ...]:
    """The event sources whose links `role` may review: it may read the records' ids and dates
    and how surely they were linked (the catalogue's link-confidence share of the source, built
    from its keys and linkage tokens). The contracts decide; in the shipped ones, each agency
    its own records."""
    cat = load_catalogue()
    out = []
    for s in SOURCES.values():
        if s.kind != "event" or len(s.key) != 1:
            continue
        share = cat.by_name(cat.confidence.share_feature(s.name))
        if role in share.roles and all(
            may_read(role, s.name, c) for c in (s.key[0], s.date_column)
        ):
            out.append(s.name)
    return tuple(out)


def _household_on_list(ranked: pl.DataFrame, household: str | None, rank: int | None) -> tuple:
    if (household is None) == (rank is None):
        raise ReidentifyError("Give the household's pseudonym (--household) or its --rank, one.")
    if rank is not None:
        hit = ranked.filter(pl.col("rank") == rank)
        if hit.is_empty():
            raise ReidentifyError(
                f"No household has rank {rank:,} on the list ({ranked.height:,})."
            )
    else:
        hit = ranked.filter(pl.col("household_pid") == household)
        if hit.is_empty():
            # the value is not echoed: it may be anything typed by mistake
            raise ReidentifyError(
                "That household pseudonym is not on the published list (64 lowercase hex "
                "characters, as the list's household_pid column shows it)."
            )
    return hit["household_pid"][0], int(hit["rank"][0])


def uncertain_links(
    role: str,
    household: str | None = None,
    rank: int | None = None,
    as_of: str | None = None,
) -> UncertainLinks:
    """A household's records linked with less than high confidence, for an officer of `role`
    to check against the agency's own system: the only way Hearth shows which records rest on
    an uncertain link. Authorised and audited as re-identification is (the roles file grants
    the role; a refusal and every review are in the audit log, with counts and the household's
    rank, never a record id or pseudonym); the warehouse is only read."""
    check_role(role)
    grant = _authorised(role)
    sources = reviewable_sources(role)
    if not sources:
        why = f"the data contracts let the {role} role review no source's links"
        _audit("refused", grant, detail={"why": why})
        raise ReidentifyError(
            f"The {role} role may not review how records were linked: the data contracts let "
            "only the agency that sent a record read its ids and linkage tokens. Nothing was shown."
        )
    ranked, summary, run_as_of = published_list(as_of)
    pid, place = _household_on_list(ranked, household, rank)
    cat = load_catalogue()
    y, m = int(run_as_of[:4]), int(run_as_of[5:7])
    params = {
        "household": pid,
        "high": cat.confidence.high,
        "sources": list(sources),
        "as_of": datetime(y, m, 1).date(),
        "as_of_month": run_as_of,
        "months": max(cat.windows),
    }
    with _read_warehouse() as con:
        links = query(con, "publish/uncertain_links", params).pl()
    # The audit entry first: if it cannot be written, nothing is shown.
    _audit(
        "uncertain_links",
        grant,
        clients=1,
        matched=links.height,
        run_as_of=run_as_of,
        detail={
            "rank": place,
            "sources": list(sources),
            "links_returned": links.height,
            "model_version": (summary.get("model") or {}).get("version"),
        },
    )
    return UncertainLinks(role, run_as_of, place, cat.confidence.high, sources, links)
