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
either way)."""

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


def measure(features: Path, model_file: Path, as_of: str, label: str) -> None:
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
    from hearth.features.design import cap_recency
    from hearth.modelling.scoring.ranking import load_scores, store_scores
    from hearth.publish.outputs import write_ranked

    model, names = pickle.loads(model_file.read_bytes())
    mark("load_features")
    feats = pl.read_parquet(features / f"features_{as_of}.parquet").drop("as_of")
    feats = cap_recency(feats.sort("household_pid"), 36)
    con = duckdb.connect(str(Path(tempfile.mkdtemp()) / "w.duckdb"))
    con.execute("SET memory_limit = '4GB'")  # as the warehouse's connections
    mark("score_explain_store")
    if hasattr(S, "scored"):  # kept a chunk at a time
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("what", choices=("fit", "measure"))
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--as-of", default="2026-01")
    ap.add_argument("--fit-as-of", default="2025-01")
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    if args.what == "fit":
        fit(args.features, args.model, args.fit_as_of, args.trees)
    else:
        measure(args.features, args.model, args.as_of, args.label)


if __name__ == "__main__":
    main()
