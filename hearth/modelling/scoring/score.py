"""Score every household with the champion: rank, score, tier, reasons, a lead agency and the
other services with a part ("also"), for every household, so that a list of any length
published from it is explained (`hearth publish --top 2000`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from hearth.features.catalogue import Catalogue, load_catalogue
from hearth.features.wording import NO_REASON
from hearth.modelling.evaluation.metrics import rank_order
from hearth.modelling.scoring.ranking import ROLE_REASONS, encode_role_reasons, risk_tiers
from hearth.modelling.scoring.reason_choice import Words, top_reasons
from hearth.modelling.scoring.reasons import (
    also_leads,
    also_words,
    alsos_as_role,
    lead_agency,
    lead_as_role,
)
from hearth.modelling.training.explain import explain
from hearth.modelling.training.threads import predicting_threads

EXPLAIN_CHUNK = 5000  # households explained at a time (their features as Python values)
# The ranked list's columns, in order (the published ones are hearth/publish/ranked.py's)
SCORE_COLUMNS = (
    "rank",
    "household_pid",
    "la_code",
    "ward_code",
    "lsoa_code",
    "score",
    "risk_tier",
    "reason_1",
    "reason_2",
    "reason_3",
    "lead_agency",
    "lead_why",
    "also_agencies",
    "reason_1_feature",
    "reason_2_feature",
    "reason_3_feature",
    ROLE_REASONS,
)


@dataclass
class Scored:
    """The scores at once and the explained list in pieces: `ranking` (household_pid, rank,
    score, in rank order) for the gate, the hold-out and monitoring; `chunks`, the list's
    `SCORE_COLUMNS` a chunk of households at a time in rank order, worked out as they are read
    (so a million households' words are never all in memory: the caller stores each chunk)."""

    ranking: pl.DataFrame
    chunks: Iterator[pl.DataFrame]


def score_households(
    model,
    feature_names: list[str],
    frame: pl.DataFrame,
    recency_cap: int | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> pl.DataFrame:
    """The ranked list, every household explained, whole (`scored` keeps it in pieces)."""
    return pl.concat(list(scored(model, feature_names, frame, recency_cap, progress).chunks))


def scored(
    model,
    feature_names: list[str],
    frame: pl.DataFrame,
    recency_cap: int | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    chunk_size: int = EXPLAIN_CHUNK,
) -> Scored:
    """Every household scored and ranked, and explained a chunk at a time: the contributions
    of a chunk of households at once (`explain`), their reasons and leads in words
    remembered by the values they are worded from (`reasons.Words`). `progress(done, total)`
    after each chunk."""
    X = frame.select(feature_names).to_numpy().astype(np.float32, copy=False)
    pids = frame["household_pid"].to_numpy()
    with predicting_threads():
        scores = model.predict_proba(X)[:, 1]
    order = rank_order(scores, pids)
    n = len(order)
    ranking = pl.DataFrame(
        {
            "household_pid": frame["household_pid"].gather(order),
            "rank": np.arange(1, n + 1, dtype=np.int64),
            "score": scores[order],
        }
    )

    cat = load_catalogue()
    words = Words(cat, recency_cap, cat.roles)  # shared by the chunks of this list

    def chunks() -> Iterator[pl.DataFrame]:
        for start in range(0, n, chunk_size):
            with predicting_threads():  # not held while the caller stores the chunk
                piece = _explained(
                    model,
                    feature_names,
                    frame,
                    X,
                    scores,
                    order[start : start + chunk_size],
                    start,
                    n,
                    recency_cap,
                    cat,
                    words,
                )
            yield piece
            progress(min(start + chunk_size, n), n)

    return Scored(ranking, chunks())


def _explained(
    model,
    feature_names: list[str],
    frame: pl.DataFrame,
    X: np.ndarray,
    scores: np.ndarray,
    chunk: np.ndarray,
    start: int,
    n: int,
    recency_cap: int | None,
    cat: Catalogue,
    words: Words,
) -> pl.DataFrame:
    """The rows of the list of `n` at ranks start + 1 .. start + len(chunk) (`chunk`: their
    rows of `frame`, best first), explained."""
    # every catalogue feature of the household, not only the model's: the kinds of record
    # behind a theme and the facts the lead rules read, as Python values for this chunk only
    known = [c for c in cat.names if c in frame.columns]
    rows = frame.select(pl.all().gather(chunk))
    values = rows.select(known).to_dicts()
    Xe = X[chunk]
    rs = top_reasons(
        explain(model, Xe),
        Xe,
        feature_names,
        cat,
        recency_cap=recency_cap,
        values=values,
        roles=cat.roles,
        words=words,
    )
    reasons, leads, whys, alsos, by_role = [], [], [], [], []
    for pos in range(len(chunk)):
        # a household with no fact that raised its estimate says so (no empty row)
        reasons.append(rs.texts[pos] or [NO_REASON])
        lead = lead_agency(values[pos], rs.features[pos], cat, recency_cap)
        also = also_leads(values[pos], lead, cat, recency_cap)
        leads.append(lead.lead)
        whys.append(lead.why)
        alsos.append(also_words(alsos_as_role(also, None, values[pos], cat, recency_cap)))
        by_role.append(
            encode_role_reasons(
                {
                    role: (
                        rs.by_role[pos][role],
                        lead_as_role(lead, role, values[pos], cat, recency_cap),
                    )
                    for role in cat.roles
                },
                {
                    role: alsos_as_role(also, role, values[pos], cat, recency_cap)
                    for role in cat.roles
                },
            )
        )
    ranks = np.arange(start + 1, start + len(chunk) + 1, dtype=np.int64)
    return (
        rows.select("household_pid", "la_code", "ward_code", "lsoa_code")
        .with_columns(
            pl.Series("rank", ranks),
            pl.Series("score", scores[chunk]),
            pl.Series("risk_tier", risk_tiers(ranks, n), dtype=pl.String),
            *[
                pl.Series(
                    f"reason_{j + 1}",
                    [r[j] if len(r) > j else None for r in reasons],
                    dtype=pl.String,
                )
                for j in range(3)
            ],
            *[
                pl.Series(
                    f"reason_{j + 1}_feature",
                    [r[j] if len(r) > j else None for r in rs.features],
                    dtype=pl.String,
                )
                for j in range(3)
            ],
            pl.Series("lead_agency", leads, dtype=pl.String),
            pl.Series("lead_why", whys, dtype=pl.String),
            pl.Series("also_agencies", alsos, dtype=pl.String),
            pl.Series(ROLE_REASONS, by_role, dtype=pl.String),
        )
        .select(SCORE_COLUMNS)
    )


__all__ = [
    "explain",
    "Scored",
    "score_households",
    "scored",
]  # explain: hearth/modelling/training/explain.py, for every kind
