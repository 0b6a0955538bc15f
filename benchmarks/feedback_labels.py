"""Where a closed-loop cycle's ratio goes, net of its effect-0 reference (issue 26): into the
features the model scores or trains on, or into the training labels the visits changed, and
how far ~50 labels among the listed households move the ratio on their own. Run on kept warehouses
(benchmarks/feedback.py `--work`): an effect arm's (`--arm`, e.g. <work>/40000-seed341/safe)
and the same seed's effect-0 world (`--reference`, a reference run's naive arm), by hand, with
`nice`:

    nice -n 10 .venv/bin/python -m benchmarks.feedback_labels \\
        --arm /tmp/f-share/work/40000-seed341/safe \\
        --reference /tmp/f-history-fb/placebo/40000-seed341/naive --months 2025-02

For each as-of month it rebuilds what the cycle trained on (features at M-12, labels over the
12 months to M, from the warehouse as it is at the end: records that arrived after M count,
so a figure can differ from the run's by a few thousandths) and fits Hearth's gradient-boosted
candidate, as `feedback.Arm.lister` does, for:

- `reference`: the effect-0 world's own training; `reference_on_arm`: that model scoring the
  arm's features at M (what the visits changed in the features scored: fewer recent crises);
- `true_labels`: the arm's features with the labels it would have had without the visits
  (recorded crises or one the visits prevented, `_truth/prevented.parquet`): in a world whose
  crises are the reference's with some prevented, the reference's own labels; against
  `reference_on_arm`, what the visits changed in the training window's features (a visited
  household's history holds fewer crises);
- `safe`: Hearth's correction with the ratio the lottery read at M (`offer_ratio`), as the
  safe arm trained; `known`: the same with `--known-ratio`;
- `flip_changed_<i>` / `flip_any_<i>`: the true labels with as many crises removed at random
  (as the visits removed) among the households a list changed / among all; `swap_changed_<i>`:
  as many removed and as many added among the changed, a change with no direction: the ratio's
  own sensitivity to which labels of the listed households move.

Writes benchmarks/results/feedback-labels-<stamp>-<tag>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import RESULTS, _commit, expected_quality


def true_labels(
    pids: np.ndarray, y: np.ndarray, prevented: pl.DataFrame, train_as_of: str, as_of: str
) -> np.ndarray:
    """The labels of the window from `train_as_of` to `as_of` (months) without the visits: a
    household is 1 if it had a crisis recorded (`y`) or one the visits prevented in the window
    (`prevented`: household_pid, event_date)."""
    lo, hi = f"{train_as_of}-01", f"{as_of}-01"
    when = pl.col("event_date").cast(pl.String)
    hit = set(prevented.filter((when >= lo) & (when < hi))["household_pid"].to_list())
    return np.maximum(np.asarray(y, dtype=int), np.isin(pids, list(hit)).astype(int))


def perturb(
    y: np.ndarray, pool: np.ndarray, n: int, rng: np.random.Generator, swap: bool = False
) -> np.ndarray:
    """`y` with `n` crises of the households in `pool` (a mask) set to 0 at random, and with
    `swap` as many households of `pool` without one set to 1."""
    out = np.asarray(y, dtype=int).copy()
    out[rng.choice(np.flatnonzero(pool & (out == 1)), n, replace=False)] = 0
    if swap:
        out[rng.choice(np.flatnonzero(pool & (np.asarray(y) == 0)), n, replace=False)] = 1
    return out


def _fit(X, y, pids, names, max_iter: int):
    from hearth.modelling.training.fit import fit_candidate
    from hearth.modelling.training.params import TrainParams

    params = TrainParams(calibration="isotonic", max_iter=max_iter).sized(int(y.sum()), len(y))
    return fit_candidate("gradient_boosting", X, y, pids, names, params)


def _ratio(truth: Path, model, score: pl.DataFrame, names: list[str], as_of: str) -> float:
    p = model.predict_proba(score.select(names).to_numpy().astype(np.float32))[:, 1]
    scores = pl.DataFrame({"household_pid": score["household_pid"], "score": p})
    return expected_quality(truth, scores, as_of)["precision_ratio_to_oracle"]


def window(con, as_of: str) -> dict:
    """What a cycle at `as_of` trains on and scores, from a kept warehouse."""
    from hearth.features.build import build_features, build_labels
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import cap_recency, history_months, recency_cap
    from hearth.months import add_months

    train_as_of = add_months(as_of, -12)
    history = history_months(con, train_as_of)
    names, cap = load_catalogue().usable_names(history), recency_cap(history)
    feats = build_features(con, train_as_of)
    y = build_labels(con, feats["household_pid"], train_as_of).to_numpy().astype(int)
    return {
        "train_as_of": train_as_of,
        "names": names,
        "pids": feats["household_pid"].to_numpy(),
        "X": cap_recency(feats, cap).select(names).to_numpy().astype(np.float32),
        "y": y,
        "score": cap_recency(build_features(con, as_of), cap),
    }


def decompose(arm: Path, reference: Path, as_of: str, args, rng) -> dict:
    from hearth.modelling.training.censoring import first_listed
    from hearth.modelling.training.offer_correction import corrected_rule, offer_ratio
    from hearth.warehouse import connect

    out: dict = {"as_of": as_of}
    with (
        connect(arm / "warehouse.duckdb", read_only=True) as con,
        connect(reference / "warehouse.duckdb", read_only=True) as ref_con,
    ):
        a, r = window(con, as_of), window(ref_con, as_of)
        names, pids, X = a["names"], a["pids"], a["X"]
        fit = lambda X_, y_, p_: _fit(X_, y_, p_, names, args.max_iter)  # noqa: E731
        truth = arm / "_truth"
        prevented = pl.read_parquet(truth / "prevented.parquet")
        y_true = true_labels(pids, a["y"], prevented, a["train_as_of"], as_of)
        ref_y = dict(zip(r["pids"].tolist(), r["y"].tolist(), strict=True))
        aligned = np.array([ref_y.get(p, -1) for p in pids])
        changed_at = first_listed(con, a["train_as_of"], as_of)
        changed = np.isin(pids, list(changed_at))
        flipped = int((y_true != a["y"]).sum())
        out["labels"] = {
            "crises_recorded": int(a["y"].sum()),
            "crises_without_visits": int(y_true.sum()),
            "crises_in_reference": int(r["y"].sum()),
            "removed_by_visits": flipped,
            "removed_among_changed": int(((y_true != a["y"]) & changed).sum()),
            "differ_from_reference": int(((aligned >= 0) & (aligned != y_true)).sum()),
            "changed_households": int(changed.sum()),
            "changed_with_crisis_without_visits": int((changed & (y_true == 1)).sum()),
        }
        ratios = out["ratio_to_oracle"] = {}
        model = fit(r["X"], r["y"], r["pids"])
        ratios["reference"] = _ratio(reference / "_truth", model, r["score"], names, as_of)
        ratios["reference_on_arm"] = _ratio(truth, model, a["score"], names, as_of)
        ratios["true_labels"] = _ratio(truth, fit(X, y_true, pids), a["score"], names, as_of)
        ratio_read = offer_ratio(con, as_of)
        out["offer_ratio_read"] = ratio_read
        for key, ratio in (("safe", ratio_read), ("known", args.known_ratio)):
            if ratio is None:
                continue
            copies = corrected_rule(con, a["train_as_of"], as_of, ratio).copies(pids, a["y"])
            take = np.repeat(np.arange(pids.size), copies)
            model = fit(X[take], a["y"][take], pids[take])
            ratios[key] = _ratio(truth, model, a["score"], names, as_of)
            out[f"{key}_added_copies"] = int(copies.sum() - copies.size)
        for i in range(args.draws):
            for key, pool, swap in (
                ("flip_changed", changed, False),
                ("flip_any", np.ones_like(changed), False),
                ("swap_changed", changed, True),
            ):
                y = perturb(y_true, pool, flipped, rng, swap)
                ratios[f"{key}_{i}"] = _ratio(truth, fit(X, y, pids), a["score"], names, as_of)
    return out


_HEADER = ("arm", "reference", "out")


def started(args: argparse.Namespace, kind: str) -> tuple[dict, Path]:
    """A result's header (stamp, commit, the two warehouses, the settings) and its file's path."""
    result = {
        "stamp": datetime.now().strftime("%Y-%m-%dT%H%M%S"),
        "commit": _commit(),
        "arm": str(args.arm),
        "reference": str(args.reference),
        "settings": {
            k: str(v) for k, v in vars(args).items() if k not in ("arm", "reference", "out")
        },
        "months": [],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    return result, args.out / f"{kind}-{result['stamp']}{tag}.json"


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--arm", type=Path, required=True, help="An effect arm's work folder.")
    ap.add_argument(
        "--reference", type=Path, required=True, help="The same seed's effect-0 arm's folder."
    )
    ap.add_argument("--months", required=True, help="As-of months, comma-separated.")
    ap.add_argument("--known-ratio", type=float, default=0.82)
    ap.add_argument("--draws", type=int, default=2, help="Random label changes of each kind.")
    ap.add_argument("--max-iter", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    rng, t0 = np.random.default_rng(args.seed), time.perf_counter()
    result, path = started(args, "feedback-labels")
    with threadpool_limits(limits=1):
        for as_of in args.months.split(","):
            result["months"].append(decompose(args.arm, args.reference, as_of, args, rng))
            result["seconds"] = round(time.perf_counter() - t0, 1)
            path.write_text(json.dumps(result, indent=2, default=str) + "\n")
            print(json.dumps(result["months"][-1], indent=2), file=sys.stderr, flush=True)
    return path


if __name__ == "__main__":
    main()
