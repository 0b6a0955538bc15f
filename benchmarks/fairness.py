"""Fairness of the published list against the synthetic truth, beside what the model card says.
Run by hand, never in CI, one at a time, with `nice -n 10`:

    nice -n 10 .venv/bin/python -m benchmarks.fairness --households 20000 --seed 301
    nice -n 10 .venv/bin/python -m benchmarks.fairness --households 20000 --seed 302 --realistic

The model card judges fairness on the validation year (hearth/modelling/evaluation/fairness.py:
the list cut once at 5% of households, each group's recall against the best-served group's,
flagged only when the ratio's whole 95% interval is below four fifths). That is the model the
card describes, judged on crises the agencies recorded. Here the published list itself (the
recipe refitted on the newest year, scoring the scoring date, cut at the same 5%: the very high
and high tiers) is judged under the same rule against what truly happened in the 12 months
after the scoring date (`_truth/`, which only evaluation may read): per group (deprivation, age
of the oldest resident, ethnic group, living alone) its households, selection rate (the share of
its households listed) and recall, each with its 95% interval, the ratio to the best-served
group, the verdict, and the card's verdict for the same group beside it.

The world is built and the recipe run as benchmarks/quality.py does (its `build_world` and
`run_recipe`, the value-of-sharing table included, whose intervals are written too). Writes
benchmarks/results/fairness-<date>-<households>-seed<seed>[-realistic].json and prints the
groups either side flags."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.quality import build_world, run_recipe
from benchmarks.run import RESULTS, _commit


def truth_fairness(truth: Path, scores: pl.DataFrame, frame: pl.DataFrame, as_of: str):
    """The fairness table of `scores` (household_pid, score) against the truth's crises in the
    12 months after `as_of`, with each group's selection rate and its interval; the groups are
    read from the scored households' register details in `frame`."""
    from hearth.modelling.evaluation.fairness import fairness_table, group_columns, wilson

    t = pl.read_parquet(truth / "households.parquet").filter(pl.col("as_of") == as_of)
    j = (
        frame.join(scores, on="household_pid", how="inner")
        .join(t.select("household_pid", "crisis_12m"), on="household_pid", how="inner")
        .sort("household_pid")
    )
    if j.height != scores.height:
        raise ValueError(
            f"The truth for {as_of} holds {j.height:,} of the {scores.height:,} scored households."
        )
    table = fairness_table(
        j["crisis_12m"].to_numpy().astype(int),
        j["score"].to_numpy(),
        j["household_pid"].to_numpy(),
        group_columns(j),
    )
    rates = [wilson(r["listed"], r["households"]) for r in table.iter_rows(named=True)]
    return table.with_columns(
        (pl.col("listed") / pl.col("households")).alias("selection_rate"),
        pl.Series("selection_rate_low", [lo for lo, _ in rates]),
        pl.Series("selection_rate_high", [hi for _, hi in rates]),
    )


def side_by_side(truth_table: pl.DataFrame, card_table: pl.DataFrame) -> list[dict]:
    """Per group: the published list against the truth, and the card's verdict beside it."""
    card = {
        (r["grouping"], r["group"]): r for r in card_table.iter_rows(named=True)
    }  # the validation year, as the card says
    out = []
    for r in truth_table.iter_rows(named=True):
        c = card.get((r["grouping"], r["group"]), {})
        out.append(
            {
                "grouping": r["grouping"],
                "group": r["group"],
                "households": r["households"],
                "crises": r["crises"],
                "listed": r["listed"],
                "found": r["found"],
                "selection_rate": _r(r["selection_rate"]),
                "selection_rate_interval": [
                    _r(r["selection_rate_low"]),
                    _r(r["selection_rate_high"]),
                ],
                "recall": _r(r["recall"]),
                "recall_interval": [_r(r["recall_low"]), _r(r["recall_high"])],
                "recall_ratio_to_best": _r(r["recall_ratio_to_best"]),
                "ratio_interval": [_r(r["ratio_low"]), _r(r["ratio_high"])],
                "verdict_against_truth": r["verdict"],
                "flagged_against_truth": bool(r["flag"]),
                "card_verdict": c.get("verdict", "not in the card"),
                "card_ratio": _r(c.get("recall_ratio_to_best")),
                "card_ratio_interval": [_r(c.get("ratio_low")), _r(c.get("ratio_high"))],
                "flagged_by_card": bool(c.get("flag", False)),
            }
        )
    return out


def _r(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, 4) if np.isfinite(x) else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=301)
    ap.add_argument("--mess", type=float, default=0.01)
    ap.add_argument("--move", type=float, default=0.002)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-quality"))
    ap.add_argument("--realistic", action="store_true", help="The world of params.REALISTIC.")
    ap.add_argument("--tag", default="", help="A word for the results file name.")
    args = ap.parse_args()

    from hearth.features.build import load_window
    from hearth.modelling.evaluation.sharing import noise_note
    from hearth.modelling.training.params import TrainParams
    from hearth.warehouse import connect

    kind = "realistic" if args.realistic else "today"
    world = f"{args.households}-seed{args.seed}-mess{args.mess}-move{args.move}-{kind}"
    print(f"Building the world ({world}) ...", flush=True)
    work = build_world(
        args.work / world, args.households, args.seed, args.mess, args.move, args.realistic
    )
    print("Running the recipe (every candidate, the value of sharing, the refit) ...", flush=True)
    run = run_recipe(work, TrainParams(), sharing=True)
    result, as_of = run["result"], run["design"].score_as_of
    with connect(work / "bench.duckdb", read_only=True) as con:
        frame, _ = load_window(con, as_of)
    table = truth_fairness(work / "_truth", run["scores"], frame, as_of)
    rows = side_by_side(table, result.fairness)
    flagged_truth = [f"{r['grouping']}: {r['group']}" for r in rows if r["flagged_against_truth"]]
    flagged_card = [f"{r['grouping']}: {r['group']}" for r in rows if r["flagged_by_card"]]
    sharing = result.sharing.to_dicts() if result.sharing.height else []
    out = {
        "date": date.today().isoformat(),
        "commit": _commit(),
        "households": args.households,
        "seed": args.seed,
        "world": kind,
        "chosen": result.kind,
        "scored_as_of": as_of,
        "card_judged_on": result.valid_as_of,
        "published_share": 0.05,
        "flagged_against_truth": flagged_truth,
        "flagged_by_card": flagged_card,
        "card_says_no_gaps": not flagged_card,
        "card_no_gaps_holds": not flagged_card and not flagged_truth,
        "groups": rows,
        "value_of_sharing": sharing,
        "value_of_sharing_note": noise_note(result.sharing) if sharing else "",
    }
    RESULTS.mkdir(exist_ok=True)
    extra = "-realistic" if args.realistic else ""
    tag = f"-{args.tag}" if args.tag else ""
    path = RESULTS / f"fairness-{out['date']}-{args.households}-seed{args.seed}{extra}{tag}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(
        f"{args.households} households, seed {args.seed} ({kind} world), chosen {result.kind}: "
        f"flagged against the truth: {', '.join(flagged_truth) or 'none'}; "
        f"flagged by the card: {', '.join(flagged_card) or 'none'}"
    )
    for r in rows:
        lo, hi = r["ratio_interval"]
        print(
            f"  {r['grouping']:>22} | {r['group']:<42} | selected {r['selection_rate']} | "
            f"recall {r['recall']} | ratio {r['recall_ratio_to_best']} ({lo} to {hi}) | "
            f"{r['verdict_against_truth']} | card: {r['card_verdict']}"
        )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
