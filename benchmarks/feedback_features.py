"""Designs for what the visits did to a closed-loop cycle's TRAINING FEATURES (issue 26),
measured on kept warehouses before a whole loop: an effect arm's (`--arm`, e.g.
<work>/40000-seed351/safe) and, for each design's own cost where a visit changes nothing, the
same seed's effect-0 world (`--reference`). By hand, with `nice`:

    nice -n 5 .venv/bin/python -m benchmarks.feedback_features \\
        --arm /tmp/loop4/w02/40000-seed351/safe \\
        --reference /tmp/loop4/work/40000-seed351/naive --months 2025-10,2025-12

benchmarks/feedback_labels.py split a cycle's net loss into features scored, training features
(`true_labels` less `reference_on_arm`: a visited household's history holds fewer crises) and
labels. Here each world's cycle is rebuilt as `feedback_labels.window` does (features at M-12,
labels to M, from the warehouse as it is at the end) and trained with Hearth's label rule as the
safe arm trains (`corrected_rule` with the ratio the lottery read at M), then with each design
for the households with a completed visit from a list in the 12 months before M-12
(`visit_features.first_visits`):

- `base`: the features as built (the safe arm's rule until now);
- `frozen`: Hearth's rule now: their features as of the month of their first visit
  (`visit_features.frozen_window`); `frozen_scored`: the same model, the scoring date's
  features of the households visited in the 12 months before M frozen alike;
- `moved_on`: only what counts their records as of their first visit, time moving on to
  M-12: each "months since" aged by the months since the visit, their household make-up and
  area rates as built (`TimeMovesOn`): the frozen row's "months since" were up to 11 months
  old, the likely cost that offset its gain in the whole loop (measured, not taken:
  docs/performance.md);
- `excluded`: their rows left out, the held-out households weighted by 1 / their chance of
  being held out (`held_out_chances`) standing in;
- `indicator` / `indicator_scored`: a 0/1 "visited from a list in the 12 months before" feature,
  scored as 0 for everyone / as it is at M.

Writes benchmarks/results/feedback-features-<stamp>-<tag>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.feedback_labels import _fit, _ratio, started, window
from benchmarks.run import RESULTS
from hearth.features.catalogue import NO_EVENT_MONTHS
from hearth.modelling.training.visit_features import FeaturesAt
from hearth.months import months_between

VISITED = "visited_from_list_12m"
DESIGNS = ("frozen", "moved_on", "excluded")
RECENCY = "_months_since"


@dataclass(frozen=True)
class TimeMovesOn:
    """The design `moved_on`: of a visited household's row as of its first visit, only what
    counts its records stays; time moves on to the window's date. Each "months since" is the
    frozen one plus the months from the visit to the window's date (the records before the
    visit, read at the window's date; none inside the longest window, `NO_EVENT_MONTHS`, past
    it), and the columns in `as_built` (the household's make-up and its area's recording rates,
    which a visit does not change) are the window's own. The counts and trends stay as of the
    visit, as in Hearth's rule (`visit_features.frozen_window`)."""

    as_built: frozenset[str]
    longest: int  # the longest window a "months since" looks back over, in months

    def apply(self, then: pl.DataFrame, elapsed: int) -> pl.DataFrame:
        """Rows as of the visit read `elapsed` months later: without the `as_built` columns
        (so `frozen_window` keeps the window's own), their "months since" moved on."""
        aged = [
            pl.when(pl.col(c) + elapsed <= self.longest)
            .then(pl.col(c) + elapsed)
            .otherwise(pl.lit(NO_EVENT_MONTHS))
            .cast(then.schema[c])
            .alias(c)
            for c in then.columns
            if c.endswith(RECENCY)
        ]
        return then.drop([c for c in then.columns if c in self.as_built]).with_columns(aged)

    def at(self, features_at: FeaturesAt, as_of: str) -> FeaturesAt:
        """`features_at` for `frozen_window` at the window's date `as_of`, time moved on."""
        return lambda month, pids: self.apply(
            features_at(month, pids), months_between(month, as_of)
        )


def time_moves_on() -> TimeMovesOn:
    """`TimeMovesOn` for the catalogue: its household features and the area recording rates
    as built; its longest window."""
    from hearth.features.catalogue import load_catalogue

    cat = load_catalogue()
    area = {name for name, _agency, where in cat.recording if where is not None}
    household = {f.name for f in cat.features if f.kind == "household"}
    return TimeMovesOn(frozenset(household | area), max(cat.windows))


def _design_ratios(world: Path, as_of: str, args, corrected: bool) -> dict:
    from hearth.features.build import build_features
    from hearth.features.design import cap_recency, history_months, recency_cap
    from hearth.modelling.training.offer_correction import corrected_rule, offer_ratio
    from hearth.modelling.training.safe_updating import held_out_chances, holdout_copies
    from hearth.modelling.training.visit_features import first_visits, frozen_window
    from hearth.warehouse import connect

    out: dict = {}
    with connect(world / "warehouse.duckdb", read_only=True) as con:
        w = window(con, as_of)
        names, pids, y, T = w["names"], w["pids"], w["y"], w["train_as_of"]
        cap = recency_cap(history_months(con, T))
        truth = world / "_truth"
        ratio = offer_ratio(con, as_of) if corrected else None
        copies = (
            corrected_rule(con, T, as_of, ratio).copies(pids, y)
            if ratio is not None
            else np.ones(pids.size, dtype=np.int64)
        )
        out["offer_ratio"] = ratio
        visits = first_visits(con, T)
        visited = np.isin(pids, list(visits))
        out["visited_before_training_date"] = int(visited.sum())
        built: dict[str, pl.DataFrame] = {}

        def features_at(month: str, _pids: list[str]) -> pl.DataFrame:
            if month not in built:  # built again, as where no feature set was kept
                built[month] = build_features(con, month)
            return built[month]

        train_frame = cap_recency(build_features(con, T), cap)
        assert np.array_equal(train_frame["household_pid"].to_numpy(), pids)
        frozen_frame, frozen = frozen_window(
            train_frame, T, visits, features_at, lambda f: cap_recency(f, cap)
        )
        out["frozen_rows"] = frozen.replaced
        moved_at = time_moves_on().at(features_at, T)
        moved_frame, moved = frozen_window(
            train_frame, T, visits, moved_at, lambda f: cap_recency(f, cap)
        )
        out["moved_on_rows"] = moved.replaced
        out["moved_on_cells_unlike_frozen"] = _cells_unlike(moved_frame, frozen_frame, names)
        score = w["score"]
        score_visits = first_visits(con, as_of)
        score_frozen, frozen = frozen_window(
            score, as_of, score_visits, features_at, lambda f: cap_recency(f, cap)
        )
        out["frozen_scored_rows"] = frozen.replaced
        chances = held_out_chances(con, T, as_of)
        out["held_out_households"] = len(chances)

        def fit_rows(X, cp, names_=names):
            take = np.repeat(np.arange(pids.size), cp)
            return _fit(X[take], y[take], pids[take], names_, args.max_iter)

        def X_of(frame, names_=names):
            return frame.select(names_).to_numpy().astype(np.float32)

        r = out["ratio_to_oracle"] = {}
        t0 = time.perf_counter()
        want = set(args.designs.split(","))
        r["base"] = _ratio(truth, fit_rows(w["X"], copies), score, names, as_of)
        if want & {"frozen", "frozen_scored"}:
            model = fit_rows(X_of(frozen_frame), copies)
            r["frozen"] = _ratio(truth, model, score, names, as_of)
            r["frozen_scored"] = _ratio(truth, model, score_frozen, names, as_of)
        if "moved_on" in want:
            r["moved_on"] = _ratio(truth, fit_rows(X_of(moved_frame), copies), score, names, as_of)
        if "excluded" not in want:
            out["fit_seconds"] = round(time.perf_counter() - t0, 1)
            return out
        ex = copies * ~visited * holdout_copies(pids, chances)
        r["excluded"] = _ratio(truth, fit_rows(w["X"], ex), score, names, as_of)
        names_v = [*names, VISITED]
        tf = train_frame.with_columns(pl.Series(VISITED, visited.astype(np.float32)))
        model = fit_rows(X_of(tf, names_v), copies, names_v)
        s0 = score.with_columns(pl.lit(0.0, dtype=pl.Float32).alias(VISITED))
        r["indicator"] = _ratio(truth, model, s0, names_v, as_of)  # with excluded: all of them
        sv = score["household_pid"].is_in(list(score_visits)).cast(pl.Float32)
        r["indicator_scored"] = _ratio(
            truth, model, score.with_columns(sv.alias(VISITED)), names_v, as_of
        )
        out["fit_seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _cells_unlike(a: pl.DataFrame, b: pl.DataFrame, names: list[str]) -> dict[str, int]:
    """Per kind of feature (by name: "months since", trend, the rest), how many cells of the
    two frames (same households, same order) differ: what a design changed against another."""
    kinds = {"months_since": [c for c in names if c.endswith("_months_since")]}
    kinds["trend"] = [c for c in names if c.endswith("_trend")]
    kinds["other"] = [c for c in names if c not in kinds["months_since"] + kinds["trend"]]
    return {k: int(sum((a[c] != b[c]).sum() for c in cols)) for k, cols in kinds.items() if cols}


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--arm", type=Path, required=True, help="An effect arm's work folder.")
    ap.add_argument("--reference", type=Path, help="The same seed's effect-0 arm's folder.")
    ap.add_argument("--months", required=True, help="As-of months, comma-separated.")
    ap.add_argument("--max-iter", type=int, default=150)
    ap.add_argument(
        "--designs",
        default=",".join(DESIGNS),
        help=f"Which designs to fit beside base, comma-separated ({', '.join(DESIGNS)}; "
        "excluded brings the indicator designs too).",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    result, path = started(args, "feedback-features")
    with threadpool_limits(limits=1):
        for as_of in args.months.split(","):
            month = {"as_of": as_of, "arm": _design_ratios(args.arm, as_of, args, True)}
            if args.reference:
                month["reference"] = _design_ratios(args.reference, as_of, args, False)
            result["months"].append(month)
            result["seconds"] = round(time.perf_counter() - t0, 1)
            path.write_text(json.dumps(result, indent=2, default=str) + "\n")
            print(json.dumps(month, indent=2), file=sys.stderr, flush=True)
    return path


if __name__ == "__main__":
    main()
