"""The list's reasons, leads and "also" agencies on a scored world: how long explaining every
household takes, and what the top of the list says. Run by hand, never in CI, with `nice`:

    nice -n 10 .venv/bin/python -m benchmarks.reasons --households 20000 --seed 301 --build
    nice -n 10 .venv/bin/python -m benchmarks.reasons --households 20000 --seed 301

`--build` synthesises today's world (benchmarks/quality.py's `build_world`), runs the champion
recipe without the value-of-sharing table and keeps the scoring model and the scoring date's
features in the work folder, so that two checkouts score the very same households (put the
other checkout first on PYTHONPATH for a "before"). The measurement scores every household with
`score_households` and counts, in the top `--top` (250) of the list:

- specific reasons: reason cells that state something the household has on the agencies'
  records (not a register fact such as its size or area, not a value that is absent or zero,
  not "N agencies involved" without naming them, not a theme already given by an earlier
  reason of the household), out of 3 per household;
- repeated themes: households two of whose reasons are on one theme or kind of record (one key,
  as "breathing problems in 12 months" and again "in 2 years");
- wording faults in every role's view: "1 people", "0 children" (a count of none), a double
  negative ("no record of someone who has never smoked", "no ... in the last ...");
- agencies with a part: households each agency leads, and leads or is "also" for.

Writes benchmarks/results/reasons-<date>-<households>-seed<seed>[-tag].json."""

from __future__ import annotations

import argparse
import json
import pickle
import re
import time
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl

from benchmarks.run import RESULTS, _commit

REASONS = ("reason_1", "reason_2", "reason_3")
ZERO = re.compile(r"(^|\D)0 [a-z]")
NO = re.compile(r"^no [a-z]")


def build(work: Path, households: int, seed: int) -> None:
    from benchmarks.quality import build_world, run_recipe
    from hearth.features.build import load_window
    from hearth.features.design import Design, cap_recency
    from hearth.modelling.training.params import TrainParams
    from hearth.warehouse import connect

    build_world(work, households, seed, 0.01, 0.002)
    run = run_recipe(work, TrainParams(), sharing=False)
    result = run["result"]
    with connect(work / "bench.duckdb", read_only=True) as con:
        frame, _ = load_window(con, Design.for_run(con, None).score_as_of)
    cap_recency(frame, result.recency_cap).write_parquet(work / "score_frame.parquet")
    with (work / "model.pkl").open("wb") as fh:
        pickle.dump((result.model, result.feature_names, result.recency_cap, result.kind), fh)


def counts(ranked: pl.DataFrame, frame: pl.DataFrame, top: int) -> dict:
    from hearth.features.catalogue import load_catalogue
    from hearth.modelling.scoring.reasons import lead_agencies
    from hearth.publish.roles import role_view
    from hearth.quality.contracts import ROLES

    cat = load_catalogue()
    head = ranked.sort("rank").head(top)
    values = {
        r["household_pid"]: r
        for r in frame.join(head.select("household_pid"), on="household_pid").iter_rows(named=True)
    }
    specific = register = absent = unnamed = cells = repeated = twice = 0
    for row in head.iter_rows(named=True):
        keys = []
        for r in REASONS:
            text, name = row[r], row[f"{r}_feature"]
            if text is None:
                continue
            cells += 1
            f = cat.by_name(name)
            v = float(values[row["household_pid"]][name])
            again = (f.key or f.name) in keys
            keys.append(f.key or f.name)
            gone = (
                (f.kind in ("count", "trend", "household", "derived") and v <= 0)
                or (f.kind == "recency" and (v >= 99 or v > 36))
                or text.startswith(("no ", "no change"))
            )
            if f.agency == "register":
                register += 1
            elif gone:
                absent += 1
            elif "agencies involved" in text and ":" not in text:
                unnamed += 1
            elif again:
                twice += 1
            else:
                specific += 1
        repeated += len(keys) != len(set(keys))
    leads = lead_agencies()
    led = Counter(leads.get(x) for x in head["lead_agency"].to_list())
    part: Counter = Counter()
    also_col = "also_agencies" if "also_agencies" in head.columns else None
    for row in head.iter_rows(named=True):
        agencies = {leads.get(row["lead_agency"])}
        for item in (row[also_col] or "").split("; ") if also_col else ():
            lead = item.split(" — ")[0]
            agencies.add(leads.get(lead))
        part.update(a for a in agencies if a)
    faults: Counter = Counter()
    for role in (None, *ROLES):
        view = head if role is None else role_view(head, role)
        for r in REASONS:
            for text in view[r].drop_nulls().to_list():
                faults["1 people"] += "1 people" in text
                faults["a count of none (0 ...)"] += bool(ZERO.search(text))
                faults["double negative (no ...)"] += bool(NO.match(text))
                faults["no record of someone who has never smoked"] += "never smoked" in text
    return {
        "households": head.height,
        "reason_cells": cells,
        "specific_reasons": specific,
        "register_context_reasons": register,
        "absent_value_reasons": absent,
        "agencies_involved_unnamed": unnamed,
        "same_theme_again": twice,
        "households_with_a_repeated_theme": repeated,
        "households_without_reasons": int(head["reason_1"].is_null().sum()),
        "wording_faults_all_views": dict(faults),
        "agency_leads": {a: led.get(a, 0) for a in sorted(set(leads.values()))},
        "agency_lead_or_also": {a: part.get(a, 0) for a in sorted(set(leads.values()))},
    }


def measure(work: Path, top: int) -> dict:
    from hearth.modelling.scoring.score import score_households

    with (work / "model.pkl").open("rb") as fh:
        model, names, cap, kind = pickle.load(fh)
    frame = pl.read_parquet(work / "score_frame.parquet")
    from hearth.modelling.training.explain import explain

    explain(model, frame.head(10).select(names).to_numpy())  # the slow imports, not timed
    t, cpu = time.perf_counter(), time.process_time()
    ranked = score_households(model, names, frame, recency_cap=cap)
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    explained = int(ranked["lead_agency"].is_not_null().sum())
    return {
        "model": kind,
        "seconds_scoring": round(seconds, 2),
        "households_with_a_lead": explained,
        "seconds_per_1000_households_scored": round(seconds / ranked.height * 1000, 3),
        # the machine is shared: the process's own time is the fairer figure
        "cpu_seconds_scoring": round(cpu, 2),
        "cpu_seconds_per_1000_households_scored": round(cpu / ranked.height * 1000, 3),
        "top": counts(ranked, frame, top),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=301)
    ap.add_argument("--top", type=int, default=250)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-reasons"))
    ap.add_argument("--build", action="store_true", help="Build the world and its model only.")
    ap.add_argument("--tag", default="", help="A word for the results file name.")
    args = ap.parse_args()
    work = args.work / f"{args.households}-seed{args.seed}"
    if args.build:
        build(work, args.households, args.seed)
        print(f"Built {work}")
        return
    out = {
        "date": date.today().isoformat(),
        "commit": _commit(),
        "households": args.households,
        "seed": args.seed,
        **measure(work, args.top),
    }
    RESULTS.mkdir(exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = RESULTS / f"reasons-{out['date']}-{args.households}-seed{args.seed}{tag}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
