"""Month-by-month population change (moves, leavers, arrivals) and who each record is about.

None of this depends on the hidden household state, so it carries no information about risk:
the truth can ignore it, provided every record is linked to the household that generated it.
That is why records of month t go only to people who were members for the whole of month t.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hearth.synth import params as P
from hearth.synth.months import random_day_in_month
from hearth.synth.population import Areas, Households, People

ROLE_CODE = {"adult": 0, "child": 1, "oldest": 2}
MOVE, LEAVE, ARRIVE = 0, 1, 2


@dataclass
class PersonChanges:
    person: np.ndarray
    kind: np.ndarray  # MOVE / LEAVE / ARRIVE
    household: np.ndarray  # new household (-1 for LEAVE)
    day: np.ndarray


@dataclass
class Population:
    """The person register as it evolves; arrays grow as people arrive."""

    hh_of: np.ndarray  # current household, -1 once left the area
    birth_year: np.ndarray
    sex: np.ndarray
    eth: np.ndarray
    n_households: int
    households_ward: np.ndarray
    ward_eth_p: np.ndarray
    moves: int = 0
    leaves: int = 0
    arrivals: int = 0
    mover_exposure: int = field(default=0)  # person-months eligible to depart

    @classmethod
    def start(cls, people: People, hh: Households, areas: Areas) -> Population:
        return cls(
            people.household.astype(np.int64).copy(),
            people.birth_year.astype(np.int64).copy(),
            people.sex.astype(np.int64).copy(),
            people.eth.astype(np.int64).copy(),
            hh.n,
            areas.lsoa_ward[hh.lsoa],
            areas.ward_eth_p,
        )

    @property
    def n_persons(self) -> int:
        return int(self.hh_of.size)

    def step(
        self, rng: np.random.Generator, month: int, move_rate: float
    ) -> tuple[np.ndarray, PersonChanges]:
        """Advance one month. Returns (members for the whole month, that month's changes)."""
        leave_rate = move_rate * P.LEAVE_SHARE_OF_MOVE_RATE
        resident = self.hh_of >= 0
        adult = resident & (self.birth_year <= month // 12 - 18)
        adults = np.bincount(self.hh_of[adult], minlength=self.n_households)
        # Only adults move or leave, and only from households with another adult in them.
        cand = adult & (adults[np.maximum(self.hh_of, 0)] >= 2)
        self.mover_exposure += int(cand.sum())
        u = rng.random(self.n_persons)
        depart = np.flatnonzero(cand & (u < move_rate + leave_rate))
        # At most one departure per household per month, so no household ever empties.
        prio = rng.random(depart.size)
        order = np.lexsort((prio, self.hh_of[depart]))
        depart = depart[order]
        first = np.ones(depart.size, dtype=bool)
        first[1:] = self.hh_of[depart[1:]] != self.hh_of[depart[:-1]]
        depart = np.sort(depart[first])
        is_move = u[depart] < move_rate
        stable = np.flatnonzero(resident)
        stable = stable[~np.isin(stable, depart)]

        movers, leavers = depart[is_move], depart[~is_move]
        dest = rng.integers(0, self.n_households - 1, size=movers.size)
        dest += dest >= self.hh_of[movers]
        self.hh_of[movers] = dest
        self.hh_of[leavers] = -1

        n_arr = int(rng.poisson(leave_rate * resident.sum()))
        arr_hh = rng.integers(0, self.n_households, size=n_arr)
        age = rng.integers(P.ARRIVAL_AGE[0], P.ARRIVAL_AGE[1] + 1, size=n_arr)
        sex = np.where(rng.random(n_arr) < P.SEX_U_SHARE, 2, (rng.random(n_arr) < 0.5).astype(int))
        eth_p = self.ward_eth_p[self.households_ward[arr_hh]]
        cum = np.cumsum(eth_p, axis=1)
        eth = np.minimum((rng.random(n_arr)[:, None] * cum[:, -1:] >= cum).sum(axis=1), 5)
        new = np.arange(self.n_persons, self.n_persons + n_arr)
        self.hh_of = np.concatenate([self.hh_of, arr_hh])
        self.birth_year = np.concatenate([self.birth_year, month // 12 - age])
        self.sex = np.concatenate([self.sex, sex])
        self.eth = np.concatenate([self.eth, eth])
        self.moves += movers.size
        self.leaves += leavers.size
        self.arrivals += n_arr

        person = np.concatenate([movers, leavers, new])
        kind = np.concatenate(
            [np.full(movers.size, MOVE), np.full(leavers.size, LEAVE), np.full(n_arr, ARRIVE)]
        )
        household = np.concatenate([dest, np.full(leavers.size, -1), arr_hh])
        day = random_day_in_month(rng, np.full(person.size, month))
        order = np.lexsort((person, day))
        changes = PersonChanges(person[order], kind[order], household[order], day[order])
        return stable, changes

    def assign(
        self,
        rng: np.random.Generator,
        stable: np.ndarray,
        household: np.ndarray,
        role: np.ndarray,
        year: int,
    ) -> np.ndarray:
        """A person for each record: a whole-month member of its household of a fitting age
        (child / adult / the oldest), or any member when none fits."""
        hh_of = self.hh_of_at(stable)
        order = np.argsort(hh_of, kind="stable")
        members = stable[order]
        indptr = np.searchsorted(hh_of[order], np.arange(self.n_households + 1))
        count = indptr[household + 1] - indptr[household]
        rec = np.repeat(np.arange(household.size), count)
        offset = np.arange(rec.size) - np.repeat(np.cumsum(count) - count, count)
        person = members[indptr[household][rec] + offset]
        by = self.birth_year[person]
        r = role[rec]
        fits = np.where(r == ROLE_CODE["child"], by >= year - 17, by <= year - 18)
        score = np.where(
            r == ROLE_CODE["oldest"],
            (year - by) + 0.5 * rng.random(rec.size),
            2.0 * fits + rng.random(rec.size),
        )
        best = np.lexsort((score, rec))
        last = np.ones(best.size, dtype=bool)
        last[:-1] = rec[best[1:]] != rec[best[:-1]]
        return person[best[last]]

    def hh_of_at(self, stable: np.ndarray) -> np.ndarray:
        # Stable members did not move this month, so their current household is the month's.
        return self.hh_of[stable]
