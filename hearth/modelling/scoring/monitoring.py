"""Monitoring between months: how much of this month's list was on last month's, what changed
it, and how far the scores and each feature have moved from the scoring model's training window.

- **Overlap**: the share of this month's top 1% (and top 5%) that was in last month's. Each
  household that entered or left is put under the first that applies: it is new to the area
  (or gone from it), someone moved in or out, it has new agency records since last month, or
  the model changed and last month's model, scoring this month's households, would have
  listed it (or not) as last month (`new_model`), or none of these: other households moved.
- **PSI** (population stability index) of a distribution against a reference:
  sum over bins of (current share - reference share) * ln(current share / reference share),
  bins from the reference (one per value when it has few values, else its deciles), a share
  never below `PSI_FLOOR`. Under 0.1 is usually read as stable, 0.1-0.25 as a shift worth a
  look, over 0.25 as a large shift (`PSI_LARGE`).
- The reference is the window the scoring model was fitted on (its training features, scored
  by the same model), so a shift says "the households scored now differ from those it learnt
  from"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from hearth.features.build import load_features
from hearth.features.design import cap_recency
from hearth.modelling.evaluation.metrics import rank_order
from hearth.modelling.scoring.ranking import top_count
from hearth.modelling.training.threads import predicting_threads
from hearth.months import month_start

if TYPE_CHECKING:  # the registry imports MLflow's client only when it is used
    from hearth.modelling.registry.client import Registry
from hearth.warehouse import query, query_one, run_sql

PSI_BINS = 10
PSI_FLOOR = 1e-4
PSI_LARGE = 0.25
PSI_SAMPLE = 200_000  # rows each side, evenly spaced: the index changes in the third decimal
SHARES = {"1pct": 0.01, "5pct": 0.05}
CAUSES = ("new_household", "moved", "new_records", "new_model", "no_change_of_its_own")
SHOWN_FEATURES = 10


def _edges(reference: np.ndarray, bins: int) -> np.ndarray:
    values = np.unique(reference)
    if len(values) <= bins:
        return values[1:]  # one bin per value seen (others fall in the bin below them)
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """The population stability index of `current` against `reference` (see the module)."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    reference, current = reference[np.isfinite(reference)], current[np.isfinite(current)]
    if not len(reference) or not len(current):
        return float("nan")
    edges = _edges(reference, bins)
    n_bins = len(edges) + 1
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=n_bins)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=n_bins)
    r = np.maximum(ref / ref.sum(), PSI_FLOOR)
    c = np.maximum(cur / cur.sum(), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _spaced(n: int, most: int | None = None) -> np.ndarray:
    most = most or PSI_SAMPLE
    return np.arange(n) if n <= most else np.linspace(0, n - 1, most).astype(int)


def feature_psi(reference: pl.DataFrame, current: pl.DataFrame, names: list[str]) -> dict:
    """Each feature's PSI, this month's households against the reference window's."""
    ri, ci = _spaced(reference.height), _spaced(current.height)
    out = {}
    for name in names:
        if name in reference.columns and name in current.columns:
            out[name] = psi(reference[name].to_numpy()[ri], current[name].to_numpy()[ci])
    return out


def _cause(pid: str, other: set[str], moved: set[str], records: set[str]) -> str:
    if pid not in other:
        return "new_household"
    if pid in moved:
        return "moved"
    if pid in records:
        return "new_records"
    return "no_change_of_its_own"


def _top(ranking: pl.DataFrame, share: float) -> set[str]:
    k = top_count(share, ranking.height)
    return set(ranking.filter(pl.col("rank") <= k)["household_pid"].to_list())


def overlap(
    current: pl.DataFrame,
    previous: pl.DataFrame,
    changes: pl.DataFrame,
    share: float,
    old_model_now: pl.DataFrame | None = None,
) -> dict:
    """Overlap of the top `share` of two rankings (household_pid, rank) and why households
    entered or left; `changes` has household_pid, new_records, moved (monitoring_changes).
    `old_model_now` is this month's households ranked by last month's model, when the model
    changed: a household with no change of its own that entered (left) because the new model
    does (does not) list it where the old one would not (would) is put under "new_model"."""
    k_now, k_before = top_count(share, current.height), top_count(share, previous.height)
    now, before = _top(current, share), _top(previous, share)
    old_top = _top(old_model_now, share) if old_model_now is not None else None
    moved = set(changes.filter(pl.col("moved"))["household_pid"].to_list())
    records = set(changes.filter(pl.col("new_records"))["household_pid"].to_list())
    listed_now, listed_before = set(current["household_pid"]), set(previous["household_pid"])
    entered = {c: 0 for c in CAUSES}
    for pid in now - before:
        cause = _cause(pid, listed_before, moved, records)
        if cause == "no_change_of_its_own" and old_top is not None and pid not in old_top:
            cause = "new_model"
        entered[cause] += 1
    left = {c: 0 for c in CAUSES}
    for pid in before - now:
        cause = _cause(pid, listed_now, moved, records)
        if cause == "no_change_of_its_own" and old_top is not None and pid in old_top:
            cause = "new_model"
        left[cause] += 1
    kept = len(now & before)
    return {
        "listed": k_now,
        "listed_last_month": k_before,
        "kept": kept,
        "share_kept": kept / k_now if k_now else float("nan"),
        "entered": entered,
        "left": left,
    }


def _changes(con: duckdb.DuckDBPyConnection, previous: str, as_of: str) -> pl.DataFrame:
    params = {
        "as_of": month_start(as_of),
        "as_of_month": as_of,
        "previous": month_start(previous),
        "previous_month": previous,
    }
    return query(con, "modelling/monitoring_changes", params).pl()


def previous_ranking(con: duckdb.DuckDBPyConnection, as_of: str) -> pl.DataFrame:
    if not query_one(con, "modelling/monitoring_history_exists")[0]:
        return pl.DataFrame()
    return query(con, "modelling/monitoring_previous", {"as_of": as_of}).pl()


def monitor(
    con: duckdb.DuckDBPyConnection,
    ranked: pl.DataFrame,
    as_of: str,
    model_version: str,
    scores_now: np.ndarray,
    features_now: pl.DataFrame,
    reference: tuple[str, pl.DataFrame, np.ndarray] | None,
    names: list[str],
    last_model: Callable[[str], pl.DataFrame | None] = lambda _: None,
) -> dict:
    """The month's monitoring report (a dict that goes to MLflow, the warehouse and the
    report). `ranked` has household_pid and rank; `reference` is (as_of, its features, the
    model's scores there) or None when the training window's features are not kept;
    `last_model(version)` ranks this month's households by that earlier version, or None."""
    report: dict = {"as_of": as_of, "model_version": str(model_version)}
    prev = previous_ranking(con, as_of)
    if prev.height:
        before = prev["as_of"][0]
        last_version = str(prev["model_version"][0])
        changes = _changes(con, before, as_of)
        new_model = last_version != str(model_version)
        old_now = last_model(last_version) if new_model else None
        report |= {
            "previous_as_of": before,
            "previous_model_version": last_version,
            "new_model_version": new_model,
            "old_model_compared": old_now is not None,
            "overlap": {
                name: overlap(ranked, prev, changes, share, old_now)
                for name, share in SHARES.items()
            },
        }
    if reference is not None:
        ref_as_of, ref_features, ref_scores = reference
        shifts = feature_psi(ref_features, features_now, names)
        large = sorted(
            ((v, n) for n, v in shifts.items() if v == v and v > PSI_LARGE), reverse=True
        )
        top = sorted(((v, n) for n, v in shifts.items() if v == v), reverse=True)
        report |= {
            "reference_as_of": ref_as_of,
            "score_psi": psi(ref_scores, scores_now),
            "features_compared": len(shifts),
            "features_large_shift": len(large),
            "feature_psi": {n: v for n, v in shifts.items() if v == v},
            "most_shifted": [[n, v] for v, n in top[:SHOWN_FEATURES]],
        }
    return report


def store(
    con: duckdb.DuckDBPyConnection, ranked: pl.DataFrame, as_of: str, version: str, report: dict
) -> None:
    """Keep this month's ranking for next month and its report for the published page."""
    con.register("monitoring_frame", ranked.select("household_pid", "rank", "score"))
    try:
        run_sql(
            con,
            "modelling/monitoring_store",
            {
                "as_of": as_of,
                "model_version": str(version),
                "report": json.dumps(report),
            },
        )
    finally:
        con.unregister("monitoring_frame")


def load_report(con: duckdb.DuckDBPyConnection, as_of: str) -> dict | None:
    """The stored monitoring report of `as_of` without its per-feature table, or None."""
    if not query_one(con, "modelling/monitoring_load_exists")[0]:
        return None
    row = query_one(con, "modelling/monitoring_load", {"as_of": as_of})
    if not row:
        return None
    report = json.loads(row[0])
    report.pop("feature_psi", None)
    return report


def monitoring_metrics(report: dict) -> dict[str, float]:
    """The report as MLflow metrics (`monitoring.*`)."""
    out: dict[str, float] = {}
    for name, o in (report.get("overlap") or {}).items():
        out[f"monitoring.overlap_top_{name}"] = float(o["share_kept"])
        for way in ("entered", "left"):
            for cause, n in o[way].items():
                out[f"monitoring.{way}_top_{name}.{cause}"] = float(n)
    if "new_model_version" in report:
        out["monitoring.new_model_version"] = float(report["new_model_version"])
    if "score_psi" in report:
        out["monitoring.score_psi"] = float(report["score_psi"])
        out["monitoring.features_large_shift"] = float(report["features_large_shift"])
        for n, v in report["feature_psi"].items():
            out[f"monitoring.feature_psi.{n}"] = float(v)
    return {k: v for k, v in out.items() if np.isfinite(v)}


PREDICT_ROWS = 100_000  # households scored at a time (a million at once is a 1 GB array)


def predict_in_chunks(model, frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    """The model's scores of every row of `frame`, a chunk of rows at a time (each row's
    score is its own, so the chunks change nothing)."""
    with predicting_threads():
        out = [
            model.predict_proba(
                frame.slice(start, PREDICT_ROWS).select(names).to_numpy().astype(np.float32)
            )[:, 1]
            for start in range(0, frame.height, PREDICT_ROWS)
        ]
    return np.concatenate(out) if out else np.zeros(0)


def reference_window(
    con: duckdb.DuckDBPyConnection, as_of: str | None, model, names: list[str], cap: int
) -> tuple[str, pl.DataFrame, np.ndarray] | None:
    """The scoring model's training window: the features PSI compares (`feature_psi`'s evenly
    spaced households in household order, "months since" capped as at scoring) and the
    model's scores of every household there; None when that window's features are no longer
    kept. Only the model's columns are read, and only the sample is kept."""
    if not as_of:
        return None
    try:
        feats = load_features(con, as_of, ["household_pid", *names])
    except FileNotFoundError:
        return None
    if feats is None:
        return None  # kept by an older catalogue: not comparable feature by feature
    feats = cap_recency(feats, cap)
    scores = predict_in_chunks(model, feats, names)
    by_household = feats["household_pid"].arg_sort()
    sample = feats.select(names)[by_household.gather(_spaced(feats.height)).to_numpy()]
    return as_of, sample, scores


def rank_by_version(
    version: str, features_now: pl.DataFrame, registry: Registry
) -> pl.DataFrame | None:
    """This month's households ranked by an earlier model version (its own features and
    "months since" cap), or None if it cannot score them (features no longer built)."""
    from mlflow.exceptions import MlflowException  # mlflow

    try:
        model, names, champ = registry.load_champion(version)
    except (LookupError, MlflowException):  # a version deleted from the registry
        return None
    if any(n not in features_now.columns for n in names):
        return None
    frame = cap_recency(features_now, int(champ.tags.get("recency_cap", 36)))
    scores = predict_in_chunks(model, frame, names)  # on PREDICT_THREADS, as the list
    pids = frame["household_pid"].to_numpy()
    order = rank_order(scores, pids)
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return pl.DataFrame({"household_pid": pids, "rank": ranks})


def log_monitoring(report: dict, registry: Registry, run_tags: dict[str, str]) -> str:
    """One MLflow run per month's scoring, beside the training runs; returns its id."""
    tags = {**run_tags, "kind": "monitoring", "model_version": report["model_version"]}
    name = f"monitoring {report['as_of']}"
    about = (
        f"How the list scored at {report['as_of']} moved since last month "
        "(hearth/modelling/scoring/monitoring.py)."
    )
    with registry.start_run(name, tags, about) as run:
        mlflow = registry.mlflow
        mlflow.log_params(
            {
                k: report.get(k, "none")
                for k in ("as_of", "previous_as_of", "reference_as_of", "model_version")
            }
        )
        metrics = monitoring_metrics(report)
        if metrics:
            mlflow.log_metrics(metrics)
        return run.info.run_id


def list_sample(features: pl.DataFrame, ranked: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """`names` of the listed households in list order, only the evenly spaced ones
    `feature_psi` reads (the whole frame joined to the list would be another copy of every
    feature of every household)."""
    rows = (
        features.select("household_pid")
        .with_row_index("row")
        .join(ranked.select("household_pid").with_row_index("at"), on="household_pid")
        .sort("at")["row"]
    )
    return features.select(names)[rows.gather(_spaced(len(rows))).to_numpy()]


def monitor_month(
    con: duckdb.DuckDBPyConnection,
    ranked: pl.DataFrame,
    as_of: str,
    features_now: pl.DataFrame,
    model,
    names: list[str],
    champ,
    cap: int,
    registry: Registry,
    run_tags: dict[str, str],
    log_to: Registry | None = None,
) -> dict:
    """Everything the household_scores asset does for monitoring: compare with last month and
    with the champion's training window (`champ` is its MLflow model version), log the
    metrics to MLflow, and keep this month's ranking and report in the warehouse. `registry`
    holds the models; `log_to` (default the same) is where the month's run is logged: an
    authority of a partnership reads the partnership's models and logs in its own store."""
    ref_as_of = champ.tags.get("refit_as_of")
    if not ref_as_of:
        ref_as_of = registry.run(champ.run_id).data.params.get("train_as_of")
    report = monitor(
        con,
        ranked,
        as_of,
        str(champ.version),
        ranked["score"].to_numpy(),
        list_sample(features_now, ranked, names),
        reference_window(con, ref_as_of, model, names, cap),
        names,
        lambda version: rank_by_version(version, features_now, registry),
    )
    report["mlflow_run_id"] = log_monitoring(report, log_to or registry, run_tags)
    store(con, ranked, as_of, str(champ.version), report)
    return report
