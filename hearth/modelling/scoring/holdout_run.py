"""The hold-out as a run decides it (issue 26): its share and who approved it, its key, the
generation's salt, the draw over the scores at T and where it is kept. The lottery itself is
`hearth/modelling/holdout.py`; the audit entry is written by the asset that calls this
(`hearth/defs/modelling/assets.py`: the audit is the privacy stage's).

- **Share**: `HEARTH_HOLDOUT_SHARE` (0 to 0.5, default 0: nobody held out). A share above 0 is
  a decision about people's offers of help, so it needs someone's approval, recorded with it:
  `HEARTH_HOLDOUT_APPROVED_BY` (e.g. "A. Khan, DPO; partnership board 2026-03-12"). A share
  without an approval stops the run before anything is published.
- **Margin**: `HEARTH_HOLDOUT_MARGIN` (score units, default 0.02; `all` draws among every
  household within capacity).
- **Key**: `HEARTH_HOLDOUT_KEY` (at least 16 bytes), or the file `HEARTH_HOME/holdout.key`,
  made (32 random bytes, owner only) the first time a hold-out is drawn. Without it nobody can
  predict or steer who is held out; the audit records only its fingerprint.
- **Salt**: drawn once per model generation (the champion's version) and kept in the warehouse
  table `holdout_decisions`; a new generation draws afresh.
- **Held for a year**: a household drawn stays held out for `HOLD_MONTHS` (12) from its draw
  (`held_recently`), whatever its score or the model generation does meanwhile; each month's
  lottery is drawn among the others. So every held-out household can be followed as long, and a
  new champion (a new generation) does not release it early.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from hearth import settings
from hearth.modelling.holdout import DEFAULT_MARGIN, MAX_SHARE, HoldoutError, draw_holdout
from hearth.months import add_months
from hearth.warehouse import query, query_one, run_sql

SHARE_ENV = "HEARTH_HOLDOUT_SHARE"
APPROVED_ENV = "HEARTH_HOLDOUT_APPROVED_BY"
MARGIN_ENV = "HEARTH_HOLDOUT_MARGIN"
KEY_ENV = "HEARTH_HOLDOUT_KEY"
KEY_FILE = "holdout.key"
MIN_KEY_BYTES = 16
# How long a household drawn stays held out: as long as "is the list working?" and the safe
# rule may follow it (list_effect.HORIZON_MONTHS, a visit's effect), and on the closed loop the
# lottery's spread fell by 15-26% against holding it only to its generation's end
# (docs/performance.md): each held-out household followed as long, more households entering.
HOLD_MONTHS = 12
# What the list and the DPO's page say of every hold-out (docs/data-protection.md).
NEVER_OVERRIDES = (
    "The hold-out decides only who is offered a proactive visit from this list: it never "
    "overrides safeguarding or professional judgement. A held-out household with a need known to "
    "a practitioner, a referral or a safeguarding concern is helped exactly as it would be "
    "without Hearth."
)


@dataclass(frozen=True)
class HoldoutSettings:
    share: float
    approved_by: str | None
    margin: float | None


@dataclass(frozen=True)
class HoldoutDecision:
    """One month's hold-out, as the audit, the list and the card describe it (no pseudonym)."""

    as_of: str
    generation: str
    salt: str
    share: float
    capacity: int
    held_out: int
    band: int
    margin: float | None
    approved_by: str | None
    key_fingerprint: str | None
    widened: bool = False
    carried: int = 0  # drawn in the HOLD_MONTHS before, still held out

    def audit_detail(self) -> dict[str, object]:
        return {
            "generation": self.generation,
            "salt": self.salt,
            "share": self.share,
            "capacity": self.capacity,
            "held_out": self.held_out,
            "margin_band": self.band,
            "margin": self.margin,
            "band_widened": self.widened,
            "held_out_from_earlier_draws": self.carried,
            "approved_by": self.approved_by,
            "key_fingerprint": self.key_fingerprint,
        }

    def sentence(self) -> str:
        if not self.held_out:
            return (
                f"No household was held out of this list (hold-out share {self.share:g}), so no "
                "outcome is left that the list did not change: the model cannot be safely "
                "retrained on the months this list is acted on."
            )
        band = (
            "every household within capacity"
            if self.margin is None
            else (
                f"the {self.band} households within capacity whose scores are within "
                f"{self.margin:g} of the last listed household's"
            )
        )
        return (
            f"{self.held_out} of the {self.capacity} households the list had room for were held "
            f"out by lottery (share {self.share:g}, approved by {self.approved_by}), drawn among "
            f"{band}, where the score barely separates them; their places went to the next "
            f"households. The draw is fixed for model generation {self.generation}, and a "
            f"household drawn stays held out for {HOLD_MONTHS} months"
            + (
                f" (the {self.carried} drawn by earlier lists in that time are held out too). "
                if self.carried
                else ". "
            )
            + NEVER_OVERRIDES
        )


def holdout_settings() -> HoldoutSettings:
    """The share, its approval and the margin, from the environment, checked."""
    raw = os.environ.get(SHARE_ENV, "").strip()
    try:
        share = float(raw) if raw else 0.0
    except ValueError:
        raise HoldoutError(
            f"{SHARE_ENV} must be a share between 0 and {MAX_SHARE}, such as 0.1."
        ) from None
    if not 0 <= share <= MAX_SHARE:
        raise HoldoutError(f"{SHARE_ENV} must be between 0 and {MAX_SHARE}; it is {share:g}.")
    approved = os.environ.get(APPROVED_ENV, "").strip() or None
    if share > 0 and not approved:
        raise HoldoutError(
            f"{SHARE_ENV} is {share:g} but nobody's approval is recorded: a hold-out decides "
            f"who is offered help, so set {APPROVED_ENV} to who approved the share (name, role "
            "and the decision's reference); nothing was published."
        )
    raw_margin = os.environ.get(MARGIN_ENV, "").strip().lower()
    if raw_margin == "all":
        margin = None
    else:
        try:
            margin = float(raw_margin) if raw_margin else DEFAULT_MARGIN
        except ValueError:
            raise HoldoutError(
                f"{MARGIN_ENV} must be a score difference such as 0.02, or 'all'."
            ) from None
    return HoldoutSettings(share, approved, margin)


def holdout_key(home: Path | None = None) -> bytes:
    """The lottery's key: HEARTH_HOLDOUT_KEY, or HEARTH_HOME/holdout.key (made when absent)."""
    value = os.environ.get(KEY_ENV, "").strip()
    if value:
        if len(value.encode()) < MIN_KEY_BYTES:
            raise HoldoutError(
                f"{KEY_ENV} is too short: it must be at least {MIN_KEY_BYTES} bytes."
            )
        return value.encode()
    path = (home or settings.hearth_home()) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # made by the owner only, never rewritten
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_hex(32).encode())
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_BYTES:
        raise HoldoutError(
            f"The hold-out key in {path} is too short: at least {MIN_KEY_BYTES} bytes are needed."
        )
    return key


def key_fingerprint(key: bytes) -> str:
    """Which key drew a lottery, without the key: 12 hex characters of its SHA-256."""
    return hashlib.sha256(b"hearth-holdout-key\x00" + key).hexdigest()[:12]


def generation_salt(con: duckdb.DuckDBPyConnection, generation: str) -> str:
    """The generation's salt: the one it was first drawn with, or a new one."""
    run_sql(con, "modelling/holdout_schema")
    found = query_one(con, "modelling/holdout_generation_salt", {"generation": generation})
    return found[0] if found else f"{generation}:{secrets.token_hex(8)}"


def decide_holdout(
    con: duckdb.DuckDBPyConnection,
    ranked: pl.DataFrame,
    as_of: str,
    generation: str,
    capacity: int,
    chosen: HoldoutSettings | None = None,
    home: Path | None = None,
) -> HoldoutDecision:
    """Draw this month's hold-out over the scores at T and keep it in the warehouse
    (`holdout_assignments`, `holdout_decisions`). Share 0 keeps a decision too (nobody held out),
    so the card and the report can say so."""
    chosen = chosen or holdout_settings()
    salt = generation_salt(con, generation)
    key = holdout_key(home) if chosen.share > 0 else b""
    # drawn in the HOLD_MONTHS before: held out still, and not drawn again (as the closed-loop
    # benchmark runs it with --hold-months 12): were a held-out household's score to rise above
    # the margin next month, or a new champion start a generation, it would otherwise be listed,
    # and the lottery's comparison would follow an offered household as held out
    carried = held_recently(con, as_of) if chosen.share > 0 else set()
    scored = ranked.select("household_pid", "score")
    out, summary = draw_holdout(
        scored.filter(~pl.col("household_pid").is_in(list(carried))),
        capacity=capacity,
        share=chosen.share,
        salt=salt,
        key=key,
        margin=chosen.margin,
    )
    decision = HoldoutDecision(
        as_of=as_of,
        generation=generation,
        salt=salt,
        share=chosen.share,
        capacity=capacity,
        held_out=summary.held_out,
        band=summary.band,
        margin=chosen.margin,
        approved_by=chosen.approved_by,
        key_fingerprint=key_fingerprint(key) if key else None,
        widened=summary.widened,
        carried=len(carried),
    )
    if carried:  # kept as held out of this month's list too: publish leaves them off
        still = scored.filter(pl.col("household_pid").is_in(list(carried))).with_columns(
            score_rank=pl.lit(0, out.schema["score_rank"]),  # not in this month's draw
            in_margin=pl.lit(False),
            held_out=pl.lit(True),
            listed=pl.lit(False),
        )
        out = pl.concat([out, still.select(out.columns)])
    store_holdout(con, out, decision)
    return decision


def held_recently(con: duckdb.DuckDBPyConnection, as_of: str) -> set[str]:
    """The households a lottery drew in the `HOLD_MONTHS` before `as_of`: still held out."""
    run_sql(con, "modelling/holdout_schema")
    # drawn at month m, held out of the lists of m to m + HOLD_MONTHS - 1
    params = {"since": add_months(as_of, 1 - HOLD_MONTHS), "as_of": as_of}
    return {r[0] for r in query(con, "modelling/holdout_held_recently", params).fetchall()}


def store_holdout(
    con: duckdb.DuckDBPyConnection, drawn: pl.DataFrame, decision: HoldoutDecision
) -> None:
    """Keep a draw (`draw_holdout`'s frame) and its decision in the warehouse, replacing any
    earlier one for the same month: safe updating reads who was held out and their chance."""
    run_sql(con, "modelling/holdout_schema")
    con.register("holdout_frame", drawn)
    try:
        run_sql(
            con,
            "modelling/holdout_store",
            {
                "as_of": decision.as_of,
                "generation": decision.generation,
                "salt": decision.salt,
                "share": decision.share,
                "capacity": decision.capacity,
                "held_out": decision.held_out,
                "band": decision.band,
                "margin": decision.margin,
                "approved_by": decision.approved_by,
            },
        )
    finally:
        con.unregister("holdout_frame")


def describe_entries(con: duckdb.DuckDBPyConnection, as_of: str) -> None:
    """Keep, for each lottery entrant of the list scored at `as_of`, the lead the list
    suggested and the feature behind its first reason (from `household_scores`, stored before
    the draw), so "is the list working?" can compare offered and held-out households within
    each lead and each agency's reasons, months later when that list is old enough."""
    run_sql(con, "modelling/holdout_describe", {"as_of": as_of})


def held_out_households(con: duckdb.DuckDBPyConnection, as_of: str) -> set[str]:
    """The households held out of the list scored at `as_of` (none when no hold-out was kept;
    a read-only connection to a warehouse that never drew one has no table yet)."""
    try:
        rows = query(con, "modelling/holdout_load", {"as_of": as_of}).fetchall()
    except duckdb.CatalogException:
        return set()
    return {r[0] for r in rows}


def load_decision(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, object] | None:
    """The decision kept for the list scored at `as_of`, with its sentence, for run_summary.json,
    the list's cover and the report; None when no hold-out was decided (an older warehouse)."""
    try:
        row = query_one(con, "modelling/holdout_decision_load", {"as_of": as_of})
    except duckdb.CatalogException:
        return None
    if row is None:
        return None
    generation, share, capacity, held, band, margin, approved = row
    decision = HoldoutDecision(
        as_of, generation, "", share, capacity, held, band, margin, approved, None
    )
    return {
        "generation": generation,
        "share": share,
        "capacity": capacity,
        "held_out": held,
        "margin_band": band,
        "margin": margin,
        "approved_by": approved,
        "sentence": decision.sentence(),
    }


def mark_held_out(ranked: pl.DataFrame, held: set[str]) -> pl.DataFrame:
    """The ranked list with `held_out` (publish's `published_top` leaves these households off)."""
    return ranked.with_columns(pl.col("household_pid").is_in(list(held)).alias("held_out"))
