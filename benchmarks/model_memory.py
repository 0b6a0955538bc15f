"""Where the partnership model's steps spend their memory (issue 28: every process of a
1,000,000-household partnership under 8 GB; at the first million-household run the model's
choice step was the largest process, 8,138 MB). Runs the staged training
(hearth/modelling/training/staged.py) on a union of authorities' warehouses, each stage in a
fresh process as the partnership's steps run them, and samples each process's RSS every 0.2 s,
attributed to the stage's last progress message.

    nice -n 5 .venv/bin/python benchmarks/model_memory.py \
        --warehouses /work/bench-p1m/1000000/bare/authorities --as-of 2026-01 \
        --work /tmp/model-mem [--stages choose] [--label after]

The warehouses are a partnership benchmark's bare ones (`benchmarks/partnership.py --keep`)
or the authorities' own. `--stages` runs only some stages on a work folder an earlier call
left (e.g. the choice step again after a change, without fitting the candidates again).
Writes benchmarks/results/model-memory-<date>-<HHMM>-<label>.json (after each stage, so a run
cut short keeps what it measured): per stage its peak, CPU seconds and peak per phase."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.routing_memory import Sampler

RESULTS = Path(__file__).parent / "results"
STAGES = ("begin", "candidates", "choose", "refit", "pool_refit", "sharing", "finish")


def _stage(name: str, warehouses: list[str], as_of: str, work: str, home: str) -> dict:
    """One stage in this (fresh) process; its peak RSS per phase and CPU seconds."""
    os.environ["HEARTH_HOME"] = home
    from hearth import settings
    from hearth.features.design import Design
    from hearth.modelling.training import staged
    from hearth.modelling.training.params import TrainParams
    from hearth.operations.partnership_model import FIXED_K
    from hearth.warehouse import union_of

    sampler = Sampler()
    cpu, began = time.process_time(), time.time()

    def say(message: str) -> None:
        print(f"  [{name}] {time.time() - began:7.1f} s  {message}", flush=True)
        sampler.phase = message

    w = staged.Work(work)
    with sampler:
        say("loading")
        if name == "begin":
            paths = [Path(p) for p in warehouses]
            with union_of(paths) as con:
                design = Design.for_run(con, as_of)
            units = staged.begin(
                w, lambda: union_of(paths), design, TrainParams(), FIXED_K, {}, say, say
            )
            Path(work, "units.json").write_text(json.dumps(units))
        elif name in ("candidates", "refit", "sharing"):
            plan = w.get("plan")
            units = {
                "candidates": json.loads(Path(work, "units.json").read_text()),
                "refit": list(plan.refits),
                "sharing": [f"{staged.SHARING}{g}" for g in range(plan.sharing_units)],
            }[name]
            for unit in units:  # one process each in a run; the largest is what matters here
                say(f"fitting {unit}")
                staged.fit(w, unit, say)
        elif name == "choose":
            staged.choose(w, say)
        elif name == "pool_refit":
            staged.pool_refit(w, say)
        elif name == "finish":
            staged.finish(w, settings.mlflow_tracking_uri(), lambda _k, _v: False, say, say)
    rss = dict(sampler.rss)
    return {
        "stage": name,
        "peak_rss_mb": max(rss.values(), default=0),
        "cpu_s": round(time.process_time() - cpu, 1),
        "wall_s": round(time.time() - began, 1),
        "phases": [{"phase": p, "peak_rss_mb": rss[p]} for p in sorted(rss, key=lambda p: -rss[p])],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--warehouses",
        type=Path,
        required=True,
        help="A folder of authorities' folders, each with one .duckdb warehouse.",
    )
    parser.add_argument("--as-of", required=True, help="The run's month (e.g. 2026-01).")
    parser.add_argument("--work", type=Path, required=True, help="The staged training's folder.")
    parser.add_argument("--stages", default=",".join(STAGES), help=", ".join(STAGES))
    parser.add_argument("--label", default="model", help="Names the result file.")
    args = parser.parse_args()
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if not set(stages) <= set(STAGES):
        raise SystemExit(f"--stages: one or more of {', '.join(STAGES)}.")
    warehouses = sorted(str(p) for p in args.warehouses.glob("*/*.duckdb"))
    if not warehouses:
        raise SystemExit(f"No warehouse (*/*.duckdb) under {args.warehouses}.")
    work, home = args.work / "staged", args.work / "home"
    home.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H%M")
    out = RESULTS / f"model-memory-{stamp}-{args.label}.json"
    result: dict = {
        "warehouses": warehouses,
        "as_of": args.as_of,
        "commit": os.popen("git rev-parse --short HEAD").read().strip(),
        "stages": [],
    }
    ctx = mp.get_context("spawn")
    for name in stages:
        print(f"[{name}]", flush=True)
        with ctx.Pool(1) as pool:
            got = pool.apply(_stage, (name, warehouses, args.as_of, str(work), str(home)))
        print(f"[{name}] peak {got['peak_rss_mb']} MB, {got['cpu_s']} CPU s", flush=True)
        result["stages"].append(got)
        out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"(written {out})")


if __name__ == "__main__":
    main()
