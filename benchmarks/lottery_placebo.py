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
pooled without the lists (as the complier estimate's intent-to-treat compares them). Writes
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


def replay(
    cycles: list[tuple[str, pl.DataFrame]],
    key: bytes,
    *,
    capacity: int,
    share: float,
    margin: float | None,
    generation_months: int,
) -> list[Draw]:
    """The lottery drawn with `key` on each cycle's scores, as the feedback benchmark draws it:
    each cycle's (as-of month, margin households placed on the list, households held out)."""
    from hearth.modelling.holdout import draw_holdout

    held: dict[str, int] = {}
    draws: list[Draw] = []
    for i, (as_of, scores) in enumerate(cycles):
        gen = i // generation_months
        held = {h: g for h, g in held.items() if g == gen}
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
        listed = drawn.filter(pl.col("listed") & pl.col("in_margin"))["household_pid"].to_list()
        draws.append((as_of, listed, new_held))
        held.update({h: gen for h in new_held})
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


def one_key(cycles, crises, key: bytes, settings: dict, share: float) -> dict:
    draws = replay(
        cycles[:-1],
        key,
        capacity=settings["capacity"],
        share=share,
        margin=settings["margin"],
        generation_months=settings["generation_months"],
    )
    entries = first_lottery(draws, settings["generation_months"])
    rows = follow_up(entries, crises, cycles[-1][0], settings["effect_months"])
    within, pooled = log_ratios(rows)
    return {
        "within_lists": within,
        "pooled": pooled,
        "entrants": rows.height,
        "held_out": int(rows["held_out"].sum()),
    }


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
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)
    if args.keys < 2:
        ap.error("--keys must be at least 2.")
    settings, cycles = load_cycles(args.arm)
    share = settings["holdout_share"] if args.share is None else args.share
    with duckdb.connect(str(args.arm / "warehouse.duckdb"), read_only=True) as con:
        crises = con.sql(CRISES_SQL).pl()
    t0 = time.perf_counter()
    keys = []
    for k in range(args.keys):
        key = hashlib.sha256(b"hearth-lottery-placebo:" + str(k).encode()).digest()
        keys.append(one_key(cycles, crises, key, settings, share))
        if k % 20 == 0 or k == args.keys - 1:
            print(f"[{time.perf_counter() - t0:6.1f} s] key {k + 1}/{args.keys}", file=sys.stderr)
    own = one_key(cycles, crises, bytes.fromhex(settings["lottery_key"]), settings, share)
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
        "run_key": {**own, "within_lists_in_sd": round(own["within_lists"] / sd, 2)},
        "mean_entrants": round(float(np.mean([k["entrants"] for k in keys])), 1),
        "mean_held_out": round(float(np.mean([k["held_out"] for k in keys])), 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = args.out / f"lottery-placebo-{result['stamp']}{tag}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("within_lists", "pooled_without_lists", "run_key")},
                     indent=2))  # fmt: skip
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
