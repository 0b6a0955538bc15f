"""Does the closed loop's estimate of a visit's effect cover the truth? A Monte Carlo of the
estimators alone, on a cheap simulated loop (seconds a world, no Hearth pipeline), run by hand:

    nice -n 10 .venv/bin/python -m benchmarks.visit_effect --effect -0.3 --worlds 40
    nice -n 10 .venv/bin/python -m benchmarks.visit_effect --effect 0 --worlds 40 --related

Each world: `--households` households, each with its own crisis rate a month (gamma, mean 0.02,
kept over time, so the highest-risk households are listed again and again); each month a score
(the rate times noise) ranks them, a list of `--capacity` households is published with Hearth's
hold-out rule (`hearth.modelling.holdout`: a lottery among the `--band` listed households
nearest the cut, each held out with chance `--share`, held out for the rest of its 12-month
generation, its place given to the next below the cut); listed households not offered in the
last 12 months are offered a visit; a share accept (0.6, or with `--related` falling with risk:
0.9 - 4 x the rate, between 0.1 and 0.9); an accepted visit multiplies the crisis rate by
1 + `--effect` for 12 months from the next month. After `--cycles` months:

- **lottery** (benchmarks/feedback.py's `first_lottery` and `visit_effect`, the complier
  estimate "Is the list working?" shows): each household once from its first lottery, offered
  and held out followed alike;
- **every listing** (the closed-loop benchmark's estimator before): each visited margin listing
  against the held-out draws not under an earlier offer, the treated followed 12 months, the
  controls cut at their generation's end or a later offer; a rate ratio with an interval robust
  to repeated crises in a household.

Writes benchmarks/results/visit-effect-<stamp>.json: per world the two estimates with their 95%
intervals, and how often each interval covered the true effect.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime

import numpy as np
import polars as pl

from benchmarks.feedback import first_lottery, visit_effect
from benchmarks.run import RESULTS, _commit
from hearth.months import add_months, months_between

EFFECT_MONTHS = GENERATION = 12
CRISES = {"household_pid": pl.String, "month": pl.String, "crises": pl.Int64}


def simulate(seed: int, a: argparse.Namespace) -> dict:
    """One world's lottery draws, visits and crises (module docstring)."""
    rng = np.random.default_rng(seed)
    n, k = a.households, a.capacity
    rate = rng.gamma(0.5, 0.04, n)
    effect_to = np.full(n, -1)
    last_offer = np.full(n, -100)
    held: dict[int, int] = {}
    months = [add_months("2024-01", i) for i in range(a.cycles + 1)]
    draws, offers, visits, crises = [], [], [], []
    for t in range(a.cycles):
        gen = t // GENERATION
        held = {h: g for h, g in held.items() if g == gen}
        score = rate * rng.lognormal(0, 0.5, n)
        score[list(held)] = -1  # held out for the rest of the generation
        order = np.argsort(-score)
        band = order[k - a.band : k]  # the listed households nearest the cut
        drawn = band[rng.random(band.size) < a.share]
        held.update({int(h): gen for h in drawn})
        listed = order[~np.isin(order, drawn)][:k]
        margin = band[~np.isin(band, drawn)]
        offered = listed[(t - last_offer[listed]) >= 12]
        last_offer[offered] = t
        accept = (
            np.clip(0.9 - 4 * rate[offered], 0.1, 0.9) if a.related else np.full(offered.size, 0.6)
        )
        visited = offered[rng.random(offered.size) < accept]
        effect_to[visited] = t + EFFECT_MONTHS
        draws.append((months[t], [str(h) for h in margin], [str(h) for h in drawn]))
        offers += [(str(h), months[t]) for h in offered]
        visits += [(str(h), months[t]) for h in visited]
        under = (effect_to >= t) & (effect_to - EFFECT_MONTHS < t)  # from the month after
        got = rng.poisson(rate * np.where(under, 1 + a.effect, 1.0))
        crises += [(str(h), months[t], int(got[h])) for h in np.flatnonzero(got)]
    return {
        "as_of": months[-1],
        "draws": draws,
        "offers": offers,
        "visits": pl.DataFrame(visits, schema=["household_pid", "as_of"], orient="row"),
        "crises": pl.DataFrame(crises, schema=CRISES, orient="row"),
    }


def every_listing(w: dict) -> dict:
    """The estimator before: every visited margin listing against held-out draws not under an
    earlier offer, the treated followed 12 months, the controls cut at their generation's end
    or a later offer; crisis rate ratio - 1 with a household-robust (log) interval."""
    as_of, first = w["as_of"], w["draws"][0][0]
    visited = set(w["visits"].iter_rows())
    offered: dict[str, list[str]] = {}
    for h, m in w["offers"]:
        offered.setdefault(h, []).append(m)
    treated, controls = [], []
    for i, (m, margin, held) in enumerate(w["draws"]):
        treated += [(h, m, "9999-12") for h in margin if (h, m) in visited]
        gen_end = add_months(first, (i // GENERATION + 1) * GENERATION)
        for h in held:
            earlier = [x for x in offered.get(h, []) if x < m]
            if earlier and add_months(max(earlier), EFFECT_MONTHS) >= m:
                continue
            controls.append((h, m, min([gen_end, *[x for x in offered.get(h, []) if x > m]])))
    by_household = {}
    for h, mo, c in w["crises"].iter_rows():
        by_household.setdefault(h, []).append((mo, c))

    def group(entries):
        per: dict[str, list[float]] = {}
        for h, start, stop in entries:
            lo = add_months(start, 1)
            hi = min(add_months(start, EFFECT_MONTHS + 1), stop, as_of)
            if hi > lo:
                got = per.setdefault(h, [0.0, 0.0])
                got[0] += sum(c for mo, c in by_household.get(h, []) if lo <= mo < hi)
                got[1] += months_between(lo, hi)
        x = np.array(list(per.values())).reshape(-1, 2)
        return x[:, 0], x[:, 1]

    a, ta = group(treated)
    b, tb = group(controls)
    if a.sum() == 0 or b.sum() == 0:
        return {"estimate": None, "low": None, "high": None}
    ra, rb = a.sum() / ta.sum(), b.sum() / tb.sum()
    var = ((a - ra * ta) ** 2).sum() / a.sum() ** 2 + ((b - rb * tb) ** 2).sum() / b.sum() ** 2
    log_rr, se = float(np.log(ra / rb)), float(np.sqrt(var))
    return {
        "estimate": float(np.exp(log_rr) - 1),
        "low": float(np.exp(log_rr - 1.96 * se) - 1),
        "high": float(np.exp(log_rr + 1.96 * se) - 1),
    }


def lottery(w: dict, seed: int) -> dict:
    entries = first_lottery(w["draws"], GENERATION)
    return visit_effect(entries, w["visits"], w["crises"], w["as_of"], EFFECT_MONTHS, [seed])


def covers(e: dict, truth: float) -> bool:
    if e["low"] is None:
        return False
    return e["low"] <= truth <= (np.inf if e["high"] is None else e["high"])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--effect", type=float, default=-0.3)
    ap.add_argument("--related", action="store_true", help="Acceptance falls with risk.")
    ap.add_argument("--worlds", type=int, default=40)
    ap.add_argument("--households", type=int, default=40_000)
    ap.add_argument("--capacity", type=int, default=400)
    ap.add_argument("--band", type=int, default=200, help="Listed households in the lottery.")
    ap.add_argument("--share", type=float, default=0.4, help="Chance a band household is held out.")
    ap.add_argument("--cycles", type=int, default=24)
    ap.add_argument("--tag", default="")
    a = ap.parse_args(argv)
    t0, worlds = time.perf_counter(), []
    for seed in range(a.worlds):
        w = simulate(seed, a)
        got = {"seed": seed, "lottery": lottery(w, seed), "every_listing": every_listing(w)}
        worlds.append(got)
        e, b = got["lottery"], got["every_listing"]
        print(
            f"[{time.perf_counter() - t0:6.1f} s] world {seed}: lottery {e['estimate']} "
            f"({e['low']} to {e['high']}), every listing {b['estimate']} ({b['low']} to "
            f"{b['high']})",
            file=sys.stderr,
            flush=True,
        )
    summary = {}
    for name in ("lottery", "every_listing"):
        est = [w[name]["estimate"] for w in worlds if w[name]["estimate"] is not None]
        summary[name] = {
            "covered": sum(covers(w[name], a.effect) for w in worlds),
            "worlds": len(worlds),
            "undefined": len(worlds) - len(est),
            "median_estimate": float(np.median(est)) if est else None,
        }
    result = {
        "stamp": datetime.now().strftime("%Y-%m-%dT%H%M%S"),
        "commit": _commit(),
        "settings": vars(a),
        "true_effect": a.effect,
        "summary": summary,
        "worlds": worlds,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = f"-{a.tag}" if a.tag else ""
    path = RESULTS / f"visit-effect-{result['stamp']}-effect{a.effect}{tag}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return result


if __name__ == "__main__":
    main()
