"""A visited household's training features as the list left them (issue 26): the history a
visit did not change.

A visit that works leaves fewer crises in a household's history after it, so its features at a
later training date say lower risk than it had. The label rule (offer_correction.py,
censoring.py) counts the outcomes back; nothing counted the history back, and a model trained
on it learns that the visited households' lower counts mean the risk they had before the visit
(the closed loop, seed 351, cycle 24: about half its net loss, docs/performance.md). So a
household with a completed visit from a list in the `LOOKBACK_MONTHS` before a window's date
enters that window with its features as of the month of its first such visit (`first_visits`,
`frozen_window`): every count, "months since" and trend read from the records before the visit,
which nothing a list did had reached, from the feature set kept for that month (the run then
scored on it) or built again where none was kept. Its label is the window's, as the label rule
counts it. Households never visited, and the scoring date's features, are as built. The gate
refuses a training window whose visited households' rows are not these (`Frozen.breaches`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from hearth.modelling.training.censoring import LOOKBACK_MONTHS, query_rows
from hearth.months import add_months, month_start
from hearth.sources import INTERVENTION_SOURCES, SOURCES

RULE_FEATURES = (
    " A household visited from a list (an offer accepted and completed) in the "
    f"{LOOKBACK_MONTHS} months before a window's date enters it with its features as they were "
    "in the month of its first such visit, before it: a history the visit did not change."
)
# features_at(month, households): those households' features as of `month`
FeaturesAt = Callable[[str, list[str]], pl.DataFrame]


def first_visits(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, str]:
    """Each household with a completed visit from a list in the `LOOKBACK_MONTHS` before
    `as_of` (month), with the month of its first visit there."""
    params = {"start": month_start(add_months(as_of, -LOOKBACK_MONTHS)), "end": month_start(as_of)}
    out: dict[str, str] = {}
    for name in INTERVENTION_SOURCES:
        for pid, month in query_rows(con, "modelling/visited_from_list", params, SOURCES[name]):
            out[pid] = min(month, out.get(pid, month))
    return out


@dataclass(frozen=True)
class Frozen:
    """The visited households of one window and the rows they entered it with."""

    as_of: str
    visits: dict[str, str] = field(default_factory=dict)  # household -> month of first visit
    rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame({"household_pid": []}))

    @property
    def replaced(self) -> int:
        return self.rows.height

    def breaches(self, frame: pl.DataFrame) -> int:
        """Visited households of a window's frame (rows repeated as training repeats them)
        with a feature that is not their frozen row's: a history that shows the visit."""
        if not self.rows.height:
            return 0
        cols = [c for c in self.rows.columns if c != "household_pid" and c in frame.columns]
        pids = self.rows["household_pid"]
        got = frame.filter(pl.col("household_pid").is_in(pids.implode())).select(
            "household_pid", *cols
        )
        both = got.join(self.rows.select("household_pid", *cols), on="household_pid", suffix="~")
        differ = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}~")) for c in cols])
        return both.filter(differ)["household_pid"].n_unique() if cols else 0


def frozen_window(
    frame: pl.DataFrame,
    as_of: str,
    visits: dict[str, str],
    features_at: FeaturesAt,
    cap: Callable[[pl.DataFrame], pl.DataFrame] = lambda f: f,
) -> tuple[pl.DataFrame, Frozen]:
    """A window's feature frame (household_pid + features, in its order) with each visited
    household's row (`visits`: household -> month of its first visit) replaced by its row in
    `features_at(month, households)` (`cap` applied, as to the window's "months since"), and
    what was replaced. A household without a row then (it moved in later) keeps its own; a
    feature the month has not (too little history then) keeps the window's value."""
    in_frame = set(frame["household_pid"].to_list())
    by_month: dict[str, list[str]] = {}
    for pid, month in visits.items():
        if pid in in_frame:
            by_month.setdefault(month, []).append(pid)
    # the visited rows alone (small), each month's features over them, then the whole frame once
    rows = frame.filter(pl.col("household_pid").is_in([p for ps in by_month.values() for p in ps]))
    found: set[str] = set()
    for month in sorted(by_month):
        then = features_at(month, by_month[month])
        then = then.filter(pl.col("household_pid").is_in(by_month[month]))
        then = cap(then.select([c for c in frame.columns if c in then.columns]))
        then = then.select([pl.col(c).cast(frame.schema[c]) for c in then.columns])
        rows = rows.update(then, on="household_pid", include_nulls=True)
        found |= set(then["household_pid"].to_list())
    if not found:
        return frame, Frozen(as_of, visits)
    rows = rows.filter(pl.col("household_pid").is_in(list(found)))
    return frame.update(rows, on="household_pid", include_nulls=True), Frozen(as_of, visits, rows)


def features_then(con: duckdb.DuckDBPyConnection) -> FeaturesAt:
    """`features_at` for a warehouse: the feature set kept for the month (`features/`, the
    one a run scored on then), else built from the records dated before it."""
    from hearth.features.build import build_features, features_folders

    def at(month: str, pids: list[str]) -> pl.DataFrame:
        paths = [f / f"features_{month}.parquet" for f in features_folders(con)]
        keep = pl.col("household_pid").is_in(pids)
        if all(p.exists() for p in paths):
            frames = [pl.scan_parquet(p).filter(keep).collect() for p in paths]
            return pl.concat(frames, how="diagonal_relaxed").drop("as_of", strict=False)
        return build_features(con, month).filter(keep)

    return at
