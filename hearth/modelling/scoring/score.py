"""Score every household with the champion: rank, score and tier for every household, and for
the ranks a list shows (`scored(explain_to=...)`; all by default) the reasons, a lead agency
and the other services with a part ("also"). The pipeline explains as far as the published
outputs show by default (hearth/publish/deliver.py: shown_by_default); a longer list
(`hearth publish --top 2000`) is explained on demand with the same code (`explain_ranks`,
hearth/modelling/scoring/on_demand.py), so its words are those eager explaining gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from hearth.features.catalogue import Catalogue, load_catalogue
from hearth.features.wording import NO_REASON
from hearth.modelling.evaluation.metrics import rank_order
from hearth.modelling.scoring.ranking import (
    ROLE_REASONS,
    encode_role_reasons,
    explained_through,
    risk_tiers,
)
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
# the columns a household's explaining fills (null where the list is scored, not explained)
WORD_COLUMNS = tuple(c for c in SCORE_COLUMNS[7:])


@dataclass
class Scored:
    """The scores at once and the explained list in pieces: `ranking` (household_pid, rank,
    score, in rank order) for the gate, the hold-out and monitoring; `chunks`, the list's
    `SCORE_COLUMNS` a chunk of households at a time in rank order, worked out as they are read
    (so a million households' words are never all in memory: the caller stores each chunk),
    the first `explain_to` ranks explained; `explained(k)`, the same pieces explained to rank
    k instead (once the caller knows how far the list's outputs read: the hold-out decides)."""

    ranking: pl.DataFrame
    explain_to: int | None
    _pieces: Callable[[int | None], Iterator[pl.DataFrame]]

    @property
    def chunks(self) -> Iterator[pl.DataFrame]:
        return self._pieces(self.explain_to)

    def explained(self, explain_to: int | None) -> Iterator[pl.DataFrame]:
        return self._pieces(explain_to)


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
    explain_to: int | None = None,
) -> Scored:
    """Every household scored and ranked, and the first `explain_to` ranks (every rank by
    default) explained a chunk at a time: the contributions of a chunk of households at once
    (`explain`), their reasons and leads in words remembered by the values they are worded
    from (`reasons.Words`). Ranks beyond `explain_to` keep their rank, score, tier and areas
    with null words (`explain_ranks` explains them later, with the same words).
    `progress(done, total)` after each chunk."""
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

    def chunks(explain_to: int | None) -> Iterator[pl.DataFrame]:
        upto = n if explain_to is None else max(0, min(int(explain_to), n))
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            rows = order[start:stop]
            ranks = np.arange(start + 1, stop + 1, dtype=np.int64)
            if stop <= upto:
                with predicting_threads():  # not held while the caller stores the chunk
                    piece = _explained(
                        model, feature_names, frame, X, scores[rows], rows, ranks, n,
                        recency_cap, cat, words,
                    )  # fmt: skip
            elif start >= upto:
                piece = _unexplained(frame, scores[rows], rows, ranks, n)
            else:  # the chunk the explained ranks end in
                cut = upto - start
                with predicting_threads():
                    head = _explained(
                        model, feature_names, frame, X, scores[rows[:cut]], rows[:cut],
                        ranks[:cut], n, recency_cap, cat, words,
                    )  # fmt: skip
                tail = _unexplained(frame, scores[rows[cut:]], rows[cut:], ranks[cut:], n)
                piece = pl.concat([head, tail])
            yield piece
            progress(stop, n)

    return Scored(ranking, explain_to, chunks)


def explain_ranks(
    model,
    feature_names: list[str],
    frame: pl.DataFrame,
    wanted: pl.DataFrame,
    n: int,
    recency_cap: int | None = None,
    chunk_size: int = EXPLAIN_CHUNK,
) -> pl.DataFrame:
    """The rows of a scored list of `n` households for the households of `wanted`
    (household_pid, rank, score: rows the list kept unexplained), explained now with the code
    that explains them eagerly (`scored`), so their words are those `scored` would have
    given: the model that scored the list and the scoring month's features (`frame`, every
    household or at least those wanted) are the ones it used. A household missing from
    `frame` is a ValueError in a sentence."""
    if wanted.is_empty():
        return pl.DataFrame(schema=_unexplained(frame.head(0), np.zeros(0), np.zeros(0, np.int64),
                                                np.zeros(0, np.int64), n).schema)  # fmt: skip
    wanted = wanted.sort("rank")
    at = frame.select("household_pid").with_row_index("_row")
    rows = wanted.select("household_pid").join(at, on="household_pid", how="left")["_row"]
    if rows.null_count():
        raise ValueError(
            f"{rows.null_count():,} of the {wanted.height:,} households to explain are not in "
            "the scoring month's features, so their reasons cannot be worked out again."
        )
    rows = rows.to_numpy().astype(np.int64)
    cat = load_catalogue()
    words = Words(cat, recency_cap, cat.roles)
    pieces = []
    for start in range(0, len(rows), chunk_size):
        part = rows[start : start + chunk_size]
        got = wanted.slice(start, chunk_size)
        X = frame.select(feature_names).gather(part).to_numpy().astype(np.float32, copy=False)
        sub = frame.select(pl.all().gather(part))
        with predicting_threads():
            pieces.append(
                _explained(
                    model,
                    feature_names,
                    sub,
                    X,
                    got["score"].to_numpy(),
                    np.arange(len(part)),
                    got["rank"].to_numpy().astype(np.int64),
                    n,
                    recency_cap,
                    cat,
                    words,
                )  # fmt: skip
            )
    return pl.concat(pieces)


def with_words(rows: pl.DataFrame, explained: pl.DataFrame) -> pl.DataFrame:
    """`rows` (any columns of the list, in any order) with the words of `explained`
    (`explain_ranks`'s rows) for the households it explains; the other rows as they were."""
    if explained.is_empty():
        return rows
    cols = [c for c in WORD_COLUMNS if c in rows.columns]
    return rows.update(explained.select("household_pid", *cols), on="household_pid", how="left")


def _unexplained(
    frame: pl.DataFrame, scores: np.ndarray, chunk: np.ndarray, ranks: np.ndarray, n: int
) -> pl.DataFrame:
    """Rows of the list that are scored and ranked but not explained: every word null."""
    return (
        frame.select(pl.col("household_pid", "la_code", "ward_code", "lsoa_code").gather(chunk))
        .with_columns(
            pl.Series("rank", ranks, dtype=pl.Int64),
            pl.Series("score", scores),
            pl.Series("risk_tier", risk_tiers(ranks, n), dtype=pl.String),
            *[pl.lit(None, dtype=pl.String).alias(c) for c in WORD_COLUMNS],
        )
        .select(SCORE_COLUMNS)
    )


def _explained(
    model,
    feature_names: list[str],
    frame: pl.DataFrame,
    X: np.ndarray,
    chunk_scores: np.ndarray,
    chunk: np.ndarray,
    ranks: np.ndarray,
    n: int,
    recency_cap: int | None,
    cat: Catalogue,
    words: Words,
) -> pl.DataFrame:
    """The rows of the list of `n` at `ranks` (`chunk`: their rows of `frame` and `X`, best
    first; `chunk_scores`: their scores), explained."""
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
    sayer = words.say  # the lead rules' words, remembered by the values they read
    for pos in range(len(chunk)):
        # a household with no fact that raised its estimate says so (no empty row)
        reasons.append(rs.texts[pos] or [NO_REASON])
        v = values[pos]
        lead = lead_agency(v, rs.features[pos], cat, recency_cap, sayer)
        also = also_leads(v, lead, cat, recency_cap, sayer)
        leads.append(lead.lead)
        whys.append(lead.why)
        alsos.append(also_words(alsos_as_role(also, None, v, cat, recency_cap, sayer)))
        by_role.append(
            encode_role_reasons(
                {
                    role: (
                        rs.by_role[pos][role],
                        lead_as_role(lead, role, v, cat, recency_cap, sayer),
                    )
                    for role in cat.roles
                },
                {role: alsos_as_role(also, role, v, cat, recency_cap, sayer) for role in cat.roles},
            )
        )
    return (
        rows.select("household_pid", "la_code", "ward_code", "lsoa_code")
        .with_columns(
            pl.Series("rank", ranks, dtype=pl.Int64),
            pl.Series("score", chunk_scores),
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
    "explain_ranks",
    "explained_through",
    "Scored",
    "WORD_COLUMNS",
    "score_households",
    "scored",
]  # explain: hearth/modelling/training/explain.py, for every kind
