"""Is the lottery's comparison fair on the closed loop? Draw the hold-out lottery again with many
keys on the same lists and see where the offered-against-held-out crisis ratio falls.

    nice -n 10 .venv/bin/python -m benchmarks.feedback --households 40000 --seed 307 \\
        --cycles 24 --effect 0 --arms naive --keep-scores --work /tmp/fb-placebo
    nice -n 10 .venv/bin/python -m benchmarks.lottery_placebo \\
        --arm /tmp/fb-placebo/40000-seed307/naive --keys 200 --share 0.2

Why this works: on a naive arm without an effect of a visit, the model trains on every household
and the list changes no crisis, so each cycle's scores do not depend on who the lottery held
out. Hearth's lottery (`hearth.modelling.holdout.draw_holdout`: the capacity margin, a salt per
generation, a household drawn staying held out until its generation ends) can then be drawn
again with any key on the kept scores, and each key's first-entry comparison
(`benchmarks.feedback.first_lottery`, the follow-up windows of `visit_effect`) is one draw of
what the lottery would have told. With no effect the true ratio is 1: the keys' mean log ratio
is the design's bias (first entries, generations, the margin), their spread the lottery's power
at this size, and the run's own key where its one draw fell.

Two comparisons per key, crisis records per household-month of follow-up: within each list's
lottery and pooled (Mantel-Haenszel on rates, as `list_effect.lottery_ratio` pools lists), and
pooled without the lists (as the complier estimate's intent-to-treat compared them before it
was compared within lists too). And, with
each key's 95% interval (so its coverage), by the log-linear regression within lists
(`benchmarks/lottery_regression.py`) plain and adjusted for what was known at the draw (crises
in the 12 months before the list, the score, and as a ceiling the true risk), in the benchmark's
follow-up window and in the report's (a crisis or not in the 6 months from the list's month, the
comparison Hearth's report and safe rule read), every entrant and the reachable ones (no list
named them in the year before: `list_effect.reachable`). `--hold-months 12` replays Hearth's
rule of holding a draw 12 months (`holdout_run.HOLD_MONTHS`) instead of to its generation's end;
`--margin none` a lottery over the whole list. Writes
benchmarks/results/lottery-placebo-<stamp>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.feedback import CRISES_SQL, RESULTS, first_lottery, follow_up_windows
from hearth.modelling.evaluation.fairness import Z95
from hearth.modelling.evaluation.list_effect import HORIZON_MONTHS as REPORT_HORIZON
from hearth.modelling.evaluation.list_effect import LISTED_BEFORE_MONTHS as LISTED_BEFORE

Draw = tuple[str, list[str], list[str]]


def load_cycles(folder: Path) -> tuple[dict, list[tuple[str, pl.DataFrame]]]:
    """The arm's settings and every cycle's scores, in month order."""
    settings_file = folder / "scores" / "settings.json"
    if not settings_file.exists():
        raise SystemExit(
            f"{folder} has no kept scores (scores/settings.json): run benchmarks.feedback with "
            "--keep-scores, --arms naive and --effect 0 first."
        )
    settings = json.loads(settings_file.read_text())
    if settings["arm"] != "naive" or settings["effect"] != 0:
        raise SystemExit(
            f"{folder} is the {settings['arm']} arm with an effect of {settings['effect']}: only "
            "a naive arm without effect has scores that do not depend on the lottery."
        )
    files = sorted(p for p in (folder / "scores").glob("*.parquet"))
    return settings, [(p.stem, pl.read_parquet(p)) for p in files]


def known_at_draw(folder: Path, cycles: list[tuple[str, pl.DataFrame]]) -> pl.DataFrame:
    """Each household's score at each list and (the ceiling no analyst has) its true risk
    without intervention then, from the world's `_truth`."""
    scores = pl.concat([s.select("household_pid", "score").with_columns(list=pl.lit(m))
                        for m, s in cycles])  # fmt: skip
    truth = pl.read_parquet(folder / "_truth" / "households.parquet").select(
        "household_pid", list="as_of", true_risk="p_crisis_12m"
    )
    return scores.join(truth, on=["household_pid", "list"], how="left")


def replay(
    cycles: list[tuple[str, pl.DataFrame]],
    key: bytes,
    *,
    capacity: int,
    share: float,
    margin: float | None,
    generation_months: int,
    hold_months: int | None = None,
    listed: dict[str, list[str]] | None = None,
) -> list[Draw]:
    """The lottery drawn with `key` on each cycle's scores, as the feedback benchmark draws it:
    each cycle's (as-of month, margin households placed on the list, households held out). A
    household drawn stays held out until its generation ends, or with `hold_months` for that
    many months from its draw (a design measured here, not the benchmark's)."""
    from hearth.modelling.holdout import draw_holdout

    held: dict[str, int] = {}  # household -> the cycle it was drawn
    draws: list[Draw] = []
    for i, (as_of, scores) in enumerate(cycles):
        gen = i // generation_months
        if hold_months is None:
            held = {h: c for h, c in held.items() if c // generation_months == gen}
        else:
            held = {h: c for h, c in held.items() if i - c < hold_months}
        open_ = scores.filter(~pl.col("household_pid").is_in(list(held)))
        drawn, _ = draw_holdout(
            open_,
            capacity=capacity,
            share=share,
            salt=f"generation-{gen}",
            key=key,
            margin=margin,
        )
        new_held = drawn.filter(pl.col("held_out"))["household_pid"].to_list()
        band = drawn.filter(pl.col("listed") & pl.col("in_margin"))["household_pid"].to_list()
        draws.append((as_of, band, new_held))
        if listed is not None:  # every household the list named (`listed_before`)
            listed[as_of] = drawn.filter(pl.col("listed"))["household_pid"].to_list()
        held.update({h: i for h in new_held})
    return draws


def follow_up(entries: pl.DataFrame, crises: pl.DataFrame, as_of: str, months: int) -> pl.DataFrame:
    """Each first entry's months and crises of follow-up, `visit_effect`'s window
    (`follow_up_windows`)."""
    e = follow_up_windows(entries, as_of, months)
    n = (
        e.join(crises, on="household_pid", how="inner")
        .filter((pl.col("month") >= pl.col("lo")) & (pl.col("month") < pl.col("hi")))
        .group_by("household_pid")
        .agg(n=pl.col("crises").sum())
    )
    return e.join(n, on="household_pid", how="left").with_columns(pl.col("n").fill_null(0))


def log_ratios(rows: pl.DataFrame) -> tuple[float, float]:
    """Offered over held out, crises per household-month: within lists (Mantel-Haenszel on
    rates) and pooled without them; NaN where either group has no crisis."""
    g = rows.group_by("list", "held_out").agg(
        pl.col("n").sum().cast(pl.Float64), pl.col("t").sum().cast(pl.Float64)
    )
    w = g.pivot(on="held_out", index="list", values=["n", "t"]).fill_null(0.0)
    if not {"n_false", "n_true"} <= set(w.columns):
        return float("nan"), float("nan")
    both = w.filter((pl.col("t_false") > 0) & (pl.col("t_true") > 0))
    big = both["t_false"] + both["t_true"]
    num = float((both["n_false"] * both["t_true"] / big).sum())
    den = float((both["n_true"] * both["t_false"] / big).sum())
    within = float(np.log(num / den)) if num > 0 and den > 0 else float("nan")
    offered = float(w["n_false"].sum()) / float(w["t_false"].sum())
    held = float(w["n_true"].sum()) / float(w["t_true"].sum())
    pooled = float(np.log(offered / held)) if offered > 0 and held > 0 else float("nan")
    return within, pooled


def prior_crises(entries: pl.DataFrame, crises: pl.DataFrame, months: int = 12) -> pl.Series:
    """Each entry's crises dated in the `months` months before its list's month: known before
    the draw, so the draw cannot have changed them (the covariate the adjustment uses)."""
    from hearth.months import add_months

    e = entries.with_columns(
        since=pl.Series([add_months(m, -months) for m in entries["list"]], dtype=pl.String)
    )
    n = (
        e.join(crises, on="household_pid", how="inner")
        .filter((pl.col("month") >= pl.col("since")) & (pl.col("month") < pl.col("list")))
        .group_by("household_pid")
        .agg(prior=pl.col("crises").sum())
    )
    got = e.select("household_pid").join(n, on="household_pid", how="left")
    return got["prior"].fill_null(0).cast(pl.Float64)


def listed_before(entries: pl.DataFrame, listed: dict[str, list[str]], months: int) -> pl.Series:
    """Whether a list named each entry's household in the `months` months before its list's
    month (the report's `listed_before`, hearth/modelling/evaluation/list_effect.py)."""
    from hearth.months import add_months

    named = pl.DataFrame(
        [(h, m) for m, hs in listed.items() for h in hs],
        schema={"household_pid": pl.String, "named": pl.String},
        orient="row",
    )
    e = entries.select("household_pid", "list").with_columns(
        since=pl.Series([add_months(m, -months) for m in entries["list"]], dtype=pl.String)
    )
    hit = (
        e.join(named, on="household_pid", how="inner")
        .filter((pl.col("named") >= pl.col("since")) & (pl.col("named") < pl.col("list")))
        .select("household_pid")
        .unique()
        .with_columns(before=pl.lit(True))
    )
    got = e.join(hit, on="household_pid", how="left")["before"].fill_null(False)
    return got


def report_window(
    entries: pl.DataFrame, crises: pl.DataFrame, as_of: str, horizon: int
) -> pl.DataFrame:
    """The report's outcome (`list_effect.lottery_outcomes`): crises from the list's month for
    `horizon` months, lists at least `horizon` months before `as_of`."""
    from hearth.months import add_months

    e = entries.filter(pl.col("list") <= add_months(as_of, -horizon)).with_columns(
        lo=pl.col("list"),
        hi=pl.Series(
            [add_months(m, horizon) for m in entries.filter(
                pl.col("list") <= add_months(as_of, -horizon))["list"]],
            dtype=pl.String,
        ),
    )  # fmt: skip
    n = (
        e.join(crises, on="household_pid", how="inner")
        .filter((pl.col("month") >= pl.col("lo")) & (pl.col("month") < pl.col("hi")))
        .group_by("household_pid")
        .agg(n=pl.col("crises").sum())
    )
    return e.join(n, on="household_pid", how="left").with_columns(
        pl.col("n").fill_null(0), t=pl.lit(1)
    )


def estimates(rows: pl.DataFrame, crises: pl.DataFrame, known: dict) -> dict[str, list]:
    """Each estimator's [log ratio, standard error of the log] on one key's entries: within
    lists as the report compares them (Mantel-Haenszel, Greenland-Robins error), and the
    log-linear regression with the lists as strata (`adjusted_ratio`), plain and adjusted for
    what was known at the draw: crises in the 12 months before the list, the score the list
    was drawn on, and (not known to Hearth: the ceiling) the true risk."""
    from benchmarks.lottery_regression import adjusted_ratio
    from hearth.modelling.evaluation.list_effect import lottery_ratio

    rows = rows.with_columns(prior=prior_crises(rows, crises)).join(
        known, on=["household_pid", "list"], how="left"
    )
    y, t = rows["n"].to_numpy(), rows["t"].to_numpy()
    off, strata = ~rows["held_out"].to_numpy(), rows["list"].to_numpy()
    prior = np.log1p(rows["prior"].to_numpy())
    score = np.log(rows["score"].to_numpy())
    truth = np.log(rows["true_risk"].to_numpy())
    out: dict[str, list] = {}

    def put(name: str, got: tuple) -> None:
        ratio, _, _, se = got
        out[name] = [float(np.log(ratio)) if ratio > 0 else float("nan"), se]

    if "listed_before" in rows.columns:  # the offer's comparison among the entrants it reaches
        r = rows.filter(~pl.col("listed_before"))
        frame = r.select(as_of="list", crisis=pl.col("n") > 0)
        held = r["held_out"]
        put("reachable_mh_binary", lottery_ratio(frame.filter(~held), frame.filter(held)))
        put(
            "reachable_strata",
            adjusted_ratio(r["n"].to_numpy(), ~held.to_numpy(), r["list"].to_numpy(),
                           exposure=r["t"].to_numpy()),
        )  # fmt: skip
    if (t == 1).all():  # the report's: one household one horizon, a crisis or not
        frame = rows.select(as_of="list", crisis=pl.col("n") > 0)
        held = rows["held_out"]
        put("mh_binary", lottery_ratio(frame.filter(~held), frame.filter(held)))
        put("strata_binary", adjusted_ratio(y > 0, off, strata))
        put("prior_binary", adjusted_ratio(y > 0, off, strata, prior[:, None]))
    put("strata", adjusted_ratio(y, off, strata, exposure=t))
    put("prior", adjusted_ratio(y, off, strata, prior[:, None], t))
    put("prior_score", adjusted_ratio(y, off, strata, np.c_[prior, score], t))
    put("score", adjusted_ratio(y, off, strata, score[:, None], t))
    put("truth", adjusted_ratio(y, off, strata, truth[:, None], t))
    put("prior_no_strata", adjusted_ratio(y, off, np.zeros(y.size), prior[:, None], t))
    return out


def one_key(cycles, crises, key: bytes, settings: dict, share: float, known=None) -> dict:
    hold = settings.get("hold_months")
    listed: dict[str, list[str]] = {}
    draws = replay(
        cycles[:-1],
        key,
        capacity=settings["capacity"],
        share=share,
        margin=settings["margin"],
        generation_months=settings["generation_months"],
        hold_months=hold,
        listed=listed,
    )
    entries = first_lottery(draws, settings["generation_months"], hold)
    rows = follow_up(entries, crises, cycles[-1][0], settings["effect_months"])
    within, pooled = log_ratios(rows)
    got = {
        "within_lists": within,
        "pooled": pooled,
        "entrants": rows.height,
        "held_out": int(rows["held_out"].sum()),
    }
    if known is not None:
        rows = rows.with_columns(listed_before=listed_before(rows, listed, LISTED_BEFORE))
        got["follow_up"] = estimates(rows, crises, known)
        report = report_window(entries, crises, cycles[-1][0], REPORT_HORIZON)
        report = report.with_columns(listed_before=listed_before(report, listed, LISTED_BEFORE))
        got["report"] = estimates(report, crises, known)
        got["reachable_share"] = round(1 - float(report["listed_before"].mean()), 3)
    return got


def estimator_summary(keys: list[dict], window: str) -> dict:
    """Per estimator over the keys: the mean log ratio (bias: the truth is 0), its spread
    (the lottery's power: the detectable effect scales with it), the mean standard error each
    key's interval used, and the share of the keys' 95% intervals covering 0."""
    out = {}
    for name in keys[0][window]:
        v = np.array([k[window][name] for k in keys], dtype=float)
        ok = np.isfinite(v).all(axis=1)
        est, se = v[ok, 0], v[ok, 1]
        out[name] = {
            "keys": int(ok.sum()),
            "mean_log_ratio": round(float(est.mean()), 4),
            "se_of_mean": round(float(est.std(ddof=1) / np.sqrt(est.size)), 4),
            "sd_log_ratio": round(float(est.std(ddof=1)), 4),
            "mean_standard_error": round(float(se.mean()), 4),
            "coverage_95": round(float((np.abs(est) <= Z95 * se).mean()), 3),
        }
    return out


def summary(values: np.ndarray) -> dict:
    v = values[np.isfinite(values)]
    return {
        "keys": int(v.size),
        "mean_log_ratio": round(float(v.mean()), 4),
        "se_of_mean": round(float(v.std(ddof=1) / np.sqrt(v.size)), 4),
        "sd_log_ratio": round(float(v.std(ddof=1)), 4),
        "share_above_zero": round(float((v > 0).mean()), 3),
        "quantiles_2.5_50_97.5": [round(float(q), 4) for q in np.quantile(v, [0.025, 0.5, 0.975])],
    }


def main(argv: list[str] | None = None) -> Path:
    import duckdb

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--arm", type=Path, required=True, help="A kept naive arm without effect.")
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--share", type=float, help="Hold-out share (the arm's own by default).")
    ap.add_argument(
        "--margin",
        help="The lottery's band in score units, or 'none' for the whole list (the arm's own "
        "by default).",
    )
    ap.add_argument(
        "--hold-months",
        type=int,
        help="A household drawn stays held out this many months from its draw instead of until "
        "its generation ends (a design, measured: every entrant can then be followed that long).",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    if args.keys < 2:
        ap.error("--keys must be at least 2.")
    settings, cycles = load_cycles(args.arm)
    share = settings["holdout_share"] if args.share is None else args.share
    if args.margin is not None:
        settings["margin"] = None if args.margin == "none" else float(args.margin)
    settings["hold_months"] = args.hold_months
    with duckdb.connect(str(args.arm / "warehouse.duckdb"), read_only=True) as con:
        crises = con.sql(CRISES_SQL).pl()
    known = known_at_draw(args.arm, cycles)
    t0 = time.perf_counter()
    keys = []
    for k in range(args.keys):
        key = hashlib.sha256(b"hearth-lottery-placebo:" + str(k).encode()).digest()
        keys.append(one_key(cycles, crises, key, settings, share, known))
        if k % 20 == 0 or k == args.keys - 1:
            print(f"[{time.perf_counter() - t0:6.1f} s] key {k + 1}/{args.keys}", file=sys.stderr)
    own = one_key(cycles, crises, bytes.fromhex(settings["lottery_key"]), settings, share, known)
    within = np.array([k["within_lists"] for k in keys])
    pooled = np.array([k["pooled"] for k in keys])
    sd = float(within[np.isfinite(within)].std(ddof=1))
    result = {
        "benchmark": "lottery_placebo",
        "stamp": datetime.now().strftime("%Y-%m-%dT%H%M%S"),
        "arm": str(args.arm),
        "settings": {**settings, "holdout_share": share, "cycles_kept": len(cycles)},
        "evaluated_at": cycles[-1][0],
        "true_log_ratio": 0.0,
        "within_lists": summary(within),
        "pooled_without_lists": summary(pooled),
        "estimators": {
            "follow_up": estimator_summary(keys, "follow_up"),
            "report": estimator_summary(keys, "report"),
        },
        "run_key": {**own, "within_lists_in_sd": round(own["within_lists"] / sd, 2)},
        "mean_entrants": round(float(np.mean([k["entrants"] for k in keys])), 1),
        "mean_held_out": round(float(np.mean([k["held_out"] for k in keys])), 1),
        "mean_reachable_share": round(float(np.mean([k["reachable_share"] for k in keys])), 3),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = args.out / f"lottery-placebo-{result['stamp']}{tag}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("within_lists", "pooled_without_lists", "estimators")},
                     indent=2))  # fmt: skip
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
