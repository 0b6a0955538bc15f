"""The hold-out: which households that the list would offer a proactive visit are, by lottery,
not offered one for a model generation (issue 26).

Why: if the visits work, listed households have fewer crises, and a model retrained on those
outcomes learns that their features mean lower risk (Liley et al., "Model updating after
interventions paradoxically introduces bias"). Households whose offer did not follow the score
keep outcomes the list did not change, so a retrained model can learn from them safely
(Haidar-Wehbe et al., "Optimal sizing of a holdout set for safe predictive model updating"),
and they are the comparison group for "is the list working?".

How (decided at publish time, from the generation's scores):

- Households are ordered by score, highest first (ties by pseudonym, so the order is total).
  `capacity` households would be listed; the score of the last of them is the *cut*.
- The hold-out is `round(share * capacity)` households, drawn from the *margin band*: the
  households within capacity whose score is within `margin` (in score units) of the cut, i.e.
  where the score barely separates who is offered a visit. A lottery needs at least two entrants
  per place, so when fewer than twice the hold-out size are in the band it is widened to that
  many households within capacity nearest the cut (all of them if capacity is smaller).
  `margin=None` draws among every household within capacity.
- The draw is a keyed hash: HMAC-SHA256 under `key` of `salt`, a NUL byte and the pseudonym;
  the band's households with the lowest hashes are held out. The salt is fixed per model
  generation and a new generation draws afresh; without the key nobody can predict or steer
  the draw. A household drawn stays held out for 12 months: the run leaves the draws of the 12
  months before out of `frame` and keeps them held out
  (`hearth/modelling/scoring/holdout_run.py`, `decide_holdout`, `HOLD_MONTHS`).
- The freed places go to the next households below the cut, so the list still fills capacity:
  `listed` is the first `capacity` households in score order that are not held out.

Share 0 is allowed (nobody held out); the model card then says the model cannot be safely
retrained (`hearth/modelling/evaluation/card.py`). The hold-out decides only the *proactive*
offer: it never overrides safeguarding or professional judgement, and a held-out household
with a need known to a practitioner is helped as it would be without Hearth.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import polars as pl

# The hold-out share's upper bound: the band holds at least two households per place drawn.
MAX_SHARE = 0.5
# The margin band's default half-width, in score units (a probability of a crisis in 12 months).
DEFAULT_MARGIN = 0.02
# Entrants per hold-out place the band is widened to when the margin holds fewer.
MIN_ENTRANTS_PER_PLACE = 2
HOLDOUT_COLUMNS = ("score_rank", "in_margin", "held_out", "listed")


class HoldoutError(ValueError):
    """A hold-out that cannot be drawn as asked, in a sentence."""


@dataclass(frozen=True)
class HoldoutSummary:
    """What the audit records of a draw (counts and settings, never a pseudonym)."""

    households: int
    capacity: int
    share: float
    held_out: int
    band: int
    cut_score: float | None
    margin: float | None
    widened: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "households": self.households,
            "capacity": self.capacity,
            "share": self.share,
            "held_out": self.held_out,
            "band": self.band,
            "cut_score": self.cut_score,
            "margin": self.margin,
            "widened": self.widened,
        }


def lottery_draw(key: bytes, salt: str, pid: str) -> str:
    """The keyed hash a household draws in the lottery: hex HMAC-SHA256 of salt, NUL, pseudonym."""
    return hmac.new(
        key, salt.encode("utf-8") + b"\x00" + pid.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def holdout_size(capacity: int, share: float) -> int:
    """How many households within capacity are held out: round(share x capacity)."""
    return int(round(share * capacity))


def _check(
    frame: pl.DataFrame,
    capacity: int,
    share: float,
    salt: str,
    key: bytes,
    margin: float | None,
    score: str,
    pid: str,
) -> None:
    for col in (score, pid):
        if col not in frame.columns:
            raise HoldoutError(f"the hold-out needs a column '{col}' in the scored households.")
    if not isinstance(capacity, int) or capacity < 0:
        raise HoldoutError(
            "the hold-out's capacity must be a whole number of households, 0 or more."
        )
    if not 0 <= share <= MAX_SHARE:
        raise HoldoutError(
            f"the hold-out share must be between 0 and {MAX_SHARE} (a lottery needs at least "
            f"{MIN_ENTRANTS_PER_PLACE} entrants per place); {share} was given."
        )
    if margin is not None and margin < 0:
        raise HoldoutError("the hold-out margin must be 0 or more, in score units (or none).")
    if share > 0 and (not salt or not key):
        raise HoldoutError("a hold-out needs its generation's salt and a key for the lottery.")
    if frame[pid].null_count() or frame[pid].n_unique() != frame.height:
        raise HoldoutError(
            f"the hold-out needs one row per household: column '{pid}' has repeats or empty values."
        )
    if frame[score].null_count():
        raise HoldoutError(f"the hold-out needs a score for every household: '{score}' has gaps.")


def draw_holdout(
    frame: pl.DataFrame,
    *,
    capacity: int,
    share: float,
    salt: str,
    key: bytes,
    margin: float | None = DEFAULT_MARGIN,
    score: str = "score",
    pid: str = "household_pid",
) -> tuple[pl.DataFrame, HoldoutSummary]:
    """`assign_holdout`, with the summary the audit records."""
    _check(frame, capacity, share, salt, key, margin, score, pid)
    ordered = frame.sort([score, pid], descending=[True, False]).with_row_index(
        "score_rank", offset=1
    )
    within = min(capacity, ordered.height)
    n_hold = min(holdout_size(capacity, share), within)
    cut = float(ordered[score][within - 1]) if within else None
    band_rank = pl.col("score_rank") <= within
    if margin is not None and cut is not None:
        band_rank = band_rank & ((pl.col(score) - cut).abs() <= margin)
    band = ordered.filter(band_rank)["score_rank"]
    widened = False
    needed = min(MIN_ENTRANTS_PER_PLACE * n_hold, within)
    if n_hold and band.len() < needed:
        # too few households near the cut: the `needed` listed households nearest it enter
        band = pl.Series("score_rank", range(within - needed + 1, within + 1), dtype=pl.UInt32)
        widened = True
    in_band = ordered["score_rank"].is_in(band) if n_hold else pl.Series([False] * ordered.height)
    held: set[str] = set()
    if n_hold:
        entrants = ordered.filter(in_band)[pid].to_list()
        drawn = sorted(entrants, key=lambda p: lottery_draw(key, salt, p))
        held = set(drawn[:n_hold])
    out = ordered.with_columns(
        in_band.alias("in_margin"), pl.col(pid).is_in(list(held)).alias("held_out")
    )
    # the freed places go to the next households below the cut: capacity stays filled
    out = out.with_columns(
        (~pl.col("held_out") & (pl.int_range(pl.len()).over("held_out") < capacity)).alias("listed")
    )
    summary = HoldoutSummary(
        households=frame.height,
        capacity=capacity,
        share=share,
        held_out=len(held),
        band=int(in_band.sum()),
        cut_score=cut,
        margin=margin,
        widened=widened,
    )
    return out, summary


def assign_holdout(
    frame: pl.DataFrame,
    *,
    capacity: int,
    share: float,
    salt: str,
    key: bytes,
    margin: float | None = DEFAULT_MARGIN,
    score: str = "score",
    pid: str = "household_pid",
) -> pl.DataFrame:
    """Each household's hold-out flag for one model generation (see the module's text).

    `frame` has one row per household with its pseudonym (`pid`) and score (`score`); the
    result is the frame in score order with `score_rank` (1 = highest), `in_margin` (entered the
    lottery), `held_out` (drawn: no proactive offer this generation) and `listed` (on the
    proactive list: the first `capacity` households not held out). Deterministic: the same
    frame, capacity, share, salt, key and margin always give the same flags."""
    return draw_holdout(
        frame,
        capacity=capacity,
        share=share,
        salt=salt,
        key=key,
        margin=margin,
        score=score,
        pid=pid,
    )[0]
