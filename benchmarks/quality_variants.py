"""Where the ratio to the oracle is lost on the world that does not flatter the model: the
recipe's gradient-boosted trees fitted again on the newest labelled year (features at T-12,
crises in (T-12, T]) with one change at a time, each scoring T and compared with the oracle's
ranking as `benchmarks/quality.py` compares the recipe (expected precision at 1%). Ranking only:
the calibration does not move the order, so the fits here are raw. Run by hand on a world
`benchmarks/quality.py --build-only` built (one at a time, `nice -n 10`):

    .venv/bin/python -m benchmarks.quality --households 20000 --seed 202 --realistic --build-only
    .venv/bin/python -m benchmarks.quality_variants --households 20000 --seed 202 --realistic \
        --variants base,true_themes,area,pooled_full

Variants (comma-separated; `+` combines them, e.g. `area+free_protective`):
- `base`: the recipe's refit as it is (the catalogue's features, monotone, trees sized).
- `no_monotone`: no monotone constraints.
- `true_themes`: besides the catalogue's features, each problem's records added up as the
  world's drawn table ties them (read from the truth: the best any learned grouping could do).
- `area`: each source's records in 12 months, and its ward's and authority's mean per household
  (the areas record at their own rates).
- `free_protective`: the record kinds that turned protective in the drawn table left
  unconstrained (read from the truth: the best a data-driven direction could do).
- `no_recording`: without the catalogue's `recording` features (each agency's records in all
  and their ward's and authority's mean): the catalogue before they were added.
- `oof_stop`: the trees cross-fitted as the recipe fits them, the boosting iterations kept as
  many as give the lowest out-of-fold log-loss (hearth/modelling/training/stopping.py:
  best_iterations); the catalogue's monotone constraints (not combined with the rest).
- `services_free`: the kinds of record that are a service put in place (early help, a child in
  need plan, an adult care package) or a false alarm left unconstrained, as the catalogue's
  `not_signs_of_need` leaves the smoking statuses, smoke alarms and safety visits: a service is
  a sign of need and also a measure that lowers risk, so its direction is not certain on real
  data (chosen from what the records are, not from the drawn table).
- `leaves_200`: one leaf per 200 crises in training instead of 400.
- `iter_<n>`: n boosting iterations instead of 150.
- `pooled_min`, `pooled_full`: training rows from T-12, T-15 and T-18 stacked (three times the
  crises; the features built at the two earlier dates here), with the features usable at T-18's
  history (`min`) or at T-12's, counted over the shorter history where it is shorter (`full`).
- `pooled21`: rows from T-12, T-15, T-18 and T-21 stacked, every feature usable at T-12's
  history (counted over the shorter history where shorter). With `+oof_stop` it is fitted as the
  recipe fits the trees: five cross-fit folds by household pseudonym (one household's
  snapshots all in one fold: hearth/modelling/training/sampling.py:household_folds) and the
  iterations kept by the out-of-fold log-loss over every pooled row; the trees sized to the
  pooled crises (as `TrainParams.sized` would size them), or with `+size_newest` to the newest
  year's crises alone (the snapshots are the same households again, not new ones).

Reads the world's truth only after each fit. Writes
benchmarks/results/quality-variants-<date>-<households>-seed<seed>[-realistic].json."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import RESULTS, _commit, expected_quality

WINDOWS = (3, 6, 12, 24, 36)


def _chains(cat, truth: Path) -> tuple[dict[str, str], set[str]]:
    """Each event feature's problem in the drawn table, and the kinds that turned protective."""
    world = json.loads((truth / "world.json").read_text())
    # the world's key (source, event type, attributes) -> the catalogue's event code
    code_key = dict(cat.event_codes)
    chain, protective = {}, set()
    for k in world["keys"]:
        values = [v for _, v in (k.get("attrs") or [])]
        for code in (
            ":".join([k["source"], k["event_type"], *values]),
            ":".join([k["source"], *values, k["event_type"]]),  # social care: service first
        ):
            if code in code_key and k["vuln"] is not None:
                chain.setdefault(code_key[code], k["vuln"])
                if not k["crisis"] and k["lam1"] < k["lam0"]:
                    protective.add(code_key[code])
    return chain, protective


def _true_themes(frame: pl.DataFrame, chain: dict[str, str]) -> tuple[pl.DataFrame, list[str]]:
    exprs = []
    for problem in sorted(set(chain.values())):
        keys = [k for k, c in chain.items() if c == problem]
        exprs += [
            pl.sum_horizontal([pl.col(f"{k}_{w}m") for k in keys]).alias(f"true_{problem}_{w}m")
            for w in WINDOWS
            if f"{keys[0]}_{w}m" in frame.columns
        ]
        exprs.append(
            pl.min_horizontal([pl.col(f"{k}_months_since") for k in keys]).alias(
                f"true_{problem}_months_since"
            )
        )
    return frame.with_columns(exprs), [e.meta.output_name() for e in exprs]


def _area(frame: pl.DataFrame, cat) -> tuple[pl.DataFrame, list[str]]:
    new, exprs = [], []
    for s in cat.agencies:
        keys = [f.key for f in cat.features if f.kind == "recency" and not f.members]
        keys = [k for k in keys if cat.by_name(f"{k}_12m").agency == s]
        exprs.append(pl.sum_horizontal([pl.col(f"{k}_12m") for k in keys]).alias(f"src_{s}_12m"))
        new.append(f"src_{s}_12m")
    frame = frame.with_columns(exprs)
    means = []
    for s in cat.agencies:
        for area in ("ward_code", "la_code"):
            name = f"{area.split('_')[0]}_{s}_12m"
            means.append(pl.col(f"src_{s}_12m").mean().over(area).alias(name))
            new.append(name)
    return frame.with_columns(means), new


def _dates(con, design, backs: list[int]) -> dict[int, tuple[pl.DataFrame, np.ndarray, int]]:
    """Features and labels at T-back for each back (built here where missing)."""
    from hearth.features.build import (
        build_features,
        build_labels,
        features_folder,
        load_window,
    )
    from hearth.features.design import history_months
    from hearth.months import add_months

    folder, out = features_folder(con), {}
    for back in backs:
        d = add_months(design.score_as_of, -back)
        if not (folder / f"labels_{d}.parquet").exists():
            f = build_features(con, d)
            y = build_labels(con, f["household_pid"], d)
            labels = pl.DataFrame({"household_pid": f["household_pid"], "crisis_12m": y})
            labels.with_columns(pl.lit(d).alias("as_of")).write_parquet(
                folder / f"labels_{d}.parquet"
            )
            f.with_columns(pl.lit(d).alias("as_of")).write_parquet(folder / f"features_{d}.parquet")
        feats, labels = load_window(con, d)
        y = feats.select("household_pid").join(labels, on="household_pid", how="left")
        out[back] = (feats, y["crisis_12m"].fill_null(0).to_numpy(), history_months(con, d))
    return out


def _backs(parts: set[str]) -> list[int]:
    """The training as-of months of a variant, in months before T."""
    if "pooled21" in parts:
        return [12, 15, 18, 21]
    if parts & {"pooled_min", "pooled_full"}:
        return [12, 15, 18]
    return [12]


def run(work: Path, variants: list[str]) -> list[dict]:
    from hearth.features.build import load_window
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import Design, cap_recency, recency_cap
    from hearth.modelling.training.fit import make_estimator, raw_fits
    from hearth.modelling.training.params import TrainParams
    from hearth.warehouse import connect

    cat = load_catalogue()
    truth = work / "_truth"
    chain, protective = _chains(cat, truth)
    backs_of = {v: _backs(set(v.split("+"))) for v in variants}
    pooled = any(len(b) > 1 for b in backs_of.values())
    with connect(work / "bench.duckdb", read_only=not pooled) as con:
        design = Design.for_run(con, None)
        dates = _dates(con, design, sorted({b for bs in backs_of.values() for b in bs}))
        score_raw, _ = load_window(con, design.score_as_of)
    out = []
    for v in variants:
        parts = set(v.split("+"))  # changes combined, e.g. area+free_protective
        params, mono = TrainParams(), "no_monotone" not in parts
        backs = backs_of[v]
        history = dates[12][2] if "pooled_min" not in parts else min(dates[b][2] for b in backs)
        names, cap = cat.usable_names(history), recency_cap(history)
        frames = [cap_recency(dates[b][0], cap) for b in backs]
        score = cap_recency(score_raw, cap)
        if "no_recording" in parts:
            names = [n for n in names if cat.by_name(n).kind != "recording"]
        cols = list(names)
        if "true_themes" in parts:
            frames = [_true_themes(f, chain)[0] for f in frames]
            score, extra = _true_themes(score, chain)
            cols += extra
        if "area" in parts:
            frames = [_area(f, cat)[0] for f in frames]
            score, extra = _area(score, cat)
            cols += extra
        if "leaves_200" in parts:
            params = replace(params, crises_per_leaf=200)
        if v.startswith("iter_"):
            params = replace(params, max_iter=int(v.split("_")[1]))
        X = np.vstack([f.select(cols).to_numpy().astype(np.float32) for f in frames])
        y = np.concatenate([dates[b][1] for b in backs])
        sized = params.sized(int(y.sum()), len(y))
        if "size_newest" in parts:  # the newest year's crises and households alone
            sized = params.sized(int(dates[12][1].sum()), len(dates[12][1]))
        est = make_estimator("gradient_boosting", replace(sized, monotone=False), cols)
        if mono:
            cst = cat.monotone_constraints(names) + [0] * (len(cols) - len(names))
            if "services_free" in parts:
                services = ("early_help", "child_in_need_plan", "care_package", "false_alarm")
                cst = [
                    0 if n in names and cat.by_name(n).key in services else c
                    for n, c in zip(cols, cst, strict=True)
                ]
            if "free_protective" in parts:
                free = {f"{k}_{s}" for k in protective for s in ("months_since", "trend")}
                free |= {f"{k}_{w}m" for k in protective for w in WINDOWS}
                cst = [0 if n in free else c for n, c in zip(cols, cst, strict=True)]
            est.set_params(monotonic_cst=cst)
        t, cpu = time.perf_counter(), time.process_time()
        if "oof_stop" in parts:
            pids = np.concatenate([f["household_pid"].to_numpy() for f in frames])
            est = raw_fits(["gradient_boosting"], X, y, pids, cols, sized, "crossfit")
            est = est["gradient_boosting"].model
        else:
            est.fit(X, y)
        s = est.predict_proba(score.select(cols).to_numpy().astype(np.float32))[:, 1]
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        scores = score.select("household_pid").with_columns(pl.Series("score", s))
        q = expected_quality(truth, scores, design.score_as_of)
        row = {
            "variant": v,
            "precision_ratio_to_oracle": round(q["precision_ratio_to_oracle"], 4),
            "model_expected_precision": round(q["model_expected_precision"], 4),
            "oracle_expected_precision": round(q["oracle_expected_precision"], 4),
            "crises_in_training": int(y.sum()),
            "training_rows": len(y),
            "features": len(cols),
            "tree_leaves": sized.max_leaf_nodes,
            "boosting_iterations": int(est.n_iter_),
            "fit_seconds": round(seconds, 1),
            "fit_cpu_seconds": round(cpu, 1),
            "snapshots": [f"T-{b}" for b in backs],
        }
        if "free_protective" in parts:
            row["protective_kinds"] = sorted(protective)
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def world_args(ap: argparse.ArgumentParser, households: int, seed: int) -> None:
    """The flags that name a world `benchmarks/quality.py --build-only` built."""
    ap.add_argument("--households", type=int, default=households)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--mess", type=float, default=0.01)
    ap.add_argument("--move", type=float, default=0.002)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-quality"))
    ap.add_argument("--realistic", action="store_true")


def built_world(args: argparse.Namespace) -> Path:
    """The world's folder, refused in a sentence when it was not built."""
    kind = "realistic" if args.realistic else "today"
    world = f"{args.households}-seed{args.seed}-mess{args.mess}-move{args.move}-{kind}"
    work = args.work / world
    if not (work / "built").exists():
        raise SystemExit(f"No world at {work}: build it with benchmarks.quality --build-only.")
    return work


def write_rows(name: str, key: str, args: argparse.Namespace, what: str, rows: list) -> Path:
    """benchmarks/results/<name>-<date>-<households>-seed<seed>[-realistic].json; runs of more
    rows on one world add up (`key` holds them), each row with its commit."""
    out = {
        "date": date.today().isoformat(),
        "commit": rows[0]["commit"] if rows else _commit(),
        "households": args.households,
        "seed": args.seed,
        "world": "realistic" if args.realistic else "today",
        "what": what,
        key: rows,
    }
    RESULTS.mkdir(exist_ok=True)
    tail = "-realistic" if args.realistic else ""
    path = RESULTS / f"{name}-{out['date']}-{args.households}-seed{args.seed}{tail}.json"
    if path.exists():
        before = json.loads(path.read_text())
        out = before | {key: before[key] + rows}
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"Wrote {path}")
    return path


def bench_main(doc: str, households: int, seed: int, option: str, default: str, run_rows) -> None:
    """A benchmark of rows on one built world: `--<option>` (comma-separated) are given to
    `run_rows(work, names)`, fitted on one thread as the recipe fits (TrainParams.fit_threads:
    shared cores); the rows written by `write_rows` under the option's name."""
    from hearth.modelling.training.threads import limited_threads

    ap = argparse.ArgumentParser(description=doc)
    world_args(ap, households, seed)
    ap.add_argument(f"--{option}", default=default)
    args = ap.parse_args()
    work = built_world(args)
    commit = _commit()
    with limited_threads(1):
        rows = [r | {"commit": commit} for r in run_rows(work, getattr(args, option).split(","))]
    first_line = doc.strip().splitlines()[0]
    name = "quality-variants" if option == "variants" else "quality-ceiling"
    write_rows(name, option, args, first_line, rows)


def main() -> None:
    bench_main(__doc__, 20_000, 201, "variants", "base,true_themes,area", run)


if __name__ == "__main__":
    main()
