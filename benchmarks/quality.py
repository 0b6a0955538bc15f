"""Model quality over area sizes, on fresh synthetic worlds (seeds the tests do not use). Run by
hand, never in CI, one at a time, with `nice -n 10`:

    .venv/bin/python -m benchmarks.quality --households 40000 --seed 101
    .venv/bin/python -m benchmarks.quality --households 40000 --seed 102 --mess 0.05 --move 0.01
    .venv/bin/python -m benchmarks.quality --households 40000 --seed 201 --realistic
    .venv/bin/python -m benchmarks.quality --households 100000 --seed 241 --realistic \
        --agency-identifiers

`--agency-identifiers` builds the world with the agencies' own identifiers (`hearth synth`'s
default, issue 25: police without NHS numbers and so on), each landing made by `hearth
pseudonymise` from the raw extract and the records without an exact key linked by their tokens;
`--exact-keys-only` is that world with the token links dropped. Without either, every agency
shares NHS numbers and UPRNs (`hearth synth --shared-keys`): the world of the quality runs
before 2026-12-07. The same seed gives the same households, people, events and truth in all
three, so issue 25's comparison is one seed run three ways.

`--realistic` builds the world that does not flatter the model (`hearth.synth.params.REALISTIC`:
a record-to-problem table drawn per seed, co-occurring problems, drift, areas that record
differently; docs/synthetic-world.md); without it, today's world. The targets of issue 27 are
measured on four fresh seeds of each, e.g. 201-204 at 40,000 and at 100,000 households.

Each run synthesises a 36-month world, runs the bare ingest, linkage and feature SQL, then the
champion recipe as the pipeline runs it (`train_and_evaluate`: every candidate, the selection,
the value-of-sharing table; then `refit_on_latest`) and scores the scoring date. Only here,
after the recipe has finished, is the world's truth read: the ranking is compared with the
oracle's (ranking by `p_crisis_12m`), and calibration with the true probabilities. Writes
benchmarks/results/quality-<date>-<households>-seed<seed>[-mess][-realistic].json."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import RESULTS, _commit, bare_recipe, expected_quality


def build_world(
    work: Path,
    households: int,
    seed: int,
    mess: float,
    move: float,
    realistic: bool = False,
    agency: bool = False,
) -> Path:
    """Synthesise, ingest, link and build the feature sets once; reused by later runs.
    `agency`: the agencies' own identifiers (police without NHS numbers and so on: the
    synthetic world's default since issue 25), each agency's landing made from its raw extract
    by `hearth pseudonymise` and the records without an exact key linked by their tokens, as a
    run links them; otherwise every agency shares NHS numbers and UPRNs (`--shared-keys`)."""
    from hearth.features.build import build_feature_sets
    from hearth.features.design import Design
    from hearth.ingest.run import ingest_source, landing_months
    from hearth.linkage.link import link, linkage_by_source
    from hearth.sources import SOURCES
    from hearth.synth import synthesise
    from hearth.synth.params import REALISTIC
    from hearth.warehouse import connect

    done = work / "built"
    if done.exists():
        _features_current(work)
        return work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    landing = work / "landing"
    synthesise(
        landing,
        work / "_truth",
        households=households,
        seed=seed,
        mess_rate=mess,
        move_rate=move,
        world=REALISTIC if realistic else None,
        identifiers="agency" if agency else "shared",
        raw=work / "_raw" if agency else None,
    )
    months = landing_months(landing)
    with connect(work / "bench.duckdb") as con:
        for s in SOURCES:
            ingest_source(con, landing, s, months)
        t = time.perf_counter()
        summary = link(con)
        linkage = {
            "seconds": round(time.perf_counter() - t, 1),
            "by_source": linkage_by_source(summary),
        }
        build_feature_sets(con, Design.for_run(con, None))
    (work / "features_built").write_text(FEATURES_BUILT + "\n")
    # the raw extracts (made-up names) are not needed once the landing is made
    shutil.rmtree(work / "_raw", ignore_errors=True)
    (work / "linkage.json").write_text(json.dumps(linkage, indent=1) + "\n")
    done.write_text("ok\n")
    return work


def exact_keys_only(agency: Path, work: Path) -> Path:
    """A copy of the agency-identifier world's warehouse with the token links dropped (the
    records no exact key linked count for no household) and its feature sets built again; the
    same truth. What linkage adds, beside the value of sharing."""
    from hearth.features.build import build_feature_sets
    from hearth.features.design import Design
    from hearth.warehouse import connect

    if (work / "built").exists():
        return work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "_truth").symlink_to((agency / "_truth").resolve())
    shutil.copy(agency / "bench.duckdb", work / "bench.duckdb")
    if (agency / "linkage.json").exists():  # the links as made, before they were dropped
        shutil.copy(agency / "linkage.json", work / "linkage.json")
    with connect(work / "bench.duckdb") as con:
        con.execute(
            "UPDATE linked_events SET household_pid = NULL, link_probability = NULL "
            "WHERE link_status = 'linked_by_tokens'"
        )
        build_feature_sets(con, Design.for_run(con, None))
    (work / "features_built").write_text(FEATURES_BUILT + "\n")
    (work / "built").write_text("ok\n")
    return work


# What the feature sets a world keeps were built as; a world built before this has its feature
# sets built again (`_features_current`). "3-year rate": the 3-year window kept per 2 years
# (hearth/features/windows.py: rate_scale), 2026-12-07.
FEATURES_BUILT = "3-year rate"


def _features_current(work: Path) -> None:
    """A world built before the catalogue gained a feature, or before the features changed
    what they hold (`FEATURES_BUILT`), has its feature sets built again (the warehouse is
    kept): the same households and records, today's features."""
    from hearth.features.build import build_feature_sets, features_folder
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import Design
    from hearth.warehouse import connect

    with connect(work / "bench.duckdb") as con:
        design = Design.for_run(con, None)
        kept = features_folder(con) / f"features_{design.score_as_of}.parquet"
        stamp = work / "features_built"
        built = stamp.read_text().strip() if stamp.exists() else ""
        if set(load_catalogue().names) <= set(pl.read_parquet_schema(kept)) and (
            built == FEATURES_BUILT
        ):
            return
        print(f"Building the feature sets of {work.name} again: the features have changed.")
        build_feature_sets(con, design)
    stamp.write_text(FEATURES_BUILT + "\n")


def run_recipe(work: Path, params, sharing: bool) -> dict:
    """The recipe of hearth/modelling/training/recipe.py without MLflow or the gate
    (benchmarks/run.py: bare_recipe, the end-to-end benchmark's bare training): select, refit,
    score at T."""
    from hearth.features.build import load_window
    from hearth.features.design import Design, cap_recency
    from hearth.warehouse import connect

    times: dict[str, float] = {}
    with connect(work / "bench.duckdb", read_only=True) as con:
        design = Design.for_run(con, None)
        result, households, crises = bare_recipe(con, design, params, sharing, times)
        score_frame, _ = load_window(con, design.score_as_of)
    frame = cap_recency(score_frame, result.recency_cap)
    X = frame.select(result.feature_names).to_numpy().astype(np.float32, copy=False)
    scores = result.model.predict_proba(X)[:, 1]
    return {
        "design": design,
        "result": result,
        "crises_in_training": crises,
        "training_households": households,
        "seconds_train_evaluate": round(times["train_evaluate"], 2),
        "seconds_total": round(times["recipe"], 2),
        "scores": frame.select("household_pid").with_columns(pl.Series("score", scores)),
    }


def boosting_iterations(model) -> int | None:
    """The trees' boosting iterations in a fitted candidate (under its calibration, or the
    ensemble's trees), None for a model without trees."""
    from hearth.modelling.training.fit import inner_estimator

    inner = inner_estimator(model)
    if hasattr(inner, "n_iter_"):
        return int(inner.n_iter_)
    # the ensemble's members, and the bagged trees' fold models (all cut to one count)
    for m in getattr(inner, "members", None) or []:
        got = boosting_iterations(m)
        if got is not None:
            return got
    return None


def train_params(settings: list[str]):
    """TrainParams with `name=value` settings over the defaults (`--train bagged_trees=true`),
    each value read as its field's type."""
    from dataclasses import fields, replace

    from hearth.modelling.training.params import TrainParams

    params = TrainParams()
    kinds = {f.name: type(getattr(params, f.name)) for f in fields(params)}
    changes = {}
    for item in settings:
        name, _, value = item.partition("=")
        if name not in kinds or kinds[name] not in (bool, int, float, str):
            raise SystemExit(f"--train {item}: {name!r} is not a TrainParams number, word or flag.")
        if kinds[name] is bool:
            if value.lower() not in ("true", "false"):
                raise SystemExit(f"--train {item}: {name} is true or false.")
            changes[name] = value.lower() == "true"
        else:
            changes[name] = kinds[name](value)
    return replace(params, **changes)


def calibration(truth: Path, scores: pl.DataFrame, as_of: str, share: float = 0.01) -> dict:
    """Brier score of the model and of the oracle against the crises there were, and the top
    `share`'s mean score against its mean true probability."""
    t = pl.read_parquet(truth / "households.parquet").filter(pl.col("as_of") == as_of)
    j = scores.join(t, on="household_pid", how="inner")
    y = j["crisis_12m"].to_numpy().astype(float)
    s, p = j["score"].to_numpy(), j["p_crisis_12m"].to_numpy()
    k = max(1, int(np.ceil(share * j.height)))
    top = j.sort(["score", "household_pid"], descending=[True, False]).head(k)
    out = {
        "model_brier": float(np.mean((s - y) ** 2)),
        "oracle_brier": float(np.mean((p - y) ** 2)),
        "top_mean_score": float(top["score"].mean()),
        "top_mean_true_probability": float(top["p_crisis_12m"].mean()),
    }
    out["brier_ratio_to_oracle"] = out["model_brier"] / out["oracle_brier"]
    out["top_score_ratio_to_truth"] = out["top_mean_score"] / out["top_mean_true_probability"]
    # the calibration plot's bands (hearth/modelling/evaluation/metrics.py), against the true
    # probability
    from hearth.modelling.evaluation.metrics import calibration_bands

    bands = calibration_bands(p, s, j["household_pid"].to_numpy())
    out["bands_score_to_truth"] = {
        r["band"]: round(r["mean_predicted"] / r["observed_rate"], 3)
        for r in bands.iter_rows(named=True)
    }
    return out


def _mechanisms(truth: Path) -> dict:
    """What the world drew (truth/world.json), without the long record table."""
    world = json.loads((truth / "world.json").read_text())
    mech = world.get("mechanisms")
    if not mech:
        return {}
    drawn = {k: v for k, v in mech["drawn"].items() if k != "table"}
    table = mech["drawn"].get("table", [])
    drawn["records_retied"] = sum(r["was"] != r["now"] for r in table)
    drawn["records_protective"] = sum(r["now"] is not None and r["lam1"] < r["lam0"] for r in table)
    return {"on": mech["on"], "drawn": drawn}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=40_000)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--mess", type=float, default=0.01)
    ap.add_argument("--move", type=float, default=0.002)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-quality"))
    ap.add_argument("--no-sharing", action="store_true", help="Skip the value-of-sharing table.")
    ap.add_argument("--tag", default="", help="A word for the results file name.")
    ap.add_argument("--build-only", action="store_true", help="Only build the world.")
    ap.add_argument(
        "--realistic",
        action="store_true",
        help="The world that does not flatter the model (every mechanism of params.REALISTIC).",
    )
    ap.add_argument(
        "--agency-identifiers",
        action="store_true",
        help="The agencies' own identifiers (hearth synth's default: police without NHS "
        "numbers, ..., linked by tokens); without it every agency shares NHS numbers and UPRNs "
        "(hearth synth --shared-keys), the world of every earlier quality run.",
    )
    ap.add_argument(
        "--exact-keys-only",
        action="store_true",
        help="The agency-identifier world (built as --agency-identifiers builds it, or reused) "
        "with the token links dropped: only records an exact key linked count.",
    )
    ap.add_argument(
        "--train",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="A training parameter over its default (TrainParams), e.g. bagged_trees=true "
        "for the bagged trees; may be given more than once.",
    )
    args = ap.parse_args()
    params = train_params(args.train)

    kind = "realistic" if args.realistic else "today"
    agency = args.agency_identifiers or args.exact_keys_only
    identifiers = "agency" if agency else "shared"
    world = f"{args.households}-seed{args.seed}-mess{args.mess}-move{args.move}-{kind}"
    world += "-agency" if agency else ""
    work = build_world(
        args.work / world,
        args.households,
        args.seed,
        args.mess,
        args.move,
        args.realistic,
        agency,
    )
    if args.exact_keys_only:
        identifiers = "agency, exact keys only"
        work = exact_keys_only(work, args.work / f"{world}-exact")
    if args.build_only:
        return
    run = run_recipe(work, params, sharing=not args.no_sharing)
    result, as_of = run["result"], run["design"].score_as_of
    truth = work / "_truth"
    quality = expected_quality(truth, run["scores"], as_of)
    sharing = {}
    if result.sharing.height:
        sharing = dict(result.sharing.select("model", "precision_at_1pct").iter_rows())
    out = {
        "date": date.today().isoformat(),
        "commit": _commit(),
        "households": args.households,
        "seed": args.seed,
        "mess_rate": args.mess,
        "move_rate": args.move,
        "world": kind,
        "identifiers": identifiers,
        "linkage": json.loads(linked.read_text())
        if (linked := work / "linkage.json").exists()
        else None,
        "world_mechanisms": _mechanisms(truth),
        "chosen": result.kind,
        "selection": result.selection,
        "choice": result.choice_sentence,
        "contact_count_fallback": result.contact_count_fallback,
        "calibration_method": result.calibration_method,
        "boosting_iterations": {
            "judged": boosting_iterations(result.eval_model or result.model),
            "publishing": boosting_iterations(result.model),
        },
        "crises_in_training": run["crises_in_training"],
        "training_households": run["training_households"],
        "seconds_train_evaluate": run["seconds_train_evaluate"],
        "seconds_recipe": run["seconds_total"],
        "quality_at_scoring_date": quality,
        "calibration_at_scoring_date": calibration(truth, run["scores"], as_of),
        "candidate_metrics": result.candidate_metrics,
        "publishing_calibration_check": result.publishing_calibration.to_dicts(),
        "value_of_sharing_p1": sharing,
        "train_overrides": args.train,
        "params": {
            k: v for k, v in vars(result.params).items() if isinstance(v, int | float | str)
        },
    }
    RESULTS.mkdir(exist_ok=True)
    extra = "-mess" if args.mess > 0.01 or args.move > 0.002 else ""
    extra += "-realistic" if args.realistic else ""
    extra += "-agency" if agency else ""
    extra += "-exact" if args.exact_keys_only else ""
    tag = f"-{args.tag}" if args.tag else ""
    path = RESULTS / f"quality-{out['date']}-{args.households}-seed{args.seed}{extra}{tag}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    q, c = quality, out["calibration_at_scoring_date"]
    print(
        f"{args.households} seed {args.seed} ({kind} world, {identifiers}): "
        f"chosen {result.kind}, "
        f"{run['crises_in_training']} crises in training, "
        f"ratio {q['precision_ratio_to_oracle']:.3f}, "
        f"brier ratio {c['brier_ratio_to_oracle']:.3f}, "
        f"top score/truth {c['top_score_ratio_to_truth']:.3f}, recipe {run['seconds_total']} s"
    )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
