"""A small scored world published in every role's view, without Dagster: households with
records of every kind (their features built the way the warehouse builds them), a quick model,
`score_households`, and everything people receive (`write_ranked`, `write_deliverables` with
visit plans for a team of each agency).

Self-contained on purpose (no `tests.*` import): run as a script with another checkout's
`hearth` first on PYTHONPATH, it publishes that version's outputs, for a before/after
measurement (`tests/support/role_words.py`):

    PYTHONPATH=/path/to/other/checkout python tests/support/role_world.py OUT_FOLDER
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

CAP = 36
CAPACITY = """teams:
  - {team: Fire safe and well, agency: fire, visits_per_month: 60}
  - {team: Community health, agency: health, visits_per_month: 60}
  - {team: Early help hub, agency: social_care, visits_per_month: 60}
  - {team: Police MARAC, agency: police, visits_per_month: 60}
"""


def feature_world(n: int = 2000, seed: int = 5) -> pl.DataFrame:
    """Households with records of every kind at random months in the last three years, and
    their counts, trends, months since, themes and derived features as build.py makes them."""
    from hearth.features.build import recording_columns, theme_columns
    from hearth.features.catalogue import NO_EVENT_MONTHS, load_catalogue

    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for f in cat.features:
        if f.kind != "recency" or f.members:
            continue
        k = rng.poisson(rng.uniform(0.05, 0.5), n).clip(max=6)
        months = rng.integers(0, 36, size=(n, 6))  # months before the as-of date
        held = np.arange(6)[None, :] < k[:, None]
        for w in cat.windows:
            cols[f"{f.key}_{w}m"] = ((months < w) & held).sum(1)
        before = ((months >= 12) & (months < 24) & held).sum(1)
        cols[f"{f.key}_trend"] = cols[f"{f.key}_12m"] - before
        cols[f"{f.key}_months_since"] = np.where(held, months, NO_EVENT_MONTHS).min(1)
    residents = rng.integers(1, 6, n)
    cols |= {
        "residents": residents,
        "children": rng.integers(0, 3, n) * (residents > 1),
        "over_75s": rng.integers(0, 2, n),
        "lives_alone": (residents == 1).astype(int),
        "oldest_age": rng.integers(20, 95, n),
        "imd_decile": rng.integers(1, 11, n),
        "social_rented": rng.integers(0, 2, n),
        "flat": rng.integers(0, 2, n),
        "moved_in_last_year": rng.integers(0, 2, n),
    }
    # how surely records were linked: some households' records mostly below high confidence
    shares = [f for f in cat.features if f.kind == "confidence"]
    for f in shares:
        cols[f.name] = rng.choice([0.0, 0.0, 0.0, 0.25, 0.8, 1.0], n)
    frame = pl.DataFrame({k: v.astype(np.float32) for k, v in cols.items()})
    frame = frame.with_columns(theme_columns(cat))
    da = pl.col("domestic_abuse_12m") + pl.col("domestic_abuse_medium_12m")
    agencies = [
        pl.sum_horizontal([pl.col(f"{f.key}_12m") for f in cat.features if f.agency == a and f.key])
        > 0
        for a in ("health", "social_care", "fire", "police")
    ]
    frame = frame.with_columns(
        ((pl.col("smoker_recorded_12m") > 0) & (pl.col("smoke_alarm_fitted_12m") == 0))
        .cast(pl.Float32)
        .alias("smoker_without_alarm"),
        ((da + pl.col("domestic_abuse_high_12m") > 0) & (pl.col("children") > 0))
        .cast(pl.Float32)
        .alias("abuse_with_children"),
        pl.sum_horizontal([a.cast(pl.Float32) for a in agencies]).alias("agencies_involved_12m"),
    )
    ids = pl.DataFrame(
        {
            "household_pid": [f"{i:064x}" for i in range(n)],
            "la_code": ["E06000901", "E06000902"] * (n // 2) + ["E06000901"] * (n % 2),
            "ward_code": ["E05901001"] * n,
            "lsoa_code": ["E01900001"] * n,
        }
    )
    # each agency's records in all and their area means, as build.py makes them
    frame = recording_columns(cat, ids.hstack(frame))
    return frame.select([*ids.columns, *cat.names])


def scored_world(n: int = 2000, seed: int = 5) -> pl.DataFrame:
    """The ranked list of `feature_world`, scored by a quick model whose crises follow
    several agencies' records, so every kind of reason and lead turns up."""
    from hearth.features.catalogue import load_catalogue
    from hearth.modelling.scoring.score import score_households
    from hearth.modelling.training.fit import make_estimator
    from hearth.modelling.training.params import TrainParams

    cat = load_catalogue()
    frame = feature_world(n, seed)
    # a model on part of the catalogue (quick to fit): reasons and leads still read every
    # feature of the household
    names = [
        f.name
        for f in cat.features
        if f.kind in ("household", "derived", "recency") or (f.kind == "count" and f.window == 12)
    ]
    rng = np.random.default_rng(8)
    logit = (
        -3.5
        + 0.8 * frame["crisis_records_12m"]
        + 0.5 * frame["domestic_abuse_records_12m"]
        + 1.2 * frame["smoker_without_alarm"]
        + 0.6 * frame["asb_12m"]
        + 0.6 * frame["ae_fall_12m"] * frame["over_75s"]
        + 0.5 * frame["copd_register_36m"]
        + 0.4 * frame["smoker_recorded_12m"]
    ).to_numpy()
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = frame.select(names).to_numpy()
    model = make_estimator("gradient_boosting", TrainParams(max_iter=30), names).fit(X, y)
    return score_households(model, names, frame, recency_cap=CAP)


def publish_world(folder: Path, ranked: pl.DataFrame, top: float = 0.15) -> None:
    """Everything people receive from `ranked`, into `folder`: the ranked list, the main
    workbook, the report, every role's view and a visit plan for a team of each agency."""
    from hearth.modelling.scoring.reasons import lead_agencies
    from hearth.publish.deliver import write_deliverables
    from hearth.publish.outputs import write_ranked
    from hearth.publish.ranked import with_area_names

    folder.mkdir(parents=True, exist_ok=True)
    capacity = folder.parent / f"{folder.name}-capacity.yaml"
    capacity.write_text(CAPACITY, encoding="utf-8")
    summary = {
        "as_of": "2026-01",
        "generated_at": "2026-02-01T09:00:00+00:00",
        "households_scored": ranked.height,
        "risk_tiers": {t: int((ranked["risk_tier"] == t).sum()) for t in ranked["risk_tier"]},
        "model": {"name": "household_crisis_risk", "version": "1"},
    }
    ranked = with_area_names(ranked)  # as the pipeline names the areas before it publishes
    write_ranked(folder, ranked)
    leads = lead_agencies()  # each lead's agency, as the lead rules declare it
    write_deliverables(folder, ranked, summary, top=top, capacity=capacity, leads=leads)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    publish_world(out, scored_world())
    print(f"Published a scored world of 2,000 households into {out}")
