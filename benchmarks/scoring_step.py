"""The scoring step's memory and time on its own, for a before/after comparison of two
checkouts on the same world and the same model: scoring, explaining and keeping every
household's row (`household_scores`), then the commissioners' CSV of the whole list. Run by
hand, one at a time, never in CI:

    # once: a quick gradient-boosted model on a kept world's T-12 window (benchmarks.run --keep)
    .venv/bin/python -m benchmarks.scoring_step fit --features HOME/features --model /tmp/m.pkl
    # then in each checkout (its own .venv), on the scoring date's features
    .venv/bin/python -m benchmarks.scoring_step measure --features HOME/features \
        --model /tmp/m.pkl --as-of 2026-01 --label after

Prints each phase's wall and CPU seconds and the process's peak RSS in it (RSS seldom falls
back, so a later phase's peak includes what came before), and the CSV's digest (the same list
either way). `--explain-to all` explains every household (as checkouts before the scoring step
explained only what the outputs show); by default the ranks the pipeline explains
(hearth/publish/deliver.py: shown_by_default, nobody held out). `--json FILE` keeps the figures.

    # the on-demand path: a longer list than the step explained (`hearth publish --top N`)
    .venv/bin/python -m benchmarks.scoring_step on-demand --features HOME/features \
        --model /tmp/m.pkl --top 20000"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import psutil


def fit(features: Path, model_file: Path, as_of: str, trees: int) -> None:
    from hearth.features.catalogue import load_catalogue
    from hearth.modelling.training.fit import make_estimator
    from hearth.modelling.training.params import TrainParams

    f = pl.read_parquet(features / f"features_{as_of}.parquet")
    y = pl.read_parquet(features / f"labels_{as_of}.parquet").select("household_pid", "crisis_12m")
    f = f.join(y, on="household_pid").sort("household_pid")
    names = load_catalogue().usable_names(24)
    model = make_estimator("gradient_boosting", TrainParams(max_iter=trees), names)
    model.fit(f.select(names).to_numpy().astype(np.float32), f["crisis_12m"].to_numpy())
    model_file.write_bytes(pickle.dumps((model, names)))


def measure(
    features: Path,
    model_file: Path,
    as_of: str,
    label: str,
    explain_to: str = "default",
    households: int | None = None,
    json_file: Path | None = None,
) -> None:
    phase, peaks, times, cpu = ["start"], {}, {}, {}
    stop = threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not stop.is_set():
            peaks[phase[0]] = max(peaks.get(phase[0], 0), me.memory_info().rss)
            time.sleep(0.05)

    clock = [time.perf_counter(), time.process_time()]

    def mark(name: str) -> None:
        now, c = time.perf_counter(), time.process_time()
        times[phase[0]], cpu[phase[0]] = now - clock[0], c - clock[1]
        clock[:] = [now, c]
        phase[0] = name

    threading.Thread(target=sample, daemon=True).start()
    import duckdb

    import hearth.modelling.scoring.score as S
    from hearth.modelling.scoring.ranking import load_scores, store_scores
    from hearth.publish.outputs import write_ranked

    model, names = pickle.loads(model_file.read_bytes())
    mark("load_features")
    feats = _features(features, as_of, households)
    con = duckdb.connect(str(Path(tempfile.mkdtemp()) / "w.duckdb"))
    con.execute("SET memory_limit = '4GB'")  # as the warehouse's connections
    mark("score_explain_store")
    explained = feats.height
    if hasattr(S, "explained_through"):  # explains only as far as the outputs show
        s = S.scored(model, names, feats, recency_cap=36)
        if explain_to == "default":
            from hearth.publish.deliver import shown_by_default

            explained = shown_by_default(s.ranking, set())
        elif explain_to != "all":
            explained = min(int(explain_to), feats.height)
        store_scores(con, s.explained(explained), as_of, "1")
    elif hasattr(S, "scored"):  # kept a chunk at a time, every household explained
        store_scores(con, S.scored(model, names, feats, recency_cap=36).chunks, as_of, "1")
    else:  # a checkout from before: the whole list at once
        store_scores(con, S.score_households(model, names, feats, recency_cap=36), as_of, "1")
    mark("publish_list")
    out = Path(tempfile.mkdtemp())
    write_ranked(out, load_scores(con))
    mark("end")
    stop.set()
    print(label)
    for k in times:
        print(
            f"  {k:22s} {times[k]:7.1f} s wall {cpu[k]:7.1f} s cpu  "
            f"peak {peaks.get(k, 0) / 2**20:7.0f} MB"
        )
    digest = hashlib.sha256((out / "ranked_households.csv").read_bytes()).hexdigest()
    print(f"  csv sha256 {digest[:16]}")
    step = "score_explain_store"
    print(
        f"  {explained:,} of {feats.height:,} households explained; "
        f"{explained / cpu[step]:,.0f} a CPU second over the step"
    )
    _keep(
        json_file,
        {
            "what": "measure",
            "label": label,
            "households": feats.height,
            "explained": explained,
            "phases": {
                k: {
                    "wall_s": round(times[k], 2),
                    "cpu_s": round(cpu[k], 2),
                    "peak_mb": round(peaks.get(k, 0) / 2**20),
                }
                for k in times
            },
            "csv_sha256": digest,
        },
    )


def _features(features: Path, as_of: str, households: int | None) -> pl.DataFrame:
    """The scoring month's features, recency capped as the pipeline does; with `households`,
    the first that many by pseudonym (a smaller world from the same households' features)."""
    from hearth.features.design import cap_recency

    feats = pl.read_parquet(features / f"features_{as_of}.parquet").drop("as_of")
    feats = feats.sort("household_pid")
    if households:
        feats = feats.head(households)
    return cap_recency(feats, 36)


def _keep(json_file: Path | None, figures: dict) -> None:
    """Append the figures to `json_file` (a list of runs), with the commit they were made at."""
    if json_file is None:
        return
    import json
    import subprocess

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    runs = json.loads(json_file.read_text()) if json_file.exists() else []
    runs.append({"commit": commit, **figures})
    json_file.write_text(json.dumps(runs, indent=2) + "\n")


def on_demand(
    features: Path,
    model_file: Path,
    as_of: str,
    top: int,
    households: int | None = None,
    json_file: Path | None = None,
) -> None:
    """`hearth publish --top N` beyond the ranks the step explained, on its own: the list kept
    as the pipeline keeps it (explained to its default reach), then the published top of `top`
    read back and its unexplained households explained from the model and the month's features
    read for those households only (as hearth/modelling/scoring/on_demand.py does from the
    registry and the warehouse's feature folder), timed with its peak."""
    import duckdb

    import hearth.modelling.scoring.score as S
    from hearth.features.design import cap_recency
    from hearth.modelling.scoring.on_demand import KeptScorer, explain_missing, unexplained
    from hearth.modelling.scoring.ranking import load_scores, store_scores
    from hearth.publish.deliver import shown_by_default
    from hearth.publish.ranked import published_top

    model, names = pickle.loads(model_file.read_bytes())
    feats = _features(features, as_of, households)
    con = duckdb.connect(str(Path(tempfile.mkdtemp()) / "w.duckdb"))
    s = S.scored(model, names, feats, recency_cap=36)
    reach = shown_by_default(s.ranking, set())
    store_scores(con, s.explained(reach), as_of, "1")
    ranked = load_scores(con)
    del feats, s
    me = psutil.Process()
    base = me.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    t, c = time.perf_counter(), time.process_time()
    rows = published_top(ranked, top)
    pids = unexplained(rows)
    wanted = pl.Series(pids, dtype=pl.String)
    frame = (
        pl.scan_parquet(features / f"features_{as_of}.parquet")
        .filter(pl.col("household_pid").is_in(wanted.implode()))
        .collect()
        .drop("as_of")
    )
    filled = explain_missing(
        rows, ranked.height, KeptScorer(model, names, 36, cap_recency(frame, 36))
    )
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    stop.set()
    assert filled["reason_1"].null_count() == 0
    print(
        f"on demand: top {rows.height:,} of {ranked.height:,} (explained to {reach:,}): "
        f"{len(pids):,} households explained in {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"({len(pids) / cpu:,.0f} a CPU second), peak {peak[0] / 2**20:,.0f} MB "
        f"({(peak[0] - base) / 2**20:,.0f} MB above the list read back)"
    )
    _keep(
        json_file,
        {
            "what": "on_demand",
            "households": ranked.height,
            "top": rows.height,
            "explained_before": reach,
            "explained_on_demand": len(pids),
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "peak_mb": round(peak[0] / 2**20),
            "peak_above_list_mb": round((peak[0] - base) / 2**20),
        },
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("what", choices=("fit", "measure", "on-demand"))
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--as-of", default="2026-01")
    ap.add_argument("--fit-as-of", default="2025-01")
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--label", default="")
    ap.add_argument("--explain-to", default="default", help="default | all | a number of ranks")
    ap.add_argument("--households", type=int, help="the first N households by pseudonym only")
    ap.add_argument("--top", type=int, default=20_000, help="on-demand: the list asked for")
    ap.add_argument("--json", type=Path, help="append the figures to this JSON file")
    args = ap.parse_args()
    if args.what == "fit":
        fit(args.features, args.model, args.fit_as_of, args.trees)
    elif args.what == "on-demand":
        on_demand(args.features, args.model, args.as_of, args.top, args.households, args.json)
    else:
        measure(
            args.features,
            args.model,
            args.as_of,
            args.label,
            args.explain_to,
            args.households,
            args.json,
        )


if __name__ == "__main__":
    main()
