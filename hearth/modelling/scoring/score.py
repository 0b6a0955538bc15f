"""Score every household with the champion: rank, score, tier, reasons, a lead agency and the
other services with a part ("also"), for every household, so that a list of any length
published from it is explained (`hearth publish --top 2000`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from hearth.features.catalogue import load_catalogue
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


def score_households(
    model,
    feature_names: list[str],
    frame: pl.DataFrame,
    recency_cap: int | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> pl.DataFrame:
    """The ranked list, every household explained: the contributions of a chunk of households
    at once (`explain`), their reasons and leads in words remembered by the values they are
    worded from (`reasons.Words`). `progress(done, total)` after each chunk."""
    cat = load_catalogue()
    X = frame.select(feature_names).to_numpy().astype(np.float32, copy=False)
    pids = frame["household_pid"].to_numpy()
    scores = model.predict_proba(X)[:, 1]
    order = rank_order(scores, pids)
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    n = len(order)
    reasons: list[list[str]] = [[] for _ in range(n)]
    reason_features: list[list[str]] = [[] for _ in range(n)]
    leads: list[str | None] = [None] * n
    whys: list[str | None] = [None] * n
    alsos: list[str | None] = [None] * n
    by_role: list[str | None] = [None] * n
    # every catalogue feature of the household, not only the model's: the kinds of record
    # behind a theme and the facts the lead rules read; a chunk at a time in list order (a
    # million households' features as Python values would fill gigabytes)
    known = [c for c in cat.names if c in frame.columns]
    words = Words(cat, recency_cap, cat.roles)
    for start in range(0, n, EXPLAIN_CHUNK):
        chunk = order[start : start + EXPLAIN_CHUNK]
        Xe = X[chunk]
        values = frame[chunk.tolist()].select(known).to_dicts()
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
        for pos, i in enumerate(chunk):
            # a household with no fact that raised its estimate says so (no empty row)
            reasons[i] = rs.texts[pos] or [NO_REASON]
            reason_features[i] = rs.features[pos]
            lead = lead_agency(values[pos], rs.features[pos], cat, recency_cap)
            also = also_leads(values[pos], lead, cat, recency_cap)
            leads[i], whys[i] = lead.lead, lead.why
            alsos[i] = also_words(alsos_as_role(also, None, values[pos], cat, recency_cap))
            by_role[i] = encode_role_reasons(
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
        progress(min(start + EXPLAIN_CHUNK, n), n)
    out = frame.select("household_pid", "la_code", "ward_code", "lsoa_code").with_columns(
        pl.Series("rank", ranks),
        pl.Series("score", scores),
        pl.Series("risk_tier", risk_tiers(ranks, len(ranks))),
        *[
            pl.Series(
                f"reason_{j + 1}", [r[j] if len(r) > j else None for r in reasons], dtype=pl.String
            )
            for j in range(3)
        ],
        *[
            pl.Series(
                f"reason_{j + 1}_feature",
                [r[j] if len(r) > j else None for r in reason_features],
                dtype=pl.String,
            )
            for j in range(3)
        ],
        pl.Series("lead_agency", leads, dtype=pl.String),
        pl.Series("lead_why", whys, dtype=pl.String),
        pl.Series("also_agencies", alsos, dtype=pl.String),
        pl.Series(ROLE_REASONS, by_role, dtype=pl.String),
    )
    return out.sort("rank").select(SCORE_COLUMNS)


__all__ = [
    "explain",
    "score_households",
]  # explain: hearth/modelling/training/explain.py, for every kind
