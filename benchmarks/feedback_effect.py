"""The effect of a visit, estimated again from a closed-loop arm's kept warehouse, for each cycle
of a results file (benchmarks/feedback.py keeps each arm's work folder: `--work`). For a run
made before the estimator changed, or to check a results file against its warehouse: the
lottery's draws (`holdout_assignments`), the completed visits (`raw_interventions`, accepted,
from a list) and the crises (`linked_events`), as `feedback.effect_at` reads them in the run.

    .venv/bin/python benchmarks/feedback_effect.py benchmarks/results/feedback-<stamp>.json \
        --work /tmp/hearth-feedback --arm safe

Writes each cycle's estimate into the results file under `<arm>.effect` (the one it held is
kept as `<arm>.effect_before`, when it differs; with `--pooled-beside`, the list months pooled
as `<arm>.effect_pooled`), and prints the table."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.feedback import CRISES_SQL, first_lottery, visit_effect  # noqa: E402

DRAWS_SQL = """
SELECT as_of, household_pid, in_margin AND listed AND NOT held_out AS offered, held_out
FROM holdout_assignments ORDER BY as_of, score_rank
"""
VISITS_SQL = """
SELECT household_pid, strftime(offer_date, '%Y-%m') AS as_of FROM raw_interventions
WHERE response = 'ACCEPTED' AND from_list = 'Y'
"""


def effects(warehouse: Path, months: list[str], settings: dict, by_list: bool = True) -> list[dict]:
    """The effect of a visit at each of `months` (the cycles' as-of months, in order);
    `by_list=False` pools the list months (`visit_effect`)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        draws_frame = con.sql(DRAWS_SQL).pl()
        visits = con.sql(VISITS_SQL).pl()
        crises = con.sql(CRISES_SQL).pl()
    by_month = {
        m: (
            g.filter(pl.col("offered"))["household_pid"].to_list(),
            g.filter(pl.col("held_out"))["household_pid"].to_list(),
        )
        for (m,), g in draws_frame.group_by("as_of")
    }
    out = []
    for c, as_of in enumerate(months):
        draws = [(m, *by_month.get(m, ([], []))) for m in months[:c]]
        # a run with `--hold-months` ended each hold-out that long after its draw
        entries = first_lottery(draws, settings["generation_months"], settings.get("hold_months"))
        seen = crises.filter(pl.col("month") < as_of)
        out.append(
            visit_effect(
                entries,
                visits,
                seen,
                as_of,
                settings["effect_months"],
                [settings["seed"], c],
                by_list=by_list,
            )
        )
    return out


def said(effect: dict) -> str:
    """An estimate and its interval in a line: `none` where it cannot be told."""
    if effect["estimate"] is None:
        return "none"
    high = "none" if effect["high"] is None else f"{effect['high']:+.2f}"
    return f"{effect['estimate']:+.2f} ({effect['low']:+.2f} to {high})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--work", type=Path, required=True, help="The run's --work folder.")
    ap.add_argument("--arm", default="safe")
    ap.add_argument(
        "--pooled-beside",
        action="store_true",
        help="Also the estimate with the list months pooled (as before 2026-12-07), kept under "
        "`<arm>.effect_pooled` to compare.",
    )
    args = ap.parse_args()
    doc = json.loads(args.results.read_text())
    s = doc["settings"]
    warehouse = args.work / f"{s['households']}-seed{s['seed']}" / args.arm / "warehouse.duckdb"
    if not warehouse.is_file():
        sys.exit(f"No kept warehouse for the {args.arm} arm at {warehouse}.")
    months = [c["as_of"] for c in doc["cycles"]]
    pooled = effects(warehouse, months, s, by_list=False) if args.pooled_beside else None
    for i, (cycle, effect) in enumerate(
        zip(doc["cycles"], effects(warehouse, months, s), strict=True)
    ):
        arm = cycle[args.arm]
        if pooled is not None:
            arm["effect_pooled"] = pooled[i]
        if arm.get("effect") != effect:
            arm["effect_before"] = arm.get("effect")
        arm["effect"] = effect
        print(
            f"cycle {cycle['cycle']:>2} {cycle['as_of']}: {said(effect)}"
            + (f", pooled {said(pooled[i])}" if pooled is not None else "")
            + f", true {cycle['true_effect']:+.2f}"
        )
    args.results.write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
