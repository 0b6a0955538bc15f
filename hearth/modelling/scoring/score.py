"""Score every household with the champion: rank, score, tier, reasons and a lead agency."""

from __future__ import annotations

import numpy as np
import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.modelling.evaluation.metrics import rank_order
from hearth.modelling.scoring.ranking import ROLE_REASONS, encode_role_reasons, risk_tiers
from hearth.modelling.scoring.reasons import lead_agency, lead_as_role, top_reasons
from hearth.modelling.training.explain import explain

EXPLAIN_CHUNK = 5000  # households explained at a time


def score_households(
    model,
    feature_names: list[str],
    frame: pl.DataFrame,
    explain_share: float = 0.05,
    explain_min: int = 1000,
    recency_cap: int | None = None,
) -> pl.DataFrame:
    """The ranked list. Reasons are worked out for the households that will be read (the top
    `explain_share`, at least `explain_min`); explaining a million costs minutes for nothing."""
    cat = load_catalogue()
    X = frame.select(feature_names).to_numpy().astype(np.float32, copy=False)
    pids = frame["household_pid"].to_numpy()
    scores = model.predict_proba(X)[:, 1]
    order = rank_order(scores, pids)
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    n_explain = min(len(order), max(explain_min, int(np.ceil(explain_share * len(order)))))
    explain_idx = order[:n_explain]
    reasons = [[] for _ in range(len(order))]
    leads = [""] * len(order)
    whys: list[str | None] = [None] * len(order)
    by_role: list[str | None] = [None] * len(order)
    reason_features: list[list[str]] = [[] for _ in range(len(order))]
    # every catalogue feature of the household, not only the model's: the kinds of record
    # behind a theme and the facts the lead rules read; a chunk at a time (a million
    # households explain 50,000, whose features as Python values would fill gigabytes)
    known = [c for c in cat.names if c in frame.columns]
    for start in range(0, n_explain, EXPLAIN_CHUNK):
        chunk = explain_idx[start : start + EXPLAIN_CHUNK]
        Xe = X[chunk]
        contrib = explain(model, Xe)
        values = frame[chunk.tolist()].select(known).to_dicts()
        rs = top_reasons(
            contrib, Xe, feature_names, cat, recency_cap=recency_cap, values=values, roles=cat.roles
        )
        for pos, i in enumerate(chunk):
            reasons[i] = rs.texts[pos]
            reason_features[i] = rs.features[pos]
            lead = lead_agency(values[pos], rs.features[pos], cat, recency_cap)
            leads[i], whys[i] = lead.lead, lead.why
            by_role[i] = encode_role_reasons(
                {
                    role: (
                        rs.by_role[pos][role],
                        lead_as_role(lead, role, values[pos], cat, recency_cap),
                    )
                    for role in cat.roles
                }
            )
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
        pl.Series("lead_agency", [x or None for x in leads], dtype=pl.String),
        pl.Series("lead_why", whys, dtype=pl.String),
        pl.Series(ROLE_REASONS, by_role, dtype=pl.String),
    )
    return out.sort("rank").select(
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
        "reason_1_feature",
        "reason_2_feature",
        "reason_3_feature",
        ROLE_REASONS,
    )


__all__ = [
    "explain",
    "score_households",
]  # explain: hearth/modelling/training/explain.py, for every kind
