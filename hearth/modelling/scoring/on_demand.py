"""Households of a published list explained when someone asks for them (`hearth publish --top N`
or `hearth plan --top N` beyond the ranks the scoring step explained): the scoring step words
only what the published outputs show by default (`household_scores`: ranks beyond stay scored
and ranked with null words), so the cost of explaining follows the list, not the population.

The missing ranks are explained from what scored the list, kept: the registry's model version
that scored it (by its number, not whatever @champion is now) and the scoring month's feature
set beside the warehouse, with the scorer's own code (`score.explain_ranks`), so the words are
those eager explaining would have given. When either is gone, `Unexplainable` says so in a
sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from hearth.features.build import features_folders
from hearth.features.design import cap_recency
from hearth.modelling.scoring.score import explain_ranks, explained_through, with_words


class Unexplainable(Exception):
    """The missing ranks cannot be explained again, in a sentence."""


@dataclass(frozen=True)
class KeptScorer:
    """What scored a list: its model, the model's feature names, the recency cap it read, and
    the scoring month's features of the households asked for."""

    model: object
    names: list[str]
    cap: int
    features: pl.DataFrame


def kept_scorer(
    registry,
    version: str | None,
    warehouse: Path,
    as_of: str,
    pids: list[str],
    run_id: str | None = None,
) -> KeptScorer:
    """The model version that scored the list of `as_of` (from `registry`, a
    hearth.modelling.registry.client.Registry; `run_id`, the list's record of the run that
    logged it, when it has one: a version of that number from another run is refused) and the
    features of `pids` at `as_of` (from the warehouse's feature folders)."""
    if not version:
        raise Unexplainable(
            f"The list of {as_of} does not say which model version scored it, so its "
            "unexplained households cannot be explained now; run the pipeline again to "
            "publish a list explained that far."
        )
    try:
        mv = registry.version(version)
        model = registry.load_estimator(registry.version_uri(mv.version))
    except Exception as e:  # noqa: BLE001 - gone from the registry, or its files are
        why = (
            "is no longer in the model registry"
            if isinstance(e, LookupError)
            else (f"cannot be loaded ({type(e).__name__})")
        )
        raise Unexplainable(
            f"Version {version} of the model, which scored the list of {as_of}, {why}, so "
            "households beyond the explained ranks cannot be explained; run the pipeline again "
            "to publish a list explained that far."
        ) from None
    if run_id and getattr(mv, "run_id", run_id) != run_id:
        raise Unexplainable(
            f"Version {version} in this model registry is not the model that scored the list "
            f"of {as_of} (it was logged by another run), so households beyond the explained "
            "ranks cannot be explained; for an authority of a partnership, set "
            "HEARTH_PARTNERSHIP_MODEL to the partnership's model store."
        )
    names = registry.feature_names(mv)
    cap = int(mv.tags.get("recency_cap", 36))
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            folders = features_folders(con)
    except duckdb.Error as e:
        raise Unexplainable(
            f"The warehouse could not be read ({type(e).__name__}); if a run is in progress, "
            "try again when it has finished."
        ) from None
    files = [f / f"features_{as_of}.parquet" for f in folders]
    if not all(f.exists() for f in files):
        raise Unexplainable(
            f"The features of {as_of}, from which the list was scored, are no longer kept "
            "(each run keeps its own months' only), so households beyond the explained ranks "
            "cannot be explained; run the pipeline again to publish a list explained that far."
        )
    wanted = pl.Series(pids, dtype=pl.String)
    frame = pl.concat(
        [
            pl.scan_parquet(f).filter(pl.col("household_pid").is_in(wanted.implode())).collect()
            for f in files
        ],
        how="diagonal_relaxed",
    )
    if "as_of" in frame.columns:
        frame = frame.drop("as_of")
    return KeptScorer(model, names, cap, cap_recency(frame, cap))


def explain_missing(
    rows: pl.DataFrame, n: int, scorer: KeptScorer, only: pl.Series | None = None
) -> pl.DataFrame:
    """`rows` (households of a list of `n`, with household_pid, rank, score and the words)
    with words for every household that had none (of them, those in `only` when given),
    worked out by `scorer`."""
    missing = rows.filter(pl.col("reason_1").is_null())
    if only is not None:
        missing = missing.filter(pl.col("household_pid").is_in(only.implode()))
    missing = missing.select("household_pid", "rank", "score")
    if missing.is_empty():
        return rows
    try:
        explained = explain_ranks(
            scorer.model, scorer.names, scorer.features, missing, n, recency_cap=scorer.cap
        )
    except ValueError as e:
        raise Unexplainable(str(e)) from None
    return with_words(rows, explained)


def explain_published(
    rows: pl.DataFrame, n: int, summary: dict, only: pl.Series | None = None
) -> pl.DataFrame:
    """`rows` of a published list of `n` households (its run_summary.json: `summary`) with
    words for those that had none (of them, those in `only` when given), from the model
    version that scored the list and the scoring month's features under HEARTH_HOME (the
    partnership's model store for an authority that scores with it)."""
    from hearth import settings
    from hearth.modelling.registry.client import Registry  # mlflow

    asked = rows if only is None else rows.filter(pl.col("household_pid").is_in(only.implode()))
    pids = unexplained(asked)
    if not pids:
        return rows
    as_of = str(summary.get("as_of") or "")
    model = summary.get("model") or {}
    registry = Registry(settings.partnership_model_uri() or settings.mlflow_tracking_uri())
    scorer = kept_scorer(
        registry, model.get("version"), settings.warehouse_path(), as_of, pids, model.get("run_id")
    )
    return explain_missing(rows, n, scorer, only=pl.Series(pids, dtype=pl.String))


def unexplained(rows: pl.DataFrame) -> list[str]:
    """The households of `rows` that have no words yet."""
    return rows.filter(pl.col("reason_1").is_null())["household_pid"].to_list()


__all__ = [
    "KeptScorer",
    "Unexplainable",
    "explain_missing",
    "explain_published",
    "explained_through",
    "kept_scorer",
    "unexplained",
]
