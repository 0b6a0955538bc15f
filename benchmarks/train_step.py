"""The training step's cost phase by phase, and scoring's explaining, on one kept world: wall and
CPU seconds (CPU of every thread of the process, so OpenMP threads that spin count) and the
peak RSS of each phase, for a before/after comparison of two checkouts. Run by hand, one at a
time, never in CI:

    # once: a world (the quality benchmark's, kept under --work)
    .venv/bin/python -m benchmarks.quality --households 20000 --seed 7 --build-only \
        --work /tmp/tc-quality
    # then in each checkout
    .venv/bin/python -m benchmarks.train_step --world /tmp/tc-quality/20000-seed7-... \
        --label after [--profile /tmp/train.prof] [--train-only]

It runs the champion recipe as the `champion_model` asset does (hearth/modelling/training/
recipe.py: train_champion, with MLflow logging into a fresh SQLite store), then scores and
explains every household at the scoring date with the registered model as `household_scores`
does (with `--train-only`, the quality figure from the model's own scores at T instead: scoring
is measured on its own). A phase is a call of one named function (nested phases count inside
their parents).
Writes benchmarks/results/train-step-<date>-<households>-<label>.json."""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import pstats
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import psutil

from benchmarks.run import RESULTS, _commit
from hearth.features.design import Design, cap_recency

# (module, function, phase): the calls timed, looked up where the caller finds them
PHASES = (
    ("hearth.modelling.training.selection", "load_windows", "load windows"),
    ("hearth.modelling.training.recipe", "safe_updating", "safe updating (read)"),
    ("hearth.modelling.training.recipe", "training_fingerprint", "fingerprint (windows hashed)"),
    ("hearth.modelling.training.selection", "train_and_evaluate", "train_and_evaluate"),
    ("hearth.modelling.training.selection", "fit_all", "  candidates (fit + calibrate)"),
    ("hearth.modelling.training.fit", "crossfit_stopped", "    trees: cross-fit + stopping"),
    ("hearth.modelling.training.selection", "choose", "  choice (bootstrap)"),
    ("hearth.modelling.training.selection", "fairness_table", "  fairness"),
    ("hearth.modelling.training.selection", "value_of_sharing", "  value of sharing"),
    ("hearth.modelling.training.fit", "fit_candidate", "    sharing refits"),
    ("hearth.modelling.evaluation.sharing", "sharing_intervals", "    sharing intervals"),
    ("hearth.modelling.training.selection", "refit_on_latest", "refit on latest"),
    ("hearth.modelling.evaluation.card", "write_artifacts", "card + plots"),
    ("hearth.modelling.training.recipe", "log_and_promote", "MLflow log + register"),
    ("hearth.modelling.registry.run_log", "champion_on_window", "  champion on window"),
    ("hearth.modelling.registry.run_log", "_importance", "  feature importance"),
    ("hearth.modelling.registry.run_log", "card_summary", "  card summary"),
    ("hearth.modelling.registry.run_log", "_log_training", "  log params/metrics/artifacts"),
    ("hearth.modelling.registry.run_log", "_log_models", "  log + register models"),
    ("hearth.modelling.scoring.score", "explain", "  explain (contributions)"),
)


class Clock:
    """Wall, CPU and peak RSS per phase (inclusive), sampled RSS every 50 ms."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.open: list[str] = []
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = me.memory_info().rss
            for name in ["whole", *self.open]:
                self.peak[name] = max(self.peak.get(name, 0), rss)
            time.sleep(0.05)

    def timed(self, name: str, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            self.open.append(name)
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w
                self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c
                self.calls[name] = self.calls.get(name, 0) + 1
                self.open.remove(name)

        return wrapper

    def phase(self, name: str):
        clock = self

        class _Phase:
            def __enter__(self):
                clock.open.append(name)
                self.w, self.c = time.perf_counter(), time.process_time()

            def __exit__(self, *exc):
                clock.wall[name] = clock.wall.get(name, 0.0) + time.perf_counter() - self.w
                clock.cpu[name] = clock.cpu.get(name, 0.0) + time.process_time() - self.c
                clock.calls[name] = clock.calls.get(name, 0) + 1
                clock.open.remove(name)

        return _Phase()


def patch(clock: Clock) -> None:
    import importlib

    for module, attr, name in PHASES:
        mod = importlib.import_module(module)
        setattr(mod, attr, clock.timed(name, getattr(mod, attr)))


def run(world: Path, clock: Clock, params, train_only: bool = False) -> dict:
    from hearth.modelling.training.recipe import train_champion
    from hearth.warehouse import connect

    db = world / "bench.duckdb"
    with connect(db, read_only=True) as con:
        design = Design.for_run(con, None)
    home = Path(tempfile.mkdtemp(prefix="train-step-"))
    uri = f"sqlite:///{home / 'mlflow.db'}"
    notes: list[str] = []
    with clock.phase("training step (train_champion)"):
        trained = train_champion(
            lambda: connect(db, read_only=True),
            design,
            params,
            1000,
            uri,
            lambda _k, _v: False,
            {"hearth.benchmark": "train_step"},
            info=notes.append,
            warn=notes.append,
        )
    if train_only:  # the model's scores at T for the quality figure, nothing explained or kept
        ranked = _scores(db, trained.result, design)
    else:
        with clock.phase("scoring step (load, score, explain, store)"):
            ranked = _scoring_step(db, home, uri, trained, design)
    result = trained.result
    return {
        "chosen": result.kind,
        "choice": result.choice_sentence,
        "metrics": {k: v for k, v in result.metrics.items() if isinstance(v, float)},
        "candidate_metrics": result.candidate_metrics,
        "sharing": result.sharing.to_dicts() if result.sharing.height else [],
        "version": trained.decision.version,
        "alias": trained.decision.alias,
        "scores": ranked.sort("household_pid"),
        "households_scored": ranked.height,
        "as_of": design.score_as_of,
        "notes": notes,
        "home": str(home),
    }


def _scores(db: Path, result, design) -> pl.DataFrame:
    """Every household's score at T from the model that publishes."""
    from hearth.features.build import load_window
    from hearth.modelling.training.blocks import crisis_probability
    from hearth.warehouse import connect

    with connect(db, read_only=True) as con:
        feats, _ = load_window(con, design.score_as_of)
    X = cap_recency(feats, result.recency_cap).select(result.feature_names).to_numpy()
    score = crisis_probability(result.model, X.astype(np.float32, copy=False))
    return feats.select("household_pid").with_columns(pl.Series("score", score))


def _scoring_step(db: Path, home: Path, uri: str, trained, design) -> pl.DataFrame:
    """As `household_scores` does: load the registered model, score, explain and store."""
    import duckdb

    from hearth.features.build import load_window
    from hearth.modelling.registry.client import Registry
    from hearth.modelling.scoring.ranking import load_scores, store_scores
    from hearth.modelling.scoring.score import scored
    from hearth.warehouse import connect

    model, names, champ = Registry(uri).load_champion(trained.decision.version)
    cap = int(champ.tags.get("recency_cap", 36))
    with connect(db, read_only=True) as con:
        feats, _ = load_window(con, design.score_as_of)
    feats = cap_recency(feats, cap)
    s = scored(model, names, feats, recency_cap=cap)
    out = duckdb.connect(str(home / "scores.duckdb"))
    store_scores(out, s.chunks, design.score_as_of, champ.version)
    return load_scores(out).select("household_pid", "score")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--world", type=Path, required=True, help="A world benchmarks.quality built.")
    ap.add_argument("--label", default="", help="A word for the results file name.")
    ap.add_argument("--profile", type=Path, help="Also write a cProfile of the whole run here.")
    ap.add_argument("--train", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument(
        "--train-only",
        action="store_true",
        help="Only the training step; the quality figure from the model's scores at T, without "
        "the scoring step's explaining (hearth/modelling/scoring is measured on its own).",
    )
    args = ap.parse_args()
    from benchmarks.quality import train_params
    from benchmarks.run import expected_quality

    params = train_params(args.train)
    clock = Clock()
    patch(clock)
    prof = cProfile.Profile() if args.profile else None
    w0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    got = run(args.world, clock, params, args.train_only)
    if prof:
        prof.disable()
        prof.dump_stats(args.profile)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    clock._stop.set()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    quality = expected_quality(args.world / "_truth", got["scores"], got["as_of"])
    households = got["households_scored"]
    phases = {
        name: {
            "wall_s": round(clock.wall[name], 2),
            "cpu_s": round(clock.cpu[name], 2),
            "calls": clock.calls[name],
            "peak_rss_mb": round(clock.peak.get(name, 0) / 2**20),
        }
        for name in clock.wall
    }
    out = {
        "date": date.today().isoformat(),
        "commit": _commit(),
        "label": args.label,
        "world": args.world.name,
        "households": households,
        "load_average_at_end": list(psutil.getloadavg()),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(clock.peak.get("whole", 0) / 2**20),
        "phases": phases,
        "chosen": got["chosen"],
        "choice": got["choice"],
        "quality_at_scoring_date": quality,
        "metrics": got["metrics"],
        "candidate_metrics": got["candidate_metrics"],
        "sharing": got["sharing"],
        "alias": got["alias"],
        "train_overrides": args.train,
        "train_only": args.train_only,
    }
    RESULTS.mkdir(exist_ok=True)
    tag = f"-{args.label}" if args.label else ""
    path = RESULTS / f"train-step-{out['date']}-{households}{tag}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"{'phase':48s} {'wall s':>8s} {'cpu s':>8s} {'calls':>5s} {'peak MB':>8s}")
    for name, p in phases.items():
        print(
            f"{name:48s} {p['wall_s']:8.1f} {p['cpu_s']:8.1f} {p['calls']:5d} {p['peak_rss_mb']:8d}"
        )
    print(
        f"whole: {wall:.1f} s wall, {cpu:.1f} s cpu, peak {out['peak_rss_mb']} MB; chosen "
        f"{got['chosen']}; ratio to oracle {quality['precision_ratio_to_oracle']:.4f}"
    )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
