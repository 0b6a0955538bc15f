"""Score every household with the champion: rank, score, tier, reasons and a lead agency."""

from __future__ import annotations

import numpy as np
import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.publish.ranked import risk_tiers
from models.ensemble import LogOddsAverage, platt_slope
from models.metrics import rank_order
from models.reasons import contributions, lead_agency, top_reasons
from models.train import inner_estimator


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
    reason_features: list[list[str]] = [[] for _ in range(len(order))]
    if n_explain:
        Xe = X[explain_idx]
        contrib = explain(model, Xe)
        rs = top_reasons(contrib, Xe, feature_names, cat, recency_cap=recency_cap)
        for pos, i in enumerate(explain_idx):
            reasons[i] = rs.texts[pos]
            reason_features[i] = rs.features[pos]
            values = dict(zip(feature_names, Xe[pos], strict=True))
            leads[i] = lead_agency(values, rs.features[pos][0] if rs.features[pos] else None, cat)
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
        "reason_1_feature",
        "reason_2_feature",
        "reason_3_feature",
    )


def explain(model, X: np.ndarray) -> np.ndarray:
    """Per-row, per-feature contributions to the model's log-odds, for the reasons: an
    ensemble's are the mean of its members', each scaled by its calibration."""
    if isinstance(model, LogOddsAverage):
        return np.mean(
            [platt_slope(m) * contributions(inner_estimator(m), X) for m in model.members], axis=0
        )
    return contributions(inner_estimator(model), X)
