"""Sparse generation of one household block's records, and the mess each record carries.

Records of one key are drawn by thinning: a Poisson number of candidates at the key's largest
rate, spread uniformly over (household, month) cells, each kept with probability rate / max.
That is exact for Poisson processes and costs time in proportion to the records, not to the
households x months grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hearth.synth import params as P


@dataclass
class HouseholdRates:
    """Per-household, per-key rate ingredients for a block (n households)."""

    mask: np.ndarray  # (n, N_KEYS) bool: can the key happen in this household at all
    lam0: np.ndarray  # (n, N_KEYS) rate when the key's chain is off (crisis keys: z-free b)
    lam1: np.ndarray  # (n, N_KEYS) rate when on (crisis keys: b + a)

    @property
    def crisis_base(self) -> np.ndarray:
        """B: the total z-free crisis hazard with every chain off, (n,)."""
        return self.lam0[:, P.KEY_CRISIS].sum(axis=1)


def household_rates(
    q: np.ndarray,
    has_child: np.ndarray,
    has_old: np.ndarray,
    keys: tuple[P.Key, ...] = P.KEYS,
    area: np.ndarray | None = None,
) -> HouseholdRates:
    """Rates of each key in each household: `keys` is the world's table; `area` (n, sources in
    EVENT_SOURCES order) the household's recording multiplier of non-crisis records."""
    from hearth.sources import EVENT_SOURCES

    n = q.size
    mask = np.ones((n, P.N_KEYS), dtype=bool)
    lam0 = np.zeros((n, P.N_KEYS))
    lam1 = np.zeros((n, P.N_KEYS))
    dep = np.asarray(P.DEP_MULT)[q]
    for i, key in enumerate(keys):
        if key.needs == "child":
            mask[:, i] = has_child
        if key.crisis:
            b = key.b0 * dep + key.b_old * has_old
            lam0[:, i] = b
            lam1[:, i] = b + (key.a if key.vuln else 0.0)
        else:
            lam0[:, i] = key.lam0
            lam1[:, i] = key.lam1
            if area is not None:
                mult = area[:, EVENT_SOURCES.index(key.source)]
                lam0[:, i] *= mult
                lam1[:, i] *= mult
    lam0 *= mask
    lam1 *= mask
    return HouseholdRates(mask, lam0, lam1)


@dataclass
class BlockEvents:
    """All records of a block. Mess fields are meaningful only for landed months (t < n_land)."""

    t: np.ndarray  # month index from the first landed month
    h: np.ndarray  # household index within the block
    key: np.ndarray  # index into params.KEYS
    day: np.ndarray  # event date, days since epoch (landed months only, else 0)
    miss: np.ndarray  # 0 keys present; 1 person_pid blank; 2 household_pid blank; 3 unlinkable
    late: np.ndarray  # arrives in the next month's extract
    dup: np.ndarray  # written twice
    sc_household: np.ndarray  # social care row carries household_pid

    @property
    def linkable(self) -> np.ndarray:
        return self.miss != 3


def generate_events(
    rng: np.random.Generator,
    rates: HouseholdRates,
    z: np.ndarray,
    bits: np.ndarray,
    n_land: int,
    first_month: int,
    mess_rate: float,
    world: Any = None,
    la: np.ndarray | None = None,
) -> BlockEvents:
    """`world` (mechanisms.World; None: today's) gives the table and the month multipliers:
    non-crisis rates times time_mult[la, key, t], crisis hazards times crisis_season[t]."""
    from hearth.synth.months import random_day_in_month

    n, months = bits.shape
    key_vuln = P.KEY_VULN if world is None else world.key_vuln
    time_mult = None if world is None else world.time_mult
    season = None if world is None else world.crisis_season
    ts, hs, ks = [], [], []
    for i, key in enumerate(P.KEYS if world is None else world.keys):
        span = months if key.crisis else n_land  # crises are simulated past `end` for the truth
        zmax = z.max() if key.crisis else 1.0
        top = float(np.maximum(rates.lam0[:, i], rates.lam1[:, i]).max()) * zmax
        tm = None
        if key.crisis and season is not None:
            tm = season[None, :span]
        elif not key.crisis and time_mult is not None:
            tm = time_mult[:, i, :span]
        if tm is not None:
            top *= float(tm.max())
        if top <= 0.0 or n == 0:
            continue
        count = int(rng.poisson(top * n * span))
        h = rng.integers(0, n, size=count)
        t = rng.integers(0, span, size=count)
        kv = key_vuln[i]
        if kv >= 0:
            on = ((bits[h, t] >> kv) & 1).astype(bool)
            rate = np.where(on, rates.lam1[h, i], rates.lam0[h, i])
        else:
            rate = rates.lam0[h, i]
        if key.crisis:
            rate = rate * z[h]
        if tm is not None:
            rate = rate * (tm[0, t] if key.crisis else tm[la[h], t])
        keep = rng.random(count) * top < rate
        ts.append(t[keep])
        hs.append(h[keep])
        ks.append(np.full(int(keep.sum()), i, dtype=np.int16))
    t = np.concatenate(ts).astype(np.int32) if ts else np.zeros(0, np.int32)
    h = np.concatenate(hs).astype(np.int32) if hs else np.zeros(0, np.int32)
    key = np.concatenate(ks) if ks else np.zeros(0, np.int16)
    order = np.lexsort((key, h, t))  # canonical order, independent of generation order
    t, h, key = t[order], h[order], key[order]

    m = t.size
    landed = t < n_land
    day = np.zeros(m, dtype=np.int64)
    day[landed] = random_day_in_month(rng, first_month + t[landed])
    u = rng.random(m)
    is_police = np.isin(key, [i for i, k in enumerate(P.KEYS) if k.source == "police"])
    # police: person blank, household blank, both blank each at mess_rate; others: key blank
    police_miss = np.where(u < 3 * mess_rate, 1 + (u >= mess_rate) + (u >= 2 * mess_rate), 0)
    miss = np.where(is_police, police_miss, np.where(u < mess_rate, 3, 0)).astype(np.uint8)
    late = rng.random(m) < mess_rate
    dup = rng.random(m) < mess_rate
    sc_household = rng.random(m) < P.SOCIAL_CARE_HOUSEHOLD_SHARE
    not_landed = ~landed
    miss[not_landed] = 0
    late[not_landed] = False
    dup[not_landed] = False
    return BlockEvents(t, h, key, day, miss, late, dup, sc_household)
