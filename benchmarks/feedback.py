"""The closed loop (issue 26): does Hearth's list, acted on, spoil the next model, and can the
partnership see whether the visits work? Run by hand, never in CI, one at a time, with `nice`:

    nice -n 10 .venv/bin/python -m benchmarks.feedback --households 20000 --seed 301 --cycles 24
    nice -n 10 .venv/bin/python -m benchmarks.feedback --households 40000 --seed 302 --cycles 24 \\
        --effect -0.3 --accept 0.6 --holdout-share 0.1
    nice -n 5 .venv/bin/python -m benchmarks.feedback --households 40000 --seed 341 --cycles 24 \
        --holdout-share 0.2 --hold-months 12 --history full --arms naive,safe,reference

Each arm is one synthetic world (`hearth.synth.synthesise` with a `Partnership`,
hearth/synth/loop.py) of `--history` months (24 by default) and then one month per cycle; the
world ends at 2025-12 whatever the history, so the cycles are its last months. With 24 the first
cycle's model (trained 12 months before it) has 12 months of history: 225 features, recency
capped at 12, until cycle 13 brings the 24-month counts and the trends, so early cycles differ
from later ones by history gained, not only by what the lists did. `--history full` (48 with
today's catalogue, `full_history()`) starts the loop after the history with which the model
has every feature and the longest recency it will ever have, as a partnership with years of
records. `--refit-years 2` has each cycle's model learn from two years of outcomes
(TrainParams.refit_years: the year before stacked under its own, each made safe by the arm's
rule: `Arm.training_rows`), from the first cycle whose older year has every feature and the
longest recency (`--history 60`: every cycle; before it, one year, `training_years` per cycle).
Before it writes
each cycle's month, the world asks the arm for Hearth's list as of that month; the arm then

1. ingests the extracts landed since the last cycle (Hearth's own `ingest_source`, every
   contract's checks and quarantine, the interventions extract included) and links them
   (`link`, the linkage SQL);
2. builds the features and labels with Hearth's feature SQL (`build_features`, `build_labels`)
   at M-12 (labels over the 12 months to M) and the features at M;
3. fits the gradient-boosted candidate with Hearth's fitting and calibration
   (`fit_candidate("gradient_boosting")`, `TrainParams().sized(...)`, the same as
   `refit_on_latest` fits the chosen model to score at T) on the arm's training households:
   - **naive**: every household (monthly retraining on all outcomes, as if nobody acted);
   - **safe**: Hearth's own rule as the recipe applies it (hearth/modelling/training/
     safe_updating.py, on the interventions extract and hold-out the arm keeps). Once the
     hold-out lottery tells what an offer does (`offer_ratio`: crisis rate of the offered over
     the held out at the margin, lists at least 6 months old), every household is kept and a
     crisis of a household listed or offered help from a list (up to 12 months before the
     window) counts 1 / (1 + (ratio - 1) x the share of the window after its first listing)
     times (`corrected_rule`, `Correction.copies`). Until then, censoring: a household listed
     before the window is left out; one first listed inside it is censored at that listing (a
     crisis before it kept, else counted crisis-free for the share of the year observed);
     held-out households each weighted by 1 / their chance of being held out
     (`held_out_chances`; `--no-weights` leaves the weights off). A household visited from a
     list in the 12 months before M-12 trains on its features as of its first visit, as that
     cycle scored them (`visit_features.frozen_window`; `--no-frozen-features` for the rule
     before);
   - **corrected** (`--arms corrected`, for comparison): the correction from the start, as
     naive until the ratio is told (no censoring before);
   - **explicit** (`--arms explicit`, for comparison): every household, with a 0/1 feature
     "offered from a list in the window", set to 0 when scoring (a model of the visit);
4. scores every household at M and publishes a list within capacity (`--capacity`, a share of
   households) with Hearth's hold-out lottery at the capacity margin
   (`hearth.modelling.holdout.assign_holdout`, salt per hold-out generation, `--holdout-share`);
   a household drawn stays held out for the rest of its generation (`--generation-months`), or
   with `--hold-months 12` for 12 months from its draw (Hearth's rule now,
   hearth/modelling/scoring/holdout_run.py `HOLD_MONTHS`).

The world offers the listed households a visit, a share accept (`--accept`), and an accepted
visit multiplies the household's crisis hazard by 1 + `--effect` for `--effect-months`. Both
arms share the seed, so they start from the same world and the same random draws; they differ
only in how they retrain.

What is not the real pipeline: no Dagster, Great Expectations suites, MLflow or gate; one
candidate (the gradient-boosted model, not the selection among candidates), no reasons or lead
agency (every offer is the council hub's wellbeing visit), no published files. The ingest,
linkage, features, labels, fitting, calibration and hold-out are Hearth's own code.

Only after both worlds are written is the truth read: per cycle and arm, the expected
precision of the model's top 1% against the oracle's (`benchmarks.run.expected_quality`) by
the risk WITHOUT intervention (`_truth/households.parquet`, which the loop leaves as the world
without visits), and on the households the arm helped (a completed visit in the 12 months
before M) how many the model keeps in its top 1% against the oracle, and their mean score
against their true risk. The estimated effect of a visit, as Hearth could compute it at M from
its own records, from the lottery alone (`first_lottery`, `visit_effect`): each household once,
from its first margin draw in the run, offered (placed on the list) or held out; both followed
alike, the months after the list month, at most `--effect-months`, to the end of the draw's
generation (a held-out household may be listed after it) and before M; crisis records per
household-month. The effect of a visit on those who accept is the complier (Wald) estimate that
"Is the list working?" shows (hearth/modelling/evaluation/complier.py, `complier_effect`):
with a the share of the offered visited, the visited households' rate without the visit is
r_c0 = (r_held - (1 - a) r_not_visited) / a, the effect r_visited / r_c0 - 1, with a 95%
interval from 1,000 household resamples (stratified by group; numpy's Generator seeded with the
run's seed and the cycle), next to the true effect; the intent-to-treat (offered against held
out) beside it. Comparing visited listings with held-out draws instead (before this) counted a
household listed again and again (the ones whose risk stays high) at every listing and dropped
controls still under an earlier offer: biased either way, and on a real partnership who
accepts is not random.

Issue 26's target "safe updating stays within 0.02 of its first cycle" is reported per cycle
(`summary.first_cycle_target`): each arm's ratio less its first cycle's, beside the same for
the **effect-0 reference**, naive retraining in the same seed's world where a visit changes
nothing (the world's and the model's own drift, the same lists in cycle 1): either an arm of
this run (`--arms naive,safe,reference`) or an earlier run's results file (`--reference FILE`,
refused unless the same world with `--effect 0`; its hold-out lottery may differ, since where
a visit changes nothing the lottery changes no record the naive model reads, but its
helped-household figures are then of other households and not read). The target is read
plainly (every cycle's drop at most 0.02) and net of the reference (the arm's drop less the
reference's). Each arm's change is split into the oracle's part and the model's
(`oracle_and_model_parts`): the truth's risk conditions on every record since the world's first
month and a household's frailty is static, so the oracle's top 1% keeps improving (about 2% over
24 cycles after 48 months) while the model reads 36 months; and the model's own precision follows
the year of outcomes it learnt from, one draw that eleven later cycles share
(benchmarks/feedback_drift.py). `reading` says so with the reference's figures. `--resummarise
FILE` writes an earlier run's file again with today's summary. Writes
benchmarks/results/feedback-<stamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import RESULTS, _commit, expected_quality

# Months of extracts before the first cycle by default (the first cycle then trains at M-12
# with 12 months of history: the model's features grow until cycle 13). `--history full`
# (`full_history()`, 48) gives the first cycle's model every feature and the longest recency
# it will ever have, as a partnership with years of records trains with.
HISTORY = 24
ARMS = ("naive", "safe", "explicit", "corrected", "reference")
# The reference arm: naive retraining in the same seed's world where a visit changes nothing
# (effect 0): the world's and the model's own drift, against which the target is read.
REFERENCE = "reference"
TARGET = 0.02  # issue 26: safe updating stays within this of its first cycle
VISITED = "offered_from_list"  # the explicit arm's indicator: 1 in training, 0 when scoring
# Crisis records per household and month, as Hearth holds them at an as-of month (arrived
# before it): what an analyst of the warehouse could count.
CRISES_SQL = """
SELECT household_pid, strftime(event_date, '%Y-%m') AS month, count(*) AS crises
FROM linked_events
WHERE is_crisis AND household_pid IS NOT NULL
GROUP BY ALL
"""


@dataclass
class Settings:
    households: int
    seed: int
    cycles: int
    effect: float = -0.30
    accept: float = 0.6
    holdout_share: float = 0.1
    margin: float | None = 0.02
    capacity_share: float = 0.01
    effect_months: int = 12
    generation_months: int = 12
    mess: float = 0.01
    move: float = 0.002
    realistic: bool = False
    calibration: str = "isotonic"
    max_iter: int = 150  # TrainParams.max_iter (Hearth's default 150)
    weights: bool = True  # safe arm: held-out households weighted by 1 / chance (Hearth's rule)
    censor_draw: str = ""  # safe arm: salts the censored households' keyed draw (its noise)
    keep_scores: bool = False  # each cycle's scores kept beside the arm (lottery_placebo.py)
    known_ratio: float | None = None  # safe arm: the offer ratio given, not read from the lottery
    hold_months: int | None = None  # a draw held out this long (Hearth: 12), else to generation end
    history: int = HISTORY  # months of extracts written before the first cycle
    # safe arm: a household visited from a list in the 12 months before the training date
    # trains on its features as of its first visit (Hearth's rule: visit_features.py)
    frozen_features: bool = True
    # Years of outcomes each cycle's model learns from (TrainParams.refit_years): 2 stacks the
    # year before under the cycle's own, made safe by the arm's rule as its own is, from the
    # cycle whose older year has every feature and "months since" of its own (--history 60
    # from the first); before it, one year.
    refit_years: int = 1

    @property
    def capacity(self) -> int:
        return max(1, int(round(self.capacity_share * self.households)))

    @property
    def months(self) -> int:
        return self.history + self.cycles


@dataclass
class Cycle:
    """One arm's record of one cycle (what it published and how it trained)."""

    as_of: str
    scores: pl.DataFrame  # household_pid, score
    listed: list[str]  # the published list, in order
    held_out: list[str]  # drawn this cycle
    margin_listed: list[str]  # on the list from the lottery's band
    training_households: int
    crises_in_training: int
    excluded: int
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step
    added_copies: int = 0  # training rows added by weighting the held-out households
    censored: dict[str, int] = field(default_factory=dict)  # safe_updating.Censored, as a dict
    training_years: int = 1  # years of outcomes the model learnt from (--refit-years)
    training_rows: int = 0  # its rows: both years' with two


@dataclass
class TrainingRows:
    """One year's training rows of an arm (`Arm.training_rows`): the matrix, labels and
    pseudonyms as fitted, the features' names, and what the cycle's record counts (the rows
    kept, the labels before the copies, the rows taken with their copies, what was censored)."""

    X: np.ndarray
    yr: np.ndarray
    pids: np.ndarray
    names: list[str]
    rows: np.ndarray
    y: np.ndarray
    take: np.ndarray
    censored: dict


@dataclass
class Arm:
    name: str
    settings: Settings
    work: Path
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    cycles: list[Cycle] = field(default_factory=list)
    ingested: set[str] = field(default_factory=set)
    held: dict[str, int] = field(default_factory=dict)  # household -> cycle drawn
    con: object = None
    partnership: object = None  # the world's, once written
    crises: pl.DataFrame | None = None  # crisis records per household and month, at the end
    # each cycle's features (uncapped) of the households it listed, as Hearth keeps a run's
    # scoring features: a visited household's features as of its visit (`features_then`)
    kept: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def landing(self) -> Path:
        return self.work / "landing"

    @property
    def truth(self) -> Path:
        return self.work / "_truth"

    def open(self) -> None:
        from hearth.warehouse import connect

        self.con = self.stack.enter_context(connect(self.work / "warehouse.duckdb"))

    def catch_up(self, as_of: str | None) -> None:
        """Ingest every landed month before `as_of` (all if None) not yet ingested, and link."""
        from hearth.ingest.run import ingest_source, landing_months
        from hearth.linkage.link import link
        from hearth.sources import SOURCES

        new = [m for m in landing_months(self.landing) if m not in self.ingested]
        new = [m for m in new if as_of is None or m < as_of]
        if not new:
            return
        for s in SOURCES:
            ingest_source(self.con, self.landing, s, new)
        self.ingested.update(new)
        link(self.con)

    def features_then(self, month: str, pids: list[str]) -> pl.DataFrame:
        """The features of `pids` as of `month`: as that cycle scored them when it listed them
        all, else built again (visit_features.FeaturesAt)."""
        from hearth.features.build import build_features

        kept = self.kept.get(month)
        if kept is not None and kept["household_pid"].is_in(pids).sum() == len(set(pids)):
            return kept
        return build_features(self.con, month)

    def training_rows(self, train_as_of: str, label_end: str, names, cap: int, ratio):
        """One year's training rows for this arm: the features at `train_as_of` ("months
        since" capped at `cap`) with the crises up to `label_end`, through the arm's rule for
        the outcomes a list changed, the lottery's offer `ratio` read at the cycle (None:
        not known yet), as Hearth's recipe makes each of its windows safe."""
        from hearth.features.build import build_features, build_labels
        from hearth.features.design import cap_recency
        from hearth.modelling.training.censoring import censor, changed_by_list, window_censoring
        from hearth.modelling.training.offer_correction import corrected_rule
        from hearth.modelling.training.safe_updating import held_out_chances, holdout_copies
        from hearth.modelling.training.selection import Window
        from hearth.modelling.training.visit_features import first_visits, frozen_window

        s = self.settings
        feats = build_features(self.con, train_as_of)
        y = build_labels(self.con, feats["household_pid"], train_as_of).to_numpy().astype(int)
        rows = np.ones(feats.height, dtype=bool)
        copies = np.ones(feats.height, dtype=np.int64)
        censored = {}
        frozen = None
        if self.name == "safe" and s.frozen_features:  # the history a visit did not change
            visits = first_visits(self.con, train_as_of)
            feats, frozen = frozen_window(feats, train_as_of, visits, self.features_then)
        if self.name == "safe" and ratio is None:  # Hearth's rule until the lottery tells it
            # censored at the first listing (censoring.censor, as the recipe applies it)
            rule = window_censoring(self.con, train_as_of, label_end)
            window = Window(train_as_of, feats.select("household_pid"), y)
            _, rows, counts = censor(window, rule, s.censor_draw)
            censored = asdict(counts)
            y = rule.labels(feats["household_pid"].to_numpy(), y)
            if s.weights:  # the held-out stand in for the lottery's listed entrants
                chances = held_out_chances(self.con, train_as_of, label_end)
                copies = holdout_copies(feats["household_pid"].to_numpy(), chances)
        elif ratio is not None:  # every household; a changed crisis counts as without the offer
            fix = corrected_rule(self.con, train_as_of, label_end, ratio)
            copies = fix.copies(feats["household_pid"].to_numpy(), y)
            censored = {"offer_ratio": ratio, "changed": len(fix.share)}
            censored["corrected"] = int((copies != 1).sum())
        if frozen is not None:
            censored["frozen_features"] = frozen.replaced
        take = np.repeat(np.flatnonzero(rows), copies[rows])
        frame = cap_recency(feats, cap)[take]
        if self.name == "explicit":  # every household, the offer a feature; 0 when scoring
            changed = changed_by_list(self.con, train_as_of, label_end)
            visited = frame["household_pid"].is_in(list(changed)).cast(pl.Float32)
            frame = frame.with_columns(visited.alias(VISITED))
            names = [*names, VISITED]
        X = frame.select(names).to_numpy().astype(np.float32, copy=False)
        return TrainingRows(
            X, y[take], frame["household_pid"].to_numpy(), names, rows, y, take, censored
        )

    def lister(self, as_of: str):
        """Hearth as of `as_of`: retrain, score, draw the hold-out and publish."""

        from hearth.features.build import build_features
        from hearth.features.catalogue import load_catalogue
        from hearth.features.design import cap_recency, history_months, recency_cap
        from hearth.modelling.holdout import draw_holdout
        from hearth.modelling.scoring.holdout_run import HoldoutDecision, store_holdout
        from hearth.modelling.training.fit import fit_candidate
        from hearth.modelling.training.offer_correction import offer_ratio
        from hearth.modelling.training.params import TrainParams
        from hearth.months import add_months
        from hearth.synth.loop import PublishedList

        s, t0 = self.settings, time.perf_counter()
        c = len(self.cycles)
        if c >= s.cycles:
            return None
        steps: dict[str, float] = {}

        def lap(step: str) -> None:
            steps[step] = round(time.perf_counter() - t0 - sum(steps.values()), 2)

        self.catch_up(as_of)
        lap("ingest_link")
        train_as_of = add_months(as_of, -12)
        history = history_months(self.con, train_as_of)
        names, cap = load_catalogue().usable_names(history), recency_cap(history)
        ratio = None
        if self.name in ("safe", "corrected"):  # the lottery's offer ratio, as Hearth reads it
            ratio = offer_ratio(self.con, as_of)
            if s.known_ratio is not None and self.name == "safe":  # the lottery's ceiling
                ratio = s.known_ratio
        own = self.training_rows(train_as_of, as_of, names, cap, ratio)
        X, yr, pids = own.X, own.yr, own.pids
        rows, y, take, censored = own.rows, own.y, own.take, own.censored
        years, older = 1, add_months(train_as_of, -12)
        h = history_months(self.con, older)
        same = (load_catalogue().usable_names(h), recency_cap(h)) == (names, cap)
        if s.refit_years == 2 and same:
            # the year before stacked under it, as TrainParams.refit_years stacks T-24's rows
            old = self.training_rows(older, train_as_of, names, cap, ratio)
            X, yr = np.vstack([X, old.X]), np.concatenate([yr, old.yr])
            pids, years = np.concatenate([pids, old.pids]), 2
        names = own.names
        lap("features")
        params = TrainParams(calibration=s.calibration, max_iter=s.max_iter)
        params = params.sized(int(yr.sum()), len(yr))
        model = fit_candidate("gradient_boosting", X, yr, pids, names, params)
        del X
        lap("fit")
        raw_score = build_features(self.con, as_of)
        score = cap_recency(raw_score, cap)
        if self.name == "explicit":
            score = score.with_columns(pl.lit(0.0, dtype=pl.Float32).alias(VISITED))
        p = model.predict_proba(score.select(names).to_numpy().astype(np.float32))[:, 1]
        scores = pl.DataFrame({"household_pid": score["household_pid"], "score": p})
        if s.keep_scores:  # benchmarks/lottery_placebo.py replays the lottery on them
            keep_scores(self.work / "scores", self.name, s, as_of, scores)
        lap("score")
        # the hold-out: a draw stays held out until its generation ends, or for --hold-months
        # from the draw (Hearth's rule: holdout_run.HOLD_MONTHS)
        gen = c // s.generation_months
        if s.hold_months is None:
            self.held = {h: d for h, d in self.held.items() if d // s.generation_months == gen}
        else:
            self.held = {h: d for h, d in self.held.items() if c - d < s.hold_months}
        open_ = scores.filter(~pl.col("household_pid").is_in(list(self.held)))
        drawn, summary = draw_holdout(
            open_,
            capacity=s.capacity,
            share=s.holdout_share,
            salt=f"generation-{gen}",
            key=_lottery_key(s.seed),
            margin=s.margin,
        )
        # kept as Hearth keeps it: safe updating reads who was held out and their chance
        decision = HoldoutDecision(
            as_of,
            f"generation-{gen}",
            f"generation-{gen}",
            s.holdout_share,
            s.capacity,
            summary.held_out,
            summary.band,
            s.margin,
            "benchmark",
            None,
            summary.widened,
        )
        store_holdout(self.con, drawn, decision)
        new_held = drawn.filter(pl.col("held_out"))["household_pid"].to_list()
        self.held.update({h: c for h in new_held})
        listed = drawn.filter(pl.col("listed")).sort("score_rank")
        if self.name == "safe" and s.frozen_features:
            self.kept[as_of] = raw_score.filter(
                pl.col("household_pid").is_in(listed["household_pid"].implode())
            )
        del raw_score
        lap("holdout")
        self.cycles.append(
            Cycle(
                as_of,
                scores,
                listed["household_pid"].to_list(),
                new_held,
                listed.filter(pl.col("in_margin"))["household_pid"].to_list(),
                int(rows.sum()),
                int(y[rows].sum()),
                int((~rows).sum()),
                round(time.perf_counter() - t0, 2),
                steps,
                added_copies=int(len(take) - rows.sum()),
                censored=censored,
                training_years=years,
                training_rows=len(yr),
            )
        )
        pid = np.array(listed["household_pid"].to_list() + new_held, dtype=object)
        held = np.r_[np.zeros(listed.height, bool), np.ones(len(new_held), bool)]
        return PublishedList(pid, np.arange(1, pid.size + 1), f"v{c + 1}", held)


def full_history() -> int:
    """The fewest months of extracts before the first cycle with which the first cycle's model
    (trained at M-12) already has every feature of the catalogue and the longest "months since"
    it will ever have (`usable_names`, `recency_cap`): from then on the loop's models differ
    only by what the world and the lists did, never by history gained."""
    from hearth.features.catalogue import load_catalogue
    from hearth.features.design import recency_cap

    cat = load_catalogue()
    ceiling = 12 * 100  # more history than any window or cap asks for
    top = (cat.usable_names(ceiling), recency_cap(ceiling))
    h = 1
    while (cat.usable_names(h), recency_cap(h)) != top:
        h += 1
    return h + 12


def arm_effect(name: str, s: Settings) -> float:
    """The true effect of a completed visit in this arm's world: none in the reference's."""
    return 0.0 if name == REFERENCE else s.effect


def keep_scores(folder: Path, arm: str, s: Settings, as_of: str, scores: pl.DataFrame) -> None:
    """Every household's score as of one cycle, and once the arm's settings, for
    `benchmarks/lottery_placebo.py` (on a naive arm without effect the scores do not depend on
    the lottery, so the lottery can be drawn again with other keys on the same lists)."""
    folder.mkdir(exist_ok=True)
    settings = folder / "settings.json"
    if not settings.exists():
        body = {
            "arm": arm,
            **asdict(s),
            "capacity": s.capacity,
            "lottery_key": _lottery_key(s.seed).hex(),
        }
        settings.write_text(json.dumps(body, indent=2))
    scores.write_parquet(folder / f"{as_of}.parquet")


def _lottery_key(seed: int) -> bytes:
    return hashlib.sha256(b"hearth-feedback-lottery:" + str(seed).encode()).digest()


def run_arm(name: str, s: Settings, work: Path, progress) -> Arm:
    """One world with the partnership acting on this arm's lists."""
    from hearth.synth import synthesise
    from hearth.synth.loop import LoopParams, Partnership
    from hearth.synth.months import month_name, parse_month
    from hearth.synth.params import REALISTIC

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    arm = Arm(name, s, work)
    arm.open()
    end = "2025-12"  # in the past: the ingest refuses records dated after today
    first = parse_month(end) - s.months + 1
    loop = LoopParams(
        effect=arm_effect(name, s),
        effect_months=s.effect_months,
        accept=s.accept,
        capacity=s.capacity,
        revisit_months=s.effect_months,
    )

    def lister(as_of: str):
        out = arm.lister(as_of)
        if arm.cycles and arm.cycles[-1].as_of == as_of:
            cyc = arm.cycles[-1]
            progress(
                f"{name}: cycle {len(arm.cycles)}/{s.cycles} as of {as_of}: trained on "
                f"{cyc.training_households:,} households ({cyc.crises_in_training:,} crises, "
                f"{cyc.excluded:,} left out), listed {len(cyc.listed):,}, held out "
                f"{len(cyc.held_out):,}, {cyc.training_years} year(s) of outcomes, "
                f"{cyc.seconds:.1f} s "
                f"({', '.join(f'{k} {v:.1f}' for k, v in cyc.steps.items())})"
            )
        return out

    partnership = Partnership(loop, lister, start=month_name(first + s.history))
    last = [0.0]

    def synth_progress(stage: str, fraction: float) -> None:
        if fraction < 0.6 and fraction - last[0] >= 0.1:
            last[0] = fraction
            progress(f"{name}: world: {stage}")

    with arm.stack:
        synthesise(
            arm.landing,
            arm.truth,
            households=s.households,
            seed=s.seed,
            months=s.months,
            end=end,
            mess_rate=s.mess,
            move_rate=s.move,
            world=REALISTIC if s.realistic else None,
            partnership=partnership,
            progress=synth_progress,
        )
        arm.catch_up(None)
        arm.crises = arm.con.sql(CRISES_SQL).pl()
    arm.partnership = partnership
    return arm


# --- what the truth says, after both worlds are written ---------------------------------------


def _visits(arm: Arm) -> pl.DataFrame:
    """Each completed visit: household, the list's as-of month."""
    rows = [r for r in arm.partnership.rows if r["response"] == "ACCEPTED"]
    return pl.DataFrame(
        {"household_pid": [r["household_pid"] for r in rows], "as_of": [r["as_of"] for r in rows]},
        schema={"household_pid": pl.String, "as_of": pl.String},
    )


def helped_quality(truth_at: pl.DataFrame, scores: pl.DataFrame, helped: set[str], k: int) -> dict:
    """On the households helped in the last 12 months: how many the model keeps in its top k
    against the oracle (ranking by the risk without intervention), and their mean score
    against their mean true risk."""
    j = scores.join(truth_at, on="household_pid", how="inner")
    model_top = set(
        j.sort(["score", "household_pid"], descending=[True, False]).head(k)["household_pid"]
    )
    oracle_top = set(j.sort("p_crisis_12m", descending=True).head(k)["household_pid"])
    h = j.filter(pl.col("household_pid").is_in(list(helped)))
    in_model, in_oracle = len(model_top & helped), len(oracle_top & helped)
    return {
        "helped_households": h.height,
        "helped_in_model_top": in_model,
        "helped_in_oracle_top": in_oracle,
        "helped_top_ratio": in_model / in_oracle if in_oracle else None,
        "helped_mean_true_risk": float(h["p_crisis_12m"].mean()) if h.height else None,
        "helped_score_to_truth": (
            float(h["score"].mean() / h["p_crisis_12m"].mean()) if h.height else None
        ),
    }


def first_lottery(
    draws: list[tuple[str, list[str], list[str]]],
    generation_months: int,
    hold_months: int | None = None,
) -> pl.DataFrame:
    """Each household once, from its first lottery entry (a margin draw) in the run: `draws` is
    each cycle's (as-of month, margin households placed on the list, households held out), one
    cycle a month. `stop` is the first month its follow-up may not reach, the same for both
    groups of a draw: a held-out household may be listed again from its generation's end (or,
    with `hold_months`, that many months after its draw), and a visit then changes crises from
    the month after, so follow-up runs to that month inclusive."""
    from hearth.months import add_months

    seen: set[str] = set()
    rows = []
    for i, (as_of, offered, held) in enumerate(draws):
        gen_end = add_months(draws[0][0], (i // generation_months + 1) * generation_months)
        if hold_months is not None:
            gen_end = add_months(as_of, hold_months)
        stop = add_months(gen_end, 1)
        for h, is_held in [*((h, False) for h in offered), *((h, True) for h in held)]:
            if h not in seen:
                seen.add(h)
                rows.append((h, as_of, is_held, stop))
    return pl.DataFrame(
        rows,
        schema={"household_pid": pl.String, "list": pl.String, "held_out": pl.Boolean,
                "stop": pl.String},
        orient="row",
    )  # fmt: skip


def follow_up_windows(entries: pl.DataFrame, as_of: str, months: int) -> pl.DataFrame:
    """`first_lottery`'s entries with their follow-up, the same window rule for offered and
    held out: from the month after the list (`lo`) to `hi` exclusive — at most `months`,
    before the entry's `stop` and before `as_of` — its last month (`last`) and length (`t`);
    entries with no month of follow-up left out."""
    from hearth.months import add_months, months_between

    e = entries.filter(pl.col("list") < as_of)
    lo = [add_months(m, 1) for m in e["list"]]
    hi = [min(add_months(m, months + 1), stop, as_of)
          for m, stop in zip(e["list"], e["stop"], strict=True)]  # fmt: skip
    return e.with_columns(
        lo=pl.Series(lo, dtype=pl.String),
        hi=pl.Series(hi, dtype=pl.String),
        last=pl.Series([add_months(m, -1) for m in hi], dtype=pl.String),
        t=pl.Series([max(0, months_between(a, b)) for a, b in zip(lo, hi, strict=True)]),
    ).filter(pl.col("t") > 0)


def visit_effect(
    entries: pl.DataFrame,
    visits: pl.DataFrame,
    crises: pl.DataFrame,
    as_of: str,
    months: int,
    seed: list[int],
    by_list: bool = True,
) -> dict:
    """The estimated effect of a visit at `as_of`, from the lottery (`first_lottery`'s
    entries): each household followed the months after its list month, at most `months`,
    before its `stop` and before `as_of` (the same window rule for offered and held out). A
    completed visit (`visits`: household, month) from its list month on changes crises in the
    `months` months after it: those months of the window count as visited, the rest not (a
    household offered at its lottery but visited months later, when the rule against offering
    again so soon lapsed, is visited for part of its window only; counting its whole window
    as visited would dilute the effect). The effect on those who accept is the complier (Wald)
    estimate on rates per month, offered against held out within each list month and combined
    over the months (a generation's salt holds the same households first, so later months hold
    out most of their newcomers),
    hearth/modelling/evaluation/complier.py's `complier_effect` (the one Hearth's report
    shows), with a household bootstrap's 95% interval seeded by `seed`; the intent-to-treat
    (offered against held out) beside it. Keys `estimate`, `low`, `high` are the effect of a
    visit (ratio - 1); `high` is None where the interval has no upper limit. `by_list=False`
    pools the list months (the estimate before 2026-12-07, kept to compare)."""
    from hearth.modelling.evaluation.complier import complier_effect
    from hearth.months import add_months

    e = follow_up_windows(entries, as_of, months)
    # a visit in month m changes crises from m + 1 for `months` months: the months of each
    # household's window under a visit made at or after its list month
    under = (
        e.join(visits.rename({"as_of": "visit"}), on="household_pid", how="inner")
        .filter((pl.col("visit") >= pl.col("list")) & (pl.col("visit") < pl.col("last")))
        .select("household_pid", "visit", "hi")
        .rows()
    )
    under_rows = {
        (h, add_months(m, k))
        for h, m, stop in under
        for k in range(1, months + 1)
        if add_months(m, k) < stop
    }
    under_frame = pl.DataFrame(
        sorted(under_rows), schema={"household_pid": pl.String, "month": pl.String}, orient="row"
    )
    per = (
        e.join(crises, on="household_pid", how="inner")
        .filter((pl.col("month") >= pl.col("lo")) & (pl.col("month") < pl.col("hi")))
        .join(under_frame.with_columns(under=pl.lit(True)), on=["household_pid", "month"],
              how="left")
        .group_by("household_pid")
        .agg(n=pl.col("crises").sum(), nv=pl.col("crises").filter(pl.col("under")).sum())
    )  # fmt: skip
    visited_months = under_frame.group_by("household_pid").agg(tv=pl.len())
    e = (
        e.join(per, on="household_pid", how="left")
        .join(visited_months, on="household_pid", how="left")
        .with_columns(pl.col("n", "nv", "tv").fill_null(0))
        .with_columns(visited=pl.col("tv") > 0)
        .sort("household_pid")  # the bootstrap draws by row
    )
    got = complier_effect(
        e["n"].to_numpy(), e["t"].to_numpy(), e["held_out"].to_numpy(), e["visited"].to_numpy(),
        visited_crises=e["nv"].to_numpy(), visited_months=e["tv"].to_numpy(),
        strata=e["list"].to_numpy() if by_list else None, seed=seed,
    )  # fmt: skip

    def num(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    def less_one(x: float) -> float | None:
        return num(x - 1)

    return {
        "estimator": (
            "complier (Wald) from the lottery: first entry per household, offered against held"
            " out within each list month, Mantel-Haenszel weights"
        ),
        "interval": (
            f"household bootstrap by list month and group, {got['resamples']} resamples, percentile"
        ),
        "list_months": got["strata"],
        "list_months_compared": got["strata_compared"],
        "estimate": less_one(got["ratio"]),
        "low": less_one(got["low"]),
        "high": less_one(got["high"]),
        "unbounded_above": bool(np.isfinite(got["ratio"]) and got["high"] == np.inf),
        "treated_households": got["visited_households"],
        "treated_months": got["visited_months"],
        "treated_crises": got["visited_crises"],
        "control_households": got["held_households"],
        "control_months": got["held_months"],
        "control_crises": got["held_crises"],
        "not_visited_households": got["not_visited_households"],
        "not_visited_months": got["not_visited_months"],
        "not_visited_crises": got["not_visited_crises"],
        "held_out_visited_households": got["held_visited_households"],
        "visited_share": num(got["visited_share"]),
        "rate_visited": num(got["rate_visited"]),
        "rate_visited_without_visit": num(got["rate_without_visit"]),
        "share_of_resamples_unbounded": num(got["unbounded_share"]),
        "intent_to_treat": {
            "estimate": less_one(got["itt_ratio"]),
            "low": less_one(got["itt_low"]),
            "high": less_one(got["itt_high"]),
        },
    }


def effect_at(arm: Arm, c: int, s: Settings) -> dict:
    """The effect estimate as Hearth could compute it at cycle c's as-of month, from the lists
    before it."""
    as_of = arm.cycles[c].as_of
    draws = [(cyc.as_of, cyc.margin_listed, cyc.held_out) for cyc in arm.cycles[:c]]
    entries = first_lottery(draws, s.generation_months, s.hold_months)
    crises = arm.crises.filter(pl.col("month") < as_of)
    return visit_effect(entries, _visits(arm), crises, as_of, s.effect_months, [s.seed, c])


def evaluate(arms: dict[str, Arm], s: Settings) -> list[dict]:
    from hearth.months import add_months

    truth = pl.read_parquet(next(iter(arms.values())).truth / "households.parquet")
    k = max(1, int(np.ceil(0.01 * s.households)))
    out = []
    for c in range(s.cycles):
        row: dict = {"cycle": c + 1}
        for name, arm in arms.items():
            if c >= len(arm.cycles):
                continue
            cyc = arm.cycles[c]
            row["as_of"] = cyc.as_of
            q = expected_quality(arm.truth, cyc.scores, cyc.as_of)
            since = add_months(cyc.as_of, -12)
            v = _visits(arm).filter((pl.col("as_of") >= since) & (pl.col("as_of") < cyc.as_of))
            at = truth.filter(pl.col("as_of") == cyc.as_of)
            row[name] = {
                "ratio_to_oracle": q["precision_ratio_to_oracle"],
                "model_expected_precision": q["model_expected_precision"],
                "oracle_expected_precision": q["oracle_expected_precision"],
                **helped_quality(at, cyc.scores, set(v["household_pid"]), k),
                "training_households": cyc.training_households,
                "crises_in_training": cyc.crises_in_training,
                "left_out_of_training": cyc.excluded,
                "held_out_copies_added": cyc.added_copies,
                "training_years": cyc.training_years,  # --refit-years: 2 once the history allows
                "training_rows": cyc.training_rows,
                "censored_at_first_listing": cyc.censored,
                "listed": len(cyc.listed),
                "held_out": len(cyc.held_out),
                "seconds": cyc.seconds,
                "seconds_by_step": cyc.steps,
                "effect": effect_at(arm, c, s),
                "true_effect": arm_effect(name, s),
            }
        row["true_effect"] = s.effect
        out.append(row)
    for name in arms:
        first = out[0][name]["ratio_to_oracle"] if name in out[0] else None
        for row in out:
            if name in row and first is not None:
                row[name]["ratio_minus_first"] = row[name]["ratio_to_oracle"] - first
    return out


def summarise(cycles: list[dict], s: Settings) -> dict:
    def series(arm: str, key: str) -> list:
        return [c[arm][key] for c in cycles if arm in c]

    out: dict = {}
    if "naive" in cycles[0]:
        r = series("naive", "ratio_to_oracle")
        h = [x for x in series("naive", "helped_top_ratio") if x is not None]
        out["naive"] = {
            "first_ratio": r[0],
            "last_ratio": r[-1],
            "ratio_loss": r[0] - r[-1],
            "helped_top_ratio_last": h[-1] if h else None,
            "helped_score_to_truth_last": series("naive", "helped_score_to_truth")[-1],
        }
    for arm in ("safe", "explicit"):
        if arm not in cycles[0]:
            continue
        r = series(arm, "ratio_to_oracle")
        h = [x for x in series(arm, "helped_top_ratio") if x is not None]
        dev = max(abs(x - r[0]) for x in r)
        out[arm] = {
            "first_ratio": r[0],
            "last_ratio": r[-1],
            "largest_departure_from_first": dev,
            "within_0_02_of_first": bool(dev <= 0.02),
            # a rise is the model learning from more history, not harm: the drop alone
            "largest_drop_below_first": max(0.0, max(r[0] - x for x in r)),
            "helped_top_ratio_last": h[-1] if h else None,
            "helped_score_to_truth_last": series(arm, "helped_score_to_truth")[-1],
        }
        if "naive" in cycles[0]:
            gaps = [c[arm]["ratio_to_oracle"] - c["naive"]["ratio_to_oracle"] for c in cycles]
            out[arm]["mean_gap_to_naive"] = float(np.mean(gaps))
    if any(a in cycles[0] for a in ("safe", "naive")):
        out["first_cycle_target"] = first_cycle_target(cycles)
    if "safe" in cycles[0]:
        e = series("safe", "effect")[-1]
        out["effect_last_cycle"] = {
            **e,
            "true": s.effect,
            "covers_truth": (
                None
                if e["low"] is None
                else bool(e["low"] <= s.effect <= (np.inf if e["high"] is None else e["high"]))
            ),
        }
    return out


# Settings an effect-0 reference from another run must share with the run it is read against
# (the same world and model but for the visits' effect).
SAME_WORLD = ("households", "seed", "history", "accept", "capacity_share", "effect_months",
              "mess", "move", "realistic", "calibration", "max_iter", "refit_years")  # fmt: skip
# What a results file written before a setting existed ran with
BEFORE = {"refit_years": 1}
# The lottery's settings, in which a reference may differ: where a visit changes nothing the
# lottery changes who is listed, offered and visited, never a record the reference's naive
# model reads (hearth/synth/loop.py: an effect of 0 removes no record; the features and labels
# do not read the interventions extract), so its ratio to the oracle is the same whatever the
# lottery. Its helped households are then other households than this run's lists helped:
# their figures are not read.
LOTTERY = ("holdout_share", "margin", "generation_months", "hold_months")
HELPED = ("helped_score_to_truth", "helped_top_ratio")
# The two expected precisions a ratio to the oracle is made of (model / oracle), per cycle.
PRECISIONS = ("model_expected_precision", "oracle_expected_precision")


def load_reference(path: Path, s: Settings) -> tuple[list[dict], dict]:
    """An earlier run's effect-0 naive arm (or its reference arm), per cycle, to read this
    run's figures against; refused in a sentence unless it is the same world without effect."""
    got = json.loads(Path(path).read_text())
    theirs = got["settings"]
    differ = [k for k in SAME_WORLD if theirs.get(k, BEFORE.get(k)) != asdict(s)[k]]
    if differ:
        raise ValueError(
            f"The reference {path} is not this run's world: its {', '.join(differ)} "
            f"{'differ' if len(differ) > 1 else 'differs'} from this run's."
        )
    arm = REFERENCE if REFERENCE in got["cycles"][0] else "naive"
    if arm == "naive" and theirs.get("effect") != 0:
        raise ValueError(
            f"The reference {path} has a visit effect of {theirs.get('effect')}; a reference "
            "is the same world where a visit changes nothing (--effect 0)."
        )
    if arm not in got["cycles"][0] or len(got["cycles"]) < s.cycles:
        raise ValueError(
            f"The reference {path} has no naive or reference arm over {s.cycles} cycles."
        )
    meta = {"file": Path(path).name, "commit": got.get("commit"), "arm": arm}
    lottery = [k for k in LOTTERY if theirs.get(k) != asdict(s)[k]]
    rows = [c[arm] | {"as_of": c["as_of"]} for c in got["cycles"][: s.cycles]]
    if lottery:  # the same ratios, other helped households
        meta["lottery_differs"] = {k: theirs.get(k) for k in lottery}
        rows = [r | dict.fromkeys(HELPED) for r in rows]
    return rows, meta


def with_reference(cycles: list[dict], reference: list[dict]) -> None:
    """Each cycle's row gets the reference's figures (ratio, and its less the first cycle's,
    the helped households' score over true risk) under `reference`."""
    first = reference[0]["ratio_to_oracle"]
    for row, ref in zip(cycles, reference, strict=True):
        if ref["as_of"] != row["as_of"]:
            raise ValueError(
                f"The reference's cycle {row['cycle']} is as of {ref['as_of']}, this run's "
                f"{row['as_of']}: not the same months."
            )
        keep = ("ratio_to_oracle", "helped_score_to_truth", "helped_top_ratio", *PRECISIONS)
        row[REFERENCE] = {k: ref.get(k) for k in keep} | {
            "ratio_minus_first": ref["ratio_to_oracle"] - first
        }


def oracle_and_model_parts(first: dict, now: dict) -> tuple[float, float] | None:
    """An arm's ratio at a cycle less its first cycle's, m/o - m1/o1 (m the model's expected
    precision of its top 1%, o the oracle's), in two parts that sum to it exactly: the
    oracle's, m (1/o - 1/o1), what the ratio moved because the yardstick moved, and the
    model's, (m - m1) / o1, what it moved against the first cycle's oracle. None without both
    precisions (a reference file read without them)."""
    if any(first.get(k) is None or now.get(k) is None for k in PRECISIONS):
        return None
    m1, o1 = first["model_expected_precision"], first["oracle_expected_precision"]
    m, o = now["model_expected_precision"], now["oracle_expected_precision"]
    return m * (1 / o - 1 / o1), (m - m1) / o1


def first_cycle_target(cycles: list[dict]) -> dict:
    """Issue 26's "safe updating stays within 0.02 of its first cycle", per cycle, beside the
    same reading of the effect-0 reference (the drift of a world where the list changes
    nothing) and of naive retraining: each arm's ratio less its first cycle's, and the safe
    and naive arms' less the reference's (both less their first cycles). The target read
    plainly (every cycle's drop at most 0.02) and net of the reference. Each arm's change is
    also split into the oracle's part and the model's (`oracle_and_model_parts`), and
    `reading` says in a sentence why the target is read net of the reference."""
    arms = [a for a in ("safe", "naive", REFERENCE) if a in cycles[0]]
    ref = REFERENCE in cycles[0]
    rows = []
    for i, c in enumerate(cycles):
        row: dict = {"cycle": c.get("cycle", i + 1), "as_of": c.get("as_of")}
        for a in arms:
            row[f"{a}_minus_first"] = c[a]["ratio_to_oracle"] - cycles[0][a]["ratio_to_oracle"]
            parts = oracle_and_model_parts(cycles[0][a], c[a])
            if parts is not None:
                row[f"{a}_oracle_part"], row[f"{a}_model_part"] = parts
        for a in ("safe", "naive"):
            if ref and a in arms:
                row[f"{a}_net_of_reference"] = (
                    row[f"{a}_minus_first"] - row[f"{REFERENCE}_minus_first"]
                )
        rows.append(row)
    out: dict = {"target": TARGET, "per_cycle": rows}
    for a in arms:
        drop = max(0.0, -min(r[f"{a}_minus_first"] for r in rows))
        worst = min(rows, key=lambda r, a=a: r[f"{a}_minus_first"])["cycle"]
        out[a] = {"largest_drop_below_first": drop, "worst_cycle": worst,
                  "within_target": bool(drop <= TARGET)}  # fmt: skip
        later = rows[1:]
        if later and all(f"{a}_oracle_part" in r for r in later):
            out[a]["mean_minus_first"] = float(np.mean([r[f"{a}_minus_first"] for r in later]))
            out[a]["mean_oracle_part"] = float(np.mean([r[f"{a}_oracle_part"] for r in later]))
            out[a]["mean_model_part"] = float(np.mean([r[f"{a}_model_part"] for r in later]))
            o1 = cycles[0][a]["oracle_expected_precision"]
            out[a]["oracle_precision_change"] = float(
                np.mean([c[a]["oracle_expected_precision"] for c in cycles[1:]]) / o1 - 1
            )
            m1 = cycles[0][a]["model_expected_precision"]
            out[a]["model_precision_change"] = float(
                np.mean([c[a]["model_expected_precision"] for c in cycles[1:]]) / m1 - 1
            )
        if ref and a != REFERENCE:
            net = max(0.0, -min(r[f"{a}_net_of_reference"] for r in rows))
            out[a]["largest_drop_net_of_reference"] = net
            out[a]["within_target_net_of_reference"] = bool(net <= TARGET)
            gaps = [c[a]["ratio_to_oracle"] - c[REFERENCE]["ratio_to_oracle"] for c in cycles]
            out[a]["mean_gap_to_reference"] = float(np.mean(gaps[1:])) if len(gaps) > 1 else 0.0
            helped = [(c[a]["helped_score_to_truth"], c[REFERENCE]["helped_score_to_truth"])
                      for c in cycles if c[a].get("helped_score_to_truth") is not None
                      and c[REFERENCE].get("helped_score_to_truth") is not None]  # fmt: skip
            if helped:
                arm_mean, ref_mean = np.mean(helped, axis=0)
                out[a]["helped_score_to_truth_mean"] = float(arm_mean)
                out[a]["reference_helped_score_to_truth_mean"] = float(ref_mean)
    if ref and "mean_oracle_part" in out[REFERENCE]:
        out["reading"] = reference_reading(out[REFERENCE], rows)
    return out


def reference_reading(r: dict, rows: list[dict]) -> str:
    """Why the target is read net of the reference, in a sentence from the reference's own
    figures (`first_cycle_target`'s): how far a world where no visit works moves, and how much
    of that is the oracle's and how much the model's (benchmarks/feedback_drift.py measured
    both on kept worlds: docs/performance.md, "Why the effect-0 reference falls")."""
    n = len(rows)
    missed = sum(row[f"{REFERENCE}_minus_first"] < -TARGET for row in rows)
    return (
        f"Where no visit works (the effect-0 reference, naive retraining in the same world) "
        f"the ratio to the oracle is {r['largest_drop_below_first']:.3f} below its first "
        f"cycle at worst (cycle {r['worst_cycle']}) and more than {TARGET} below it in "
        f"{missed} of {n - 1} cycles. Of its mean change over cycles 2-{n} "
        f"({r['mean_minus_first']:+.3f}), {r['mean_oracle_part']:+.3f} is the oracle's: its "
        f"expected precision moved {r['oracle_precision_change']:+.1%} (the truth's risk "
        f"conditions on every record since the world's first month and a household's crisis "
        f"frailty is permanent, so the oracle keeps learning while the model reads 36 "
        f"months); {r['mean_model_part']:+.3f} is the model's own expected precision "
        f"({r['model_precision_change']:+.1%}), which follows the year of outcomes it learnt "
        f"from, one draw that consecutive cycles share for a year. Neither is the visits' "
        f"doing, so the target is read net of the reference: the same world, first lists and "
        f"label years, the visits' effect the only difference."
    )


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--households", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=301)
    ap.add_argument("--cycles", type=int, default=24)
    ap.add_argument("--effect", type=float, default=-0.30, help="Hazard change after a visit.")
    ap.add_argument("--accept", type=float, default=0.6, help="Share of offers accepted.")
    ap.add_argument("--holdout-share", type=float, default=0.1)
    ap.add_argument(
        "--margin",
        type=lambda v: None if v == "none" else float(v),
        default=0.02,
        help="The lottery's band in score units, or 'none' to draw among the whole list.",
    )
    ap.add_argument(
        "--capacity", type=float, default=0.01, help="Visits a month, a share of households."
    )
    ap.add_argument("--effect-months", type=int, default=12)
    ap.add_argument("--generation-months", type=int, default=12)
    ap.add_argument("--mess", type=float, default=0.01)
    ap.add_argument("--move", type=float, default=0.002)
    ap.add_argument("--realistic", action="store_true", help="params.REALISTIC's world.")
    ap.add_argument(
        "--calibration",
        default="isotonic",
        help="TrainParams.calibration: isotonic (one fit, as Hearth above 200,000 households) "
        "or crossfit (six fits, as Hearth below).",
    )
    ap.add_argument(
        "--max-iter", type=int, default=150, help="Boosting iterations (Hearth's default 150)."
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="Threads for the model fits: on a shared 2-core machine, OpenMP's spinning threads "
        "made a fit 17 times slower with 2 than with 1.",
    )
    ap.add_argument(
        "--no-weights",
        action="store_true",
        help="Safe arm without the held-out households' weights (the rule before they were "
        "weighted: for comparison only).",
    )
    ap.add_argument(
        "--no-frozen-features",
        action="store_true",
        help="Safe arm with every household's training features as built (before visited "
        "households trained on their features as of their first visit: for comparison only).",
    )
    ap.add_argument(
        "--censor-draw",
        default="",
        help="Salts the keyed draw that keeps each censored household with its observed share "
        "(Hearth's draw when empty): another draw measures the draw's own noise.",
    )
    ap.add_argument(
        "--arms",
        default="naive,safe",
        help="naive,safe by default; explicit: every household, with a visit indicator "
        "(offered from a list in the window) as a feature, set to 0 when scoring.",
    )
    ap.add_argument(
        "--keep-scores",
        action="store_true",
        help="Keep each cycle's scores beside the arm (<work>/<arm>/scores/) for "
        "benchmarks/lottery_placebo.py.",
    )
    ap.add_argument(
        "--known-ratio",
        type=float,
        help="Safe arm: correct with this offer ratio from the first cycle instead of the "
        "lottery's (what the correction could do if the lottery had all the power it needs; "
        "with 60%% accepting and -30%% under a visit the world's is about 0.82).",
    )
    ap.add_argument(
        "--hold-months",
        type=int,
        help="A household drawn stays held out this many months from its draw (Hearth's rule: "
        "12, hearth/modelling/scoring/holdout_run.py) instead of until its generation ends.",
    )
    ap.add_argument(
        "--history",
        default=str(HISTORY),
        help=f"Months of extracts before the first cycle ({HISTORY} by default: the first "
        "cycle's model trains with 12 months of history and gains features until cycle 13), "
        "or 'full': the fewest with which the first cycle's model has every feature and the "
        "longest recency (48 with today's catalogue), so no cycle's model differs from the "
        "first by history gained.",
    )
    ap.add_argument(
        "--reference",
        type=Path,
        help="An earlier run's results file of the same world with --effect 0 (its naive arm, "
        "or its reference arm; its hold-out lottery may differ, its helped households' "
        "figures are then not read): the target is then reported beside it, cycle by cycle "
        "(summary's first_cycle_target). The arm 'reference' in --arms does the same in "
        "this run.",
    )
    ap.add_argument(
        "--refit-years",
        type=int,
        choices=(1, 2),
        default=1,
        help="Years of outcomes each cycle's model learns from (TrainParams.refit_years): 2 "
        "stacks the year before under the cycle's own, each made safe by the arm's rule, from "
        "the first cycle whose older year has every feature and the longest recency (--history "
        "60 for every cycle; with 'full', 48, from cycle 13).",
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-feedback"))
    ap.add_argument("--out", type=Path, default=RESULTS, help="Folder for the results file.")
    ap.add_argument("--tag", default="")
    ap.add_argument(
        "--resummarise",
        type=Path,
        help="An earlier run's results file: write it again with today's summary (its cycles "
        "unchanged, the file it came from named), without running the loop.",
    )
    args = ap.parse_args(argv)
    if args.resummarise is not None:
        return resummarise(args.resummarise, args.out)
    arms = [a for a in args.arms.split(",") if a]
    if not arms or any(a not in ARMS for a in arms):
        ap.error(f"--arms takes {', '.join(ARMS)}, comma-separated.")
    if args.cycles < 1 or args.households < 200:
        ap.error("--cycles must be at least 1 and --households at least 200.")
    history = full_history() if args.history == "full" else int_or_none(args.history)
    if history is None or history < 13:
        ap.error(
            f"--history takes a number of months, at least 13 (the first cycle trains 12 "
            f"months before it, on at least a month of extracts), or 'full'; got "
            f"{args.history!r}."
        )
    s = Settings(
        args.households,
        args.seed,
        args.cycles,
        effect=args.effect,
        accept=args.accept,
        holdout_share=args.holdout_share,
        margin=args.margin,
        capacity_share=args.capacity,
        effect_months=args.effect_months,
        generation_months=args.generation_months,
        mess=args.mess,
        move=args.move,
        realistic=args.realistic,
        calibration=args.calibration,
        max_iter=args.max_iter,
        weights=not args.no_weights,
        frozen_features=not args.no_frozen_features,
        censor_draw=args.censor_draw,
        keep_scores=args.keep_scores,
        known_ratio=args.known_ratio,
        hold_months=args.hold_months,
        history=history,
        refit_years=args.refit_years,
    )
    reference, reference_meta = None, None
    if args.reference is not None:
        if REFERENCE in arms:
            ap.error("--reference and the reference arm are the same thing: give one of them.")
        try:
            reference, reference_meta = load_reference(args.reference, s)
        except (OSError, ValueError, KeyError) as exc:
            ap.error(str(exc))
    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", file=sys.stderr, flush=True)

    from threadpoolctl import threadpool_limits

    done = {}
    with threadpool_limits(limits=args.threads):
        for name in arms:
            work = args.work / f"{args.households}-seed{args.seed}" / name
            done[name] = run_arm(name, s, work, progress)
    progress("evaluating against the truth")
    cycles = evaluate(done, s)
    if reference is not None:
        with_reference(cycles, reference)
    elif REFERENCE in done:
        reference_meta = {"file": None, "arm": REFERENCE}
    result = {
        "stamp": datetime.now().strftime("%Y-%m-%dT%H%M%S"),
        "commit": _commit(),
        "settings": {**asdict(s), "capacity": s.capacity, "months": s.months},
        "seconds": round(time.perf_counter() - t0, 1),
        "world": {n: a.partnership.summary for n, a in done.items()},
        "reference": reference_meta,
        "summary": summarise(cycles, s),
        "cycles": cycles,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"-{args.tag}" if args.tag else ""
    path = args.out / f"feedback-{result['stamp']}-{args.households}-seed{args.seed}{tag}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    progress(f"wrote {path}")
    print(json.dumps(result["summary"], indent=2))
    return path


def resummarise(path: Path, out: Path) -> Path:
    """An earlier run's results file written again with today's `summarise` of its own cycles
    (the loop not run again): older runs gain what the summary has learnt to say since."""
    got = json.loads(Path(path).read_text())
    known = {f.name for f in fields(Settings)}
    s = Settings(**{k: v for k, v in got["settings"].items() if k in known})
    got["summary"] = summarise(got["cycles"], s)
    got["resummarised_from"] = {"file": Path(path).name, "commit": got.get("commit")}
    got["commit"] = _commit()
    target = out / f"{Path(path).stem}-resummarised.json"
    out.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(got, indent=2, default=str) + "\n")
    print(json.dumps(got["summary"], indent=2))
    return target


def int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


if __name__ == "__main__":
    main()
