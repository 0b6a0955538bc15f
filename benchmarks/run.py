"""End-to-end benchmark: synthesise a world, run the whole pipeline through Dagster, run the
same compute bare, and compare the model with the oracle. Run by hand, never in CI:

    .venv/bin/python -m benchmarks.run --households 100000
    .venv/bin/python -m benchmarks.run --households 1000000

Writes benchmarks/results/<date>-<households>.json and prints a summary."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.memory import TreeMemory

RESULTS = Path(__file__).resolve().parent / "results"
# Checked in this order: the expectation checks of every source run in one `quality_gate` step.
STAGES = {
    "checks": "quality_gate",
    "ingest": "_extract",
    "link": "linked_events",
    "features": "feature_sets",
    "train_evaluate": "champion_model",
    "score": "household_scores",
    "publish": "published_outputs",
}


def _stage_of(step: str) -> str:
    for stage, marker in STAGES.items():
        if marker in step:
            return stage
    return "other"


def expected_quality(truth: Path, scores: pl.DataFrame, as_of: str, share: float = 0.01) -> dict:
    """Expected precision and recall at `share` of the model's ranking and of the oracle's
    (ranking by the truth's p_crisis_12m), over the same households."""
    t = pl.read_parquet(truth / "households.parquet").filter(pl.col("as_of") == as_of)
    joined = scores.join(t, on="household_pid", how="inner")
    n = joined.height
    k = max(1, int(np.ceil(share * n)))
    total = joined["p_crisis_12m"].sum()
    model_top = joined.sort(["score", "household_pid"], descending=[True, False]).head(k)
    oracle_top = joined.sort("p_crisis_12m", descending=True).head(k)
    full_top = joined.sort("p_crisis_12m_full", descending=True).head(k)
    out = {
        "as_of": as_of,
        "households": n,
        "k": k,
        "model_expected_precision": float(model_top["p_crisis_12m"].mean()),
        "oracle_expected_precision": float(oracle_top["p_crisis_12m"].mean()),
        "model_expected_recall": float(model_top["p_crisis_12m"].sum() / total),
        "oracle_expected_recall": float(oracle_top["p_crisis_12m"].sum() / total),
        "full_information_precision": float(full_top["p_crisis_12m_full"].mean()),
        "model_realised_precision": float(model_top["crisis_12m"].mean()),
    }
    out["precision_ratio_to_oracle"] = (
        out["model_expected_precision"] / out["oracle_expected_precision"]
    )
    out["recall_ratio_to_oracle"] = out["model_expected_recall"] / out["oracle_expected_recall"]
    return out


def bare_prepare(con, landing: Path, as_of: str, times: dict[str, float]) -> None:
    """Ingest, link and build the feature sets into `con`'s warehouse, as the pipeline does
    before training; each part's wall seconds added to `times`."""
    from hearth.features.build import build_feature_sets
    from hearth.features.design import Design
    from hearth.ingest.run import ingest_source, landing_months
    from hearth.linkage.link import link
    from hearth.sources import SOURCES

    months = landing_months(landing)
    for part, work in (
        ("ingest", lambda: [ingest_source(con, landing, s, months) for s in SOURCES]),
        ("link", lambda: link(con)),
        ("features", lambda: build_feature_sets(con, Design.for_scoring(as_of))),
    ):
        t = time.perf_counter()
        work()
        times[part] = times.get(part, 0.0) + time.perf_counter() - t


def bare_recipe(con, design, params, sharing: bool = True, times: dict | None = None):
    """The champion recipe's computation as plain calls on the frames the pipeline reads
    (hearth/modelling/training/recipe.py train_champion without Dagster, MLflow, the gate or
    safe updating, which changes nothing in a world without lists): every candidate (the
    contact-count baseline, the regression, the trees, their ensemble) fitted and calibrated
    at T-24 and judged on T-12, the choice, fairness and the value-of-sharing refits, then the
    chosen candidate fitted again on T-12 to score at T. Returns the result (its `model`,
    `feature_names` and `recency_cap` score at T) and the training window's households and
    crises; `times` gets the seconds of the judging (`train_evaluate`) and of the whole
    recipe after the windows are read (`recipe`)."""
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import cap_recency, recency_cap
    from hearth.modelling.training.selection import (
        Window,
        load_windows,
        refit_on_latest,
        train_and_evaluate,
    )

    cat = load_catalogue()
    w = load_windows(con, design)  # as the champion_model asset reads them
    train, valid, raw_valid, cap = w.train, w.valid, w.raw_valid, w.cap
    history, latest_history = w.history, w.latest_history
    del w  # as the recipe: the training frame is freed before the refit
    households, crises = len(train.y), int(train.y.sum())
    t = time.perf_counter()
    result = train_and_evaluate(
        train,
        valid,
        cat,
        params,
        sharing=sharing,
        names=cat.usable_names(history),
        recency_cap=cap,
    )
    del train
    judged = time.perf_counter() - t
    latest_cap = recency_cap(latest_history)
    latest = Window(design.valid_as_of, cap_recency(raw_valid, latest_cap), valid.y)
    result = refit_on_latest(result, latest, cat.usable_names(latest_history), params, latest_cap)
    if times is not None:
        times["train_evaluate"] = judged
        times["recipe"] = time.perf_counter() - t
    return result, households, crises


def bare_train(con, as_of: str, train_params, times: dict[str, float]):
    """The champion recipe's computation (`bare_recipe`) on `con`'s feature sets (one
    warehouse, or a union of them). Returns the model that scores, its feature names and the
    recency cap."""
    from hearth.features.design import Design

    t = time.perf_counter()
    result, _, _ = bare_recipe(con, Design.for_scoring(as_of), train_params)
    times["train"] = times.get("train", 0.0) + time.perf_counter() - t
    return result.model, result.feature_names, result.recency_cap


def bare_score(con, model, names, cap: int, as_of: str, times: dict[str, float]) -> None:
    """Every household of `con`'s warehouse scored at `as_of` with `model`, and explained as far
    as the pipeline's `household_scores` explains (the published top and the report's table:
    hearth/publish/deliver.py, shown_by_default; no hold-out here)."""
    from hearth.features.build import load_window
    from hearth.features.design import cap_recency
    from hearth.modelling.scoring.score import scored
    from hearth.publish.deliver import shown_by_default
    from hearth.publish.ranked import publish_top

    t = time.perf_counter()
    score_feats, _ = load_window(con, as_of)
    s = scored(model, names, cap_recency(score_feats, cap), recency_cap=cap)
    for _ in s.explained(shown_by_default(s.ranking, set(), publish_top())):
        pass  # each chunk worked out, as the step does before storing it
    times["score"] = times.get("score", 0.0) + time.perf_counter() - t


def bare_compute(landing: Path, work: Path, as_of: str, train_params) -> dict[str, float]:
    """The same DuckDB SQL and model fit, called directly in this process: no Dagster, no GX,
    no MLflow."""
    from hearth.warehouse import connect

    times: dict[str, float] = {}
    cpu0 = time.process_time()
    with connect(work / "bare.duckdb") as con:
        bare_prepare(con, landing, as_of, times)
        model, names, cap = bare_train(con, as_of, train_params, times)
        bare_score(con, model, names, cap, as_of, times)
    times["total"] = sum(times.values())
    times["cpu_total"] = time.process_time() - cpu0
    return times


GREW = 1.25  # a stage whose peak or time grew by more than this since the last result is flagged


def last_result(households: int, exclude: Path | None = None) -> tuple[str, dict] | None:
    """The newest end-to-end result at the same number of households (by its date, then the
    file's name), to put each stage's peak and time beside."""
    found = []
    for path in RESULTS.glob(f"*-{households}-commit-*.json"):
        if path == exclude:
            continue
        data = json.loads(path.read_text())
        if data.get("households") == households and "stage_peak_memory_mb" in data:
            found.append((data.get("date", ""), path.stat().st_mtime, path.name, data))
    if not found:
        return None
    _, _, name, data = max(found)
    return name, data


def beside_last(result: dict, last: tuple[str, dict] | None) -> tuple[dict, list[str]]:
    """Each stage's peak memory (MB) and seconds now and in the last result, and a sentence
    for each stage that grew by more than `GREW` (a regression is seen when it happens)."""
    if last is None:
        return {}, []
    name, before = last
    rows, grew = {}, []
    for stage in dict.fromkeys([*result["stage_peak_memory_mb"], *result["stage_seconds"]]):
        row = {
            "peak_mb": result["stage_peak_memory_mb"].get(stage),
            "last_peak_mb": before.get("stage_peak_memory_mb", {}).get(stage),
            "seconds": result["stage_seconds"].get(stage),
            "last_seconds": before.get("stage_seconds", {}).get(stage),
        }
        rows[stage] = row
        for what, now, then, unit in (
            ("peak memory", row["peak_mb"], row["last_peak_mb"], "MB"),
            ("time", row["seconds"], row["last_seconds"], "s"),
        ):
            if now is not None and then and now > GREW * then:
                grew.append(f"{stage}: {what} grew from {then:,} {unit} to {now:,} {unit}")
    return {"file": name, "stages": rows}, grew


def _commit() -> str:
    """The code measured: the short commit, with `+changes` when the tree differs from it."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-bench"))
    ap.add_argument("--keep", action="store_true", help="Keep the work folder afterwards.")
    ap.add_argument(
        "--reuse-world",
        action="store_true",
        help="Reuse a world already synthesised in the work folder (synth is then not timed).",
    )
    args = ap.parse_args()

    from hearth.modelling.training.params import TrainParams
    from hearth.synth import synthesise

    work = args.work / str(args.households)
    reuse = args.reuse_world and (work / "landing").is_dir() and (work / "_truth").is_dir()
    if reuse:
        for leftover in ("home", "features"):
            shutil.rmtree(work / leftover, ignore_errors=True)
        (work / "bare.duckdb").unlink(missing_ok=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    os.environ["HEARTH_HOME"] = str(work / "home")
    os.environ.pop("DAGSTER_HOME", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    landing, truth = work / "landing", work / "_truth"
    result: dict[str, object] = {
        "date": date.today().isoformat(),
        "households": args.households,
        "seed": args.seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "commit": _commit(),
    }
    stage_seconds: dict[str, float] = {}
    load_before = list(os.getloadavg())
    with TreeMemory() as mem:
        if not reuse:
            mem.stage = "synth"
            t = time.perf_counter()
            synthesise(landing, truth, households=args.households, seed=args.seed)
            stage_seconds["synth"] = time.perf_counter() - t
            print(f"synth: {stage_seconds['synth']:.1f} s", flush=True)

        from hearth.cli.launch import run_pipeline

        def say(line: str) -> None:
            print(line, flush=True)
            if line.strip().startswith("running "):
                mem.stage = _stage_of(line.strip()[8:].replace(" ", "_"))

        mem.stage = "orchestration"  # until the first step starts (definitions, the lock)
        t = time.perf_counter()
        outcome = run_pipeline(landing, say=say)
        e2e = time.perf_counter() - t
        if not outcome.success:
            raise SystemExit(f"The run stopped: {outcome.problems}")
        for step, secs in outcome.step_seconds.items():
            stage = _stage_of(step)
            stage_seconds[stage] = stage_seconds.get(stage, 0.0) + secs
        mem.stage = "bare"
        # A fresh process: the bare compute should not inherit the pipeline's heap.
        with mp.get_context("spawn").Pool(1) as pool:
            bare = pool.apply(
                bare_compute, (landing, work, outcome.output_folder.name, TrainParams())
            )
    ranked = pl.read_parquet(outcome.output_folder / "ranked_households.parquet")
    summary = json.loads((outcome.output_folder / "run_summary.json").read_text())
    result.update(
        {
            "stage_seconds": {k: round(v, 2) for k, v in stage_seconds.items()},
            "step_seconds": {k: round(v, 2) for k, v in outcome.step_seconds.items()},
            "stage_peak_memory_mb": {k: round(v / 2**20) for k, v in mem.peaks.items()},
            "end_to_end_seconds": round(e2e, 2),
            "orchestration_seconds": round(e2e - sum(outcome.step_seconds.values()), 2),
            "peak_memory_mb": round(mem.peak / 2**20),
            "pipeline_peak_memory_mb": round(
                max(v for k, v in mem.peaks.items() if k not in ("bare", "synth")) / 2**20
            ),
            "households_per_second": round(args.households / e2e, 1),
            "bare_compute_seconds": {k: round(v, 2) for k, v in bare.items()},
            "ratio_end_to_end_to_bare": round(e2e / bare["total"], 3),
            # CPU seconds: the same ratio on a shared machine, where wall seconds include the
            # neighbours' load (uptime's load average at the start and the end)
            "stage_cpu_seconds": {k: round(v, 1) for k, v in mem.cpu.items()},
            "pipeline_cpu_seconds": round(
                sum(v for k, v in mem.cpu.items() if k not in ("bare", "synth", "start")), 1
            ),
            "ratio_cpu_to_bare_cpu": round(
                sum(v for k, v in mem.cpu.items() if k not in ("bare", "synth", "start"))
                / bare["cpu_total"],
                3,
            ),
            "load_average": [load_before, list(os.getloadavg())],
            "quality_at_scoring_date": expected_quality(
                truth, ranked.select("household_pid", "score"), outcome.output_folder.name
            ),
            "model": summary["model"],
        }
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{result['date']}-{args.households}-commit-{result['commit']}.json"
    result["beside_last"], grew = beside_last(result, last_result(args.households, out))
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "model"}, indent=2, default=str))
    if result["beside_last"]:
        print(f"\nEach stage beside {result['beside_last']['file']} (peak MB, seconds):")
        for stage, row in result["beside_last"]["stages"].items():
            print(
                f"  {stage:<15}{row['peak_mb'] or '-':>8} (was {row['last_peak_mb'] or '-':>6})"
                f"{row['seconds'] or '-':>9} s (was {row['last_seconds'] or '-'})"
            )
    for sentence in grew:
        print(f"  GREW: {sentence}")
    print(f"Wrote {out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
