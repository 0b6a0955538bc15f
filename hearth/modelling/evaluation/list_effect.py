"""Is the list working? (issue 26): crisis rates after a list, of the households the hold-out
lottery offered help against those it held out, with intervals and counts; and the effect of a
visit by the agency that made it and the kind of offer, as evidence, not a ranking.

The comparison that is fair is the lottery's: at the capacity margin, where scores are nearly
equal, a keyed draw decided who was offered a visit (hearth/modelling/holdout.py), so *offered*
and *held out* differ only by chance and by the offer. *Visited* (the offered households that
accepted and were visited) is shown against the same held-out group, but who accepts is not
drawn by lot, so that ratio mixes the visit's effect with who says yes. The effect of a visit
on the households that accept is estimated from the lottery instead (`complier_effect`, the
instrumental-variable or Wald estimate, hearth/modelling/evaluation/complier.py): the offer
changed the offered group's rate only through the visits, so the held-out rate, less what the
offered-but-not-visited contribute, is what the visited households' rate would have been
without the visit, within each list's lottery as `lottery_ratio`. Each household counts once,
from its first lottery; a crisis is any crisis in the `HORIZON_MONTHS` from the list's month.

Rates carry Wilson 95% intervals; ratios (crisis rate over the held-out rate) carry the log
method's 95% interval (Katz); the effect on those who accept carries a household bootstrap's
(`complier_effect`, a fixed seed so a run's figures are reproducible). Counts are shown with
the small-number rule (hearth/suppression.py): a group or a cell with 1 to 7 households or
crises shows `*`, and its rate and ratio are not shown either, since they would give the count away.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import polars as pl

from hearth.features.catalogue import Catalogue, load_catalogue
from hearth.modelling.evaluation.complier import complier_effect, mantel_haenszel_weights
from hearth.modelling.evaluation.fairness import Z95, wilson
from hearth.months import add_months
from hearth.sources import INTERVENTION_SOURCES, SOURCES
from hearth.suppression import SMALL_MAX, SUPPRESSED, suppress
from hearth.warehouse import query_source

HORIZON_MONTHS = 6
LISTED_BEFORE_MONTHS = 12  # an entrant listed this soon before its lottery: `reachable`
COMPLIER = "a visit's effect on those who accept, estimated by the lottery"
OFFER = "offered against held out (by lottery), not listed in the year before"
EVERY_ENTRANT = "offered against held out (by lottery), every entrant"


def lottery_outcomes(con: duckdb.DuckDBPyConnection, as_of: str) -> pl.DataFrame | None:
    """One row per household that entered a lottery in a list old enough to judge; None when
    no hold-out was ever drawn (the tables are made with the first one)."""
    if not INTERVENTION_SOURCES:
        return None
    last = add_months(as_of, -HORIZON_MONTHS)
    params = {"last_list": last, "horizon": HORIZON_MONTHS, "lookback": LISTED_BEFORE_MONTHS}
    try:
        rows = query_source(
            con, "modelling/list_effect", SOURCES[INTERVENTION_SOURCES[0]], params
        ).pl()
    except duckdb.CatalogException:
        return None
    # kept since the lead and the first reason were stored with each entrant (none before)
    return rows.with_columns(
        pl.lit(None, pl.String).alias(c) for c in DESCRIBED if c not in rows.columns
    )


DESCRIBED = ("lead_agency", "reason_feature")


def reachable(rows: pl.DataFrame) -> pl.DataFrame:
    """The entrants the lottery's offer could change: those no list named (listed, not held
    out) in the `LISTED_BEFORE_MONTHS` before their lottery's list. One named then was offered
    help then (a visit's effect lasts about that long, and a partnership does not offer again so
    soon), so the lottery changes little for it: on the closed loop 45% of one world's offered
    first entrants, diluting the offer's ratio towards 1 (docs/performance.md). Known before
    the draw, so offered and held out stay alike within the rest."""
    return rows.filter(~pl.col("listed_before"))


def reason_source(cat: Catalogue, feature: str | None) -> str | None:
    """Whose records a first reason rests on, in words every role may read: an agency
    ("fire"), "the household register" (who lives there, ages, the area) or "several
    agencies" (a count of agencies involved, or a combination of their records). The reason's
    own words can name record kinds a role may not read, so the comparison goes no finer."""
    if feature is None or feature not in cat.names:
        return None
    agency = cat.by_name(feature).agency
    if agency == "register":
        return "the household register"
    if agency == "combined":
        return "several agencies"
    return agency.replace("_", " ")


def _group(name: str, rows: pl.DataFrame) -> dict[str, object]:
    n, k = rows.height, int(rows["crisis"].sum())
    low, high = wilson(k, n)
    return {
        "group": name,
        "households": n,
        "crises": k,
        "rate": k / n if n else None,
        "low": low,
        "high": high,
    }


def lottery_ratio(
    exposed: pl.DataFrame, held: pl.DataFrame, z: float = Z95
) -> tuple[float, float, float, float]:
    """The crisis-rate ratio of `exposed` entrants over `held` ones compared within each list's
    lottery (`as_of`) and pooled (Mantel-Haenszel), with the Greenland-Robins 95% interval and
    the standard error of its log; NaN where no ratio can be told. Within a list the draw alone
    decided who was held out, but the chance of it differs from list to list (a generation's
    salt holds the same households first, so later lists hold out fewer newcomers: 16% to 82%
    of a list's first entrants on the closed loop) while the lists' months differ in risk; pooled
    without the lists, the comparison mixes the two."""
    nan = (float("nan"),) * 4
    if exposed.height == 0 or held.height == 0:
        return nan
    per = (
        pl.concat(
            [
                exposed.select("as_of", "crisis").with_columns(g=pl.lit(1)),
                held.select("as_of", "crisis").with_columns(g=pl.lit(0)),
            ]
        )
        .group_by("as_of")
        .agg(
            a=pl.col("crisis").filter(pl.col("g") == 1).sum().cast(pl.Float64),
            n1=(pl.col("g") == 1).sum().cast(pl.Float64),
            c=pl.col("crisis").filter(pl.col("g") == 0).sum().cast(pl.Float64),
            n0=(pl.col("g") == 0).sum().cast(pl.Float64),
        )
        .filter((pl.col("n1") > 0) & (pl.col("n0") > 0))
    )
    a, n1, c, n0 = (per[x].to_numpy() for x in ("a", "n1", "c", "n0"))
    w = mantel_haenszel_weights(n1, n0)  # the lists weighed as in the complier estimate
    r, q, big = float((w * a / n1).sum()), float((w * c / n0).sum()), n1 + n0
    if r == 0 or q == 0:
        return nan
    se = math.sqrt(float(((n1 * n0 * (a + c) - a * c * big) / big**2).sum()) / (r * q))
    ratio = r / q
    return (ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se), se)


def _effect(name: str, rows: pl.DataFrame, held: pl.DataFrame) -> dict[str, object]:
    n, k = rows.height, int(rows["crisis"].sum())
    ratio, low, high, se = lottery_ratio(rows, held)
    return {
        "comparison": name,
        "households": n,
        "crises": k,
        "ratio": ratio,
        "low": low,
        "high": high,
        "log_se": se,
    }


def _complier(rows: pl.DataFrame) -> dict[str, object]:
    """A visit's effect on those who accept (`complier_effect`) as a comparison row: the
    visited households and their crises as its counts, the groups it rests on beside them (the
    small-number rule looks at each)."""
    rows = rows.sort("household_pid")  # the bootstrap draws by row: a fixed order, fixed figures
    got = complier_effect(
        rows["crisis"].cast(pl.Int64).to_numpy(),
        np.ones(rows.height),  # every entrant followed the same horizon: a rate per household
        rows["held_out"].to_numpy(),
        rows["visited"].to_numpy(),
        strata=rows["as_of"].to_numpy(),  # within each list's lottery, as `lottery_ratio`
    )
    parts = {
        f"{g}_{c}": got[f"{g}_{c}"]
        for g in ("not_visited", "held", "held_visited")
        for c in ("households", "crises")
    }
    return {
        "comparison": COMPLIER,
        "households": got["visited_households"],
        "crises": got["visited_crises"],
        "ratio": got["ratio"],
        "low": got["low"],
        "high": got["high"],
        "parts": parts,
        "visited_share": got["visited_share"],
        "rate_without_visit": got["rate_without_visit"],
    }


def _within(rows: pl.DataFrame, column: str) -> list[dict[str, object]]:
    """Offered against held out among the entrants sharing a value of `column` (the lead the
    list suggested, whose records the first reason rests on): the draw did not depend on
    either, so each comparison is as fair as the whole one, on fewer households."""
    out = []
    for value in sorted(rows[column].drop_nulls().unique().to_list()):
        group = rows.filter(pl.col(column) == value)
        held = group.filter(pl.col("held_out"))
        out.append(_effect(str(value), group.filter(~pl.col("held_out")), held))
    return out


def list_working(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, object] | None:
    """The section's figures (exact counts: `shown` applies the small-number rule), or None
    when no list has a hold-out old enough to judge."""
    rows = lottery_outcomes(con, as_of)
    if rows is None or rows.height == 0:
        return None
    cat = load_catalogue()
    rows = rows.with_columns(
        pl.col("reason_feature")
        .map_elements(lambda f: reason_source(cat, f), return_dtype=pl.String)
        .alias("reason_source")
    )
    held = rows.filter(pl.col("held_out"))
    offered = rows.filter(~pl.col("held_out"))
    visited = offered.filter(pl.col("visited"))
    groups = [
        _group("held out", held),
        _group("offered", offered),
        _group("offered and visited", visited),
    ]
    reach = reachable(rows)
    r_held = reach.filter(pl.col("held_out"))
    offer = _effect(OFFER, reach.filter(~pl.col("held_out")), r_held)
    # its held-out group is shown nowhere else: a small one withholds the row (`shown`)
    offer["parts"] = {"held_households": r_held.height, "held_crises": int(r_held["crisis"].sum())}
    effects = [
        offer,  # first: offer_ratio and the power sentence read effects[0]
        _effect("visited against held out", visited, held),
        _complier(rows),
        _effect(EVERY_ENTRANT, offered, held),
    ]
    by = {}
    for column, title in (("agency", "agency"), ("offer_type", "offer")):
        by[title] = [
            _effect(str(value), visited.filter(pl.col(column) == value), held)
            for value in sorted(visited[column].drop_nulls().unique().to_list())
        ]
    return {
        "horizon_months": HORIZON_MONTHS,
        "lists": sorted(rows["as_of"].unique().to_list()),
        "groups": groups,
        "effects": effects,
        "by_agency": by["agency"],
        "by_offer": by["offer"],
        "by_lead": _within(rows, "lead_agency"),
        "by_reason": _within(rows, "reason_source"),
    }


def _small(count: int) -> bool:
    return 1 <= count <= SMALL_MAX


def _interval(value: float | None, low: float, high: float, pct: bool) -> str:
    if value is None or value != value:
        return "-"
    f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:.2f}")
    if high == float("inf"):  # the bootstrap could not rule out any harm: no upper limit
        return f"{f(value)} ({f(low)} to no upper limit)"
    return f"{f(value)} ({f(low)} to {f(high)})"


def shown(section: dict) -> dict[str, list[list[str]]]:
    """The section's tables as text cells, small numbers suppressed (and the rates and ratios
    that would give them away)."""

    def counts(r: dict) -> list[str]:
        return [suppress(int(r["households"])), suppress(int(r["crises"]))]

    def hidden(r: dict) -> bool:
        # a visit's effect on those who accept rests on the not-visited and held-out groups
        # too: a small one of them withholds it as well
        counts = [r["households"], r["crises"], *(r.get("parts") or {}).values()]
        return any(_small(int(c)) for c in counts)

    groups = [
        [
            r["group"],
            *counts(r),
            SUPPRESSED if hidden(r) else _interval(r["rate"], r["low"], r["high"], True),
        ]
        for r in section["groups"]
    ]

    def effect_rows(items: list[dict]) -> list[list[str]]:
        return [
            [
                r["comparison"],
                *counts(r),
                SUPPRESSED if hidden(r) else _interval(r["ratio"], r["low"], r["high"], False),
            ]
            for r in items
        ]

    return {
        "groups": groups,
        "effects": effect_rows(section["effects"]),
        "by_agency": effect_rows(section["by_agency"]),
        "by_offer": effect_rows(section["by_offer"]),
        # a section kept in an older run_summary.json has neither
        "by_lead": effect_rows(section.get("by_lead") or []),
        "by_reason": effect_rows(section.get("by_reason") or []),
    }


INTRO = (
    "At the capacity margin, where scores are nearly equal, a lottery decided which households "
    "were offered a visit and which were held out. Crisis rates in the {h} months after each "
    "list, each household counted once from its first lottery, with 95% intervals. The fair "
    "comparison is offered against held out (decided by lot), compared within each list's "
    "lottery and pooled, since the chance of being held out differs from list to list, and "
    "among the households no list named in the year before: a household offered help then "
    "is not offered again so soon, so for it the lottery changed little (every entrant is "
    "compared too, last); "
    "visited against held out also "
    "reflects who accepts, since households that accept may be at lower or higher risk than "
    "those that decline. A visit's effect on those who accept, estimated by the lottery, "
    "removes that: it compares the visited households with what the held-out households show "
    "their crisis rate would have been without the visit (the held-out rate, less the part "
    "that comes from households that would not have been visited), within each list's "
    "lottery and combined as the offer's comparison is, with a 95% interval from "
    "1,000 resamples of the households; its households and crises are the visited ones. A "
    "ratio below 1 means fewer crises than the held-out households had (for a visit's effect "
    "on those who accept: than the visited households would have had without the visit). "
    "By the lead the list suggested and by whose records the first reason rests on, offered "
    "and held-out households are compared within each group (the draw did not depend on "
    "either, so each is a fair comparison too, of fewer households). The breakdowns are "
    "evidence to discuss, not a ranking of agencies or offers: groups differ in who they "
    "visit. Counts of 1 to 7 are shown as *, others rounded to the nearest 5."
)


POWER_Z = 0.841621  # the normal quantile of 80%: the power a commissioner is told about


def detectable(log_se: float, z: float = Z95) -> tuple[float, float] | None:
    """The smallest fall and rise in the crisis rate that the lottery's comparison, with its
    log ratio's standard error `log_se`, would show beyond chance (its 95% interval excluding
    no change) 8 times in 10; None where the error cannot be told. A smaller effect can hide
    in an interval that includes 1: "no difference found" is then not "no effect"."""
    if not (math.isfinite(log_se) and log_se > 0):
        return None
    k = (z + POWER_Z) * log_se
    return 1.0 - math.exp(-k), math.exp(k) - 1.0


def power_sentence(section: dict) -> str | None:
    """What the lottery can tell so far, in words, from the offered-against-held-out
    comparison (`effects[0]`); None where it cannot be told or a count behind it is small
    (its error would give the count away)."""
    first = section["effects"][0] if section.get("effects") else None
    held = next((g for g in section.get("groups", []) if g["group"] == "held out"), None)
    if first is None or "log_se" not in first:
        return None
    counts = [first["households"], first["crises"]]
    counts += [held["households"], held["crises"]] if held else []
    if any(_small(int(c)) for c in counts):
        return None
    got = detectable(float(first["log_se"]))
    if got is None:
        return None
    fall, rise = got
    return (
        f"What the lottery can tell so far: with these households and months, an offer that "
        f"lowers crises by {100 * fall:.0f}% or more (or raises them by {100 * rise:.0f}% or "
        "more) would show beyond chance 8 times in 10. A smaller effect can hide in an interval "
        "that includes no change: that is a reason to wait for more months or hold out a larger "
        "share, not evidence that the visits do nothing."
    )


def card_lines(section: dict | None) -> list[str]:
    """The model card's "Is the list working?" (markdown)."""
    lines = ["## Is the list working?", ""]
    if not section:
        return [
            *lines,
            "- No list with a hold-out is old enough yet to compare crisis rates "
            f"({HORIZON_MONTHS} months after the list are needed).",
        ]
    cells = shown(section)
    lines += [INTRO.format(h=section["horizon_months"]), ""]
    lines += ["| group | households | crises | crisis rate (95% interval) |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in cells["groups"]]
    lines += [
        "",
        "| comparison | households | crises | rate ratio (95% interval) |",
        "|---|---|---|---|",
    ]
    for title, key in (
        ("", "effects"),
        ("visited by ", "by_agency"),
        ("visit: ", "by_offer"),
        ("offered against held out, lead ", "by_lead"),
        ("offered against held out, first reason from ", "by_reason"),
    ):
        lines += [f"| {title}{r[0]} | " + " | ".join(r[1:]) + " |" for r in cells[key]]
    power = power_sentence(section)
    return [*lines, "", power] if power else lines
