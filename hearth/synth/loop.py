"""The closed loop (issue 26): a partnership that visits the households on Hearth's published
lists, month by month, and a world whose crises respond.

`synthesise(..., partnership=Partnership(...))` asks the partnership, before it writes each
month from `start` on, for Hearth's list as of that month (the `lister` reads the landing tree
written so far, runs Hearth and returns the list). The partnership offers a visit to the
households on the list in rank order, within its capacity (held-out households are not on the
list, so never offered; a household offered in the last `revisit_months` is not offered again),
a share `accept` accept, and an accepted visit is completed within the offer's month. For the
`effect_months` months after that month, the household's crisis hazard is multiplied by
(1 + `effect`).

Why this is exact: crises feed nothing else in the world (the hidden problems and every other
record kind do not depend on them), and each crisis record is a point of a Poisson process. So
the world with visits is the world without them with each crisis record in a visited
household's effect window kept with probability 1 + effect (independent thinning of a Poisson
process multiplies its rate). Each record's keep-or-not uniform comes from its own stream
(`[seed, 8, 0]`), drawn once for every record whatever the lists, so two runs of one seed with
different lists share their randomness (common random numbers), and an effect of 0 removes
nothing: the extracts are the world without the loop's, byte for byte. Hence effects in [-1, 0]
(a visit that raises the hazard would need records the world without visits never drew).

What stays the same: every non-crisis record (business as usual and statutory services are
untouched by the list; a visit leaves no record in the agencies' extracts), the people and
addresses, and `_truth/households.parquet`, which therefore holds each household's risk and
crises WITHOUT intervention: the oracle means what it always meant. What the loop adds:
`landing/interventions/<YYYY-MM>/` (every offer, in the interventions contract's shape),
`_truth/interventions.parquet` (every list entry: offered or why not, held out, the response,
the months its effect covers) and `_truth/prevented.parquet` (the crisis records the visits
prevented: the counterfactual crises that did not happen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hearth.sources import EVENT_SOURCES
from hearth.synth import params as P
from hearth.synth.months import month_name, month_start_day, parse_month
from hearth.synth.write import PARQUET_OPTIONS, record_ids

# The loop's random stream (streams 1-7 are the world's, 10-11 the agencies' identifiers), with
# one sub-stream per kind of draw, each drawn in full once so no draw depends on the lists.
STREAM = 8
_KEEP, _RESPONSE, _DAYS = 0, 1, 2

RESPONSES = ("ACCEPTED", "DECLINED", "NO_CONTACT")
DECLINED_SHARE = 0.6  # of the offers not accepted, this share declined; the rest no contact
# The agency that leads a list entry (one of the contracts' agencies) -> (agency, team, offer
# type) in the interventions contract's codes. An entry without one goes to the council's
# early-help hub for a wellbeing visit.
OFFERS = {
    "fire": ("fire", "PREVENTION", "FIRE_SAFETY_VISIT"),
    "health": ("health", "COMMUNITY_HEALTH", "FALLS_REVIEW"),
    "social_care": ("social_care", "EARLY_HELP", "EARLY_HELP"),
    "police": ("police", "NEIGHBOURHOOD", "WELLBEING_VISIT"),
}
DEFAULT_OFFER = ("social_care", "EARLY_HELP_HUB", "WELLBEING_VISIT")
INTERVENTION_PREFIX = "IV"
INTERVENTION_COLUMNS = (
    "record_id",
    "household_pid",
    "offer_date",
    "agency",
    "team",
    "offer_type",
    "from_list",
    "list_generation",
    "list_rank",
    "response",
    "completed_date",
)


@dataclass(frozen=True)
class LoopParams:
    """The partnership's behaviour and the world's response (docs/synthetic-world.md)."""

    effect: float = -0.30  # relative change of the crisis hazard after a completed visit
    effect_months: int = 12  # months the effect lasts, from the month after the visit
    accept: float = 0.6  # share of offers accepted (the rest declined or not reached)
    capacity: int = 0  # visits offered a month at most (in list order); 0: the whole list
    revisit_months: int = 12  # a household offered a visit is not offered again this soon

    def check(self) -> None:
        if not -1.0 <= self.effect <= 0.0:
            raise ValueError(
                f"The loop's effect must be between -1 and 0 (got {self.effect}): a visit "
                "thins the crises of the world without visits, so it can remove crises, not "
                "add them."
            )
        if not 0.0 <= self.accept <= 1.0:
            raise ValueError(
                f"The loop's accept share must be between 0 and 1 (got {self.accept})."
            )
        if self.effect_months < 1 or self.revisit_months < 0 or self.capacity < 0:
            raise ValueError(
                "The loop's effect_months must be at least 1, and revisit_months and capacity "
                "at least 0."
            )


@dataclass
class PublishedList:
    """Hearth's list as of one month, as the partnership receives it: the households in rank
    order (`list_rank` 1 first). `held_out` marks households the hold-out took off the list
    (recorded in the truth, never offered); `lead_agency` (optional) decides the offer."""

    household_pid: np.ndarray  # str
    list_rank: np.ndarray  # int
    generation: str
    held_out: np.ndarray | None = None  # bool
    lead_agency: np.ndarray | None = None  # str

    def __post_init__(self) -> None:
        n = len(self.household_pid)
        for name in ("list_rank", "held_out", "lead_agency"):
            v = getattr(self, name)
            if v is not None and len(v) != n:
                raise ValueError(f"The published list's {name} has {len(v)} rows, not {n}.")


Lister = Callable[[str], PublishedList | None]  # as-of month "YYYY-MM" -> the list (None: none)


@dataclass
class Partnership:
    """The partnership in the loop: `lister(as_of)` gives Hearth's list as of each month from
    `start` ("YYYY-MM") on, after the extracts of every month before it are written."""

    params: LoopParams
    lister: Lister
    start: str
    # filled by `bind` and as the months pass
    rows: list[dict] = field(default_factory=list, repr=False)
    prevented: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    summary: dict = field(default_factory=dict)  # the counts world.json records, once written

    def bind(
        self,
        seed: int,
        first: int,
        months: int,
        ev_t: np.ndarray,
        ev_h: np.ndarray,
        ev_crisis: np.ndarray,
        hh_pids: pa.Array,
    ) -> None:
        """Attach to one world: its records (month, household, crisis or not, in record-id
        order) and households. Every draw of the loop is made here, in full."""
        self.params.check()
        parse_month(self.start)  # a clear ValueError on a malformed month
        n, m = len(hh_pids), months
        self._first, self._months = first, months
        self._pids = np.asarray(hh_pids.to_pylist(), dtype=object)
        self._index = {p: i for i, p in enumerate(self._pids)}
        self._ev_t, self._ev_h = ev_t, ev_h
        keep_u = np.random.default_rng([seed, STREAM, _KEEP]).random(ev_t.size)
        self._crisis = np.flatnonzero(ev_crisis)
        self._crisis_u = keep_u[self._crisis]
        self._response_u = np.random.default_rng([seed, STREAM, _RESPONSE]).random((m, n))
        days = np.random.default_rng([seed, STREAM, _DAYS])
        self._offer_day = days.integers(0, 14, size=(m, n))  # offered in the first fortnight
        self._visit_gap = days.integers(1, 14, size=(m, n))  # completed 1-13 days later
        self.prevented = np.zeros(ev_t.size, dtype=bool)
        self._last_offer = np.full(n, -(10**6), dtype=np.int64)
        self._effect_to = np.full(n, -1, dtype=np.int64)
        self._numbers = 0

    def month(self, t: int, out: Path) -> int:
        """Month index t (0 = the world's first month): publish, offer, visit; write the
        month's interventions extract. Returns the offers made."""
        if self._first + t < parse_month(self.start):
            return 0
        as_of = month_name(self._first + t)
        lst = self.lister(as_of)
        if lst is None or len(lst.household_pid) == 0:
            return 0
        p = self.params
        order = np.argsort(np.asarray(lst.list_rank), kind="stable")
        pid = np.asarray(lst.household_pid, dtype=object)[order]
        rank = np.asarray(lst.list_rank, dtype=np.int64)[order]
        held = np.zeros(pid.size, bool) if lst.held_out is None else np.asarray(lst.held_out)[order]
        lead = None if lst.lead_agency is None else np.asarray(lst.lead_agency, object)[order]
        unknown = [x for x in pid if x not in self._index]
        if unknown:
            raise ValueError(
                f"The list as of {as_of} names {len(unknown)} households the world does not have."
            )
        h = np.array([self._index[x] for x in pid], dtype=np.int64)
        recent = (t - self._last_offer[h]) < p.revisit_months
        eligible = ~held & ~recent
        offered = eligible.copy()
        if p.capacity > 0:
            offered &= np.cumsum(eligible) <= p.capacity
        why = np.where(offered, "", "capacity")
        why = np.where(held, "held_out", np.where(recent, "offered_recently", why))
        u = self._response_u[t, h]
        response = np.where(
            u < p.accept, 0, np.where(u < p.accept + (1 - p.accept) * DECLINED_SHARE, 1, 2)
        )
        visited = offered & (response == 0)
        start_day = int(month_start_day(self._first + t))
        offer_day = start_day + self._offer_day[t, h]
        done_day = offer_day + self._visit_gap[t, h]  # within the month (day 14 + 13 < 28)
        self._last_offer[h[offered]] = t
        self._thin(h[visited], t)
        self._effect_to[h[visited]] = t + p.effect_months
        for i in range(pid.size):
            self.rows.append(
                {
                    "household_pid": pid[i],
                    "as_of": as_of,
                    "list_rank": int(rank[i]),
                    "list_generation": lst.generation,
                    "held_out": bool(held[i]),
                    "offered": bool(offered[i]),
                    "not_offered_because": why[i] or None,
                    "response": RESPONSES[response[i]] if offered[i] else None,
                    "completed_month": as_of if visited[i] else None,
                    "effect_from": month_name(self._first + t + 1) if visited[i] else None,
                    "effect_to": (
                        month_name(self._first + t + p.effect_months) if visited[i] else None
                    ),
                }
            )
        sel = np.flatnonzero(offered)
        if sel.size:  # a month without offers sends no file (an empty extract is refused)
            self._write_extract(out, as_of, pid[sel], rank[sel], lst.generation, lead, sel,
                                offer_day[sel], np.where(visited[sel], done_day[sel], -1),
                                response[sel])  # fmt: skip
        return int(sel.size)

    def _thin(self, visited: np.ndarray, t: int) -> None:
        """Remove the crisis records of the visited households in their effect window that
        the lower hazard would not have produced (kept with probability 1 + effect)."""
        if visited.size == 0 or self.params.effect == 0:
            return
        h, tt = self._ev_h[self._crisis], self._ev_t[self._crisis]
        hit = (
            np.isin(h, visited)
            & (tt > t)
            & (tt <= t + self.params.effect_months)
            & (self._crisis_u >= 1.0 + self.params.effect)
        )
        self.prevented[self._crisis[hit]] = True

    def _write_extract(
        self,
        out: Path,
        month: str,
        pid: np.ndarray,
        rank: np.ndarray,
        generation: str,
        lead: np.ndarray | None,
        sel: np.ndarray,
        offer_day: np.ndarray,
        done_day: np.ndarray,
        response: np.ndarray,
    ) -> None:
        from hearth.synth.write import dates, write_landing

        offers = [OFFERS.get(lead[i], DEFAULT_OFFER) if lead is not None else DEFAULT_OFFER
                  for i in sel]  # fmt: skip
        numbers = np.arange(self._numbers + 1, self._numbers + 1 + pid.size)
        self._numbers += pid.size
        cols = {
            "record_id": record_ids(INTERVENTION_PREFIX, numbers, P.RECORD_ID_DIGITS),
            "household_pid": pa.array(pid.tolist(), pa.string()),
            "offer_date": dates(offer_day),
            "agency": pa.array([o[0] for o in offers], pa.string()),
            "team": pa.array([o[1] for o in offers], pa.string()),
            "offer_type": pa.array([o[2] for o in offers], pa.string()),
            "from_list": pa.array(["Y"] * pid.size, pa.string()),
            "list_generation": pa.array([generation] * pid.size, pa.string()),
            "list_rank": pa.array(rank, pa.int64()),
            "response": pa.array([RESPONSES[r] for r in response], pa.string()),
            "completed_date": pa.array(
                np.asarray(done_day, np.int32), pa.int32(), mask=np.asarray(done_day) < 0
            ).cast(pa.date32()),
        }
        write_landing(out, "interventions", month, cols)

    def write_truth(self, truth: Path, ev_number: np.ndarray, ev_source: np.ndarray,
                    ev_day: np.ndarray) -> dict:  # fmt: skip
        """`_truth/interventions.parquet` and `_truth/prevented.parquet`; returns the counts
        for world.json."""
        schema = pa.schema(
            [
                ("household_pid", pa.string()),
                ("as_of", pa.string()),
                ("list_rank", pa.int64()),
                ("list_generation", pa.string()),
                ("held_out", pa.bool_()),
                ("offered", pa.bool_()),
                ("not_offered_because", pa.string()),
                ("response", pa.string()),
                ("completed_month", pa.string()),
                ("effect_from", pa.string()),
                ("effect_to", pa.string()),
            ]
        )
        table = pa.Table.from_pylist(self.rows, schema=schema)
        pq.write_table(table, truth / "interventions.parquet", **PARQUET_OPTIONS)
        idx = np.flatnonzero(self.prevented)
        src = ev_source[idx]
        rid = np.empty(idx.size, dtype=object)
        for k, s in enumerate(EVENT_SOURCES):
            sel = src == k
            rid[sel] = record_ids(
                P.RECORD_ID_PREFIX[s], ev_number[idx[sel]], P.RECORD_ID_DIGITS
            ).to_pylist()
        prevented = pa.table(
            {
                "source": pa.array([EVENT_SOURCES[k] for k in src], pa.string()),
                "record_id": pa.array(rid.tolist(), pa.string()),
                "household_pid": pa.array(self._pids[self._ev_h[idx]].tolist(), pa.string()),
                "event_date": pa.array(ev_day[idx].astype(np.int32), pa.int32()).cast(pa.date32()),
                "month_index": pa.array(self._ev_t[idx].astype(np.int64), pa.int64()),
            }
        )
        pq.write_table(prevented, truth / "prevented.parquet", **PARQUET_OPTIONS)
        offered = sum(r["offered"] for r in self.rows)
        self.summary = {
            "params": asdict(self.params),
            "start": self.start,
            "stream": STREAM,
            "list_entries": len(self.rows),
            "held_out": sum(r["held_out"] for r in self.rows),
            "offers": offered,
            "visits": sum(r["response"] == "ACCEPTED" for r in self.rows),
            "crises_prevented": int(idx.size),
        }
        return self.summary
