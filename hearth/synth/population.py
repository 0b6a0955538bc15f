"""Areas, households and the baseline person register.

Everything here is drawn from observed-covariate distributions only; the hidden state (z, V)
is drawn later, per household block, given the observed deprivation quintile and eligibility.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hearth.synth import params as P
from hearth.synth.months import month_start_day


@dataclass
class Areas:
    la_codes: list[str]
    ward_codes: list[str]
    ward_la: np.ndarray
    lsoa_codes: list[str]
    lsoa_ward: np.ndarray
    lsoa_decile: np.ndarray
    ward_eth_p: np.ndarray  # (n_wards, 6) ethnic group shares


@dataclass
class Households:
    lsoa: np.ndarray
    decile: np.ndarray  # 1 = most deprived
    tenure: np.ndarray  # index into TENURES
    ptype: np.ndarray  # index into PROPERTY_TYPES
    updated_day: np.ndarray  # days since epoch
    hh_type: np.ndarray
    has_child: np.ndarray  # at baseline: a resident with birth_year >= Y0 - 17
    has_old: np.ndarray  # at baseline: a resident with birth_year <= Y0 - 75

    @property
    def n(self) -> int:
        return int(self.lsoa.size)

    @property
    def q(self) -> np.ndarray:
        return ((self.decile - 1) // 2).astype(np.int64)


@dataclass
class People:
    household: np.ndarray  # baseline household index
    birth_year: np.ndarray
    sex: np.ndarray  # index into ("F", "M", "U")
    eth: np.ndarray  # index into ETHNIC_GROUPS
    effective_day: np.ndarray


SEXES = ("F", "M", "U")


def make_areas(rng: np.random.Generator, households: int) -> Areas:
    n_wards = rng.integers(P.WARDS_PER_LA[0], P.WARDS_PER_LA[1] + 1, size=len(P.LA_CODES))
    ward_la = np.repeat(np.arange(len(P.LA_CODES)), n_wards)
    ward_codes = [f"E0590{la + 1}{w + 1:03d}" for la, n in enumerate(n_wards) for w in range(n)]
    total_wards = ward_la.size
    # Ward sizes follow the LA shares, with some spread between wards of one LA.
    ward_w = rng.gamma(8.0, size=total_wards)
    for la in range(len(P.LA_CODES)):
        sel = ward_la == la
        ward_w[sel] *= P.LA_SHARE[la] / ward_w[sel].sum()
    n_lsoa_w = np.maximum(
        P.MIN_LSOA_PER_WARD, np.round(ward_w * households / P.HOUSEHOLDS_PER_LSOA)
    ).astype(np.int64)
    lsoa_ward = np.repeat(np.arange(total_wards), n_lsoa_w)
    lsoa_codes = [f"E01{900000 + i:06d}" for i in range(lsoa_ward.size)]
    ward_mean = (
        5.5
        + np.asarray(P.LA_DECILE_SHIFT)[ward_la]
        + rng.normal(0.0, P.WARD_DECILE_SD, total_wards)
    )
    decile = np.round(ward_mean[lsoa_ward] + rng.normal(0.0, P.LSOA_DECILE_SD, lsoa_ward.size))
    lsoa_decile = np.clip(decile, 1, 10).astype(np.int64)
    # Ethnic mix: non-white shares scaled by an LA factor and a log-normal ward factor.
    base = np.asarray(P.ETHNIC_P)
    mult = np.asarray(P.LA_DIVERSITY)[ward_la] * np.exp(
        rng.normal(0.0, P.WARD_DIVERSITY_SD, total_wards)
    )
    eth = np.tile(base, (total_wards, 1))
    eth[:, 1:5] *= np.minimum(mult, 0.6 / base[1:5].sum())[:, None]
    eth[:, 0] = 1.0 - eth[:, 1:].sum(axis=1)
    return Areas(list(P.LA_CODES), ward_codes, ward_la, lsoa_codes, lsoa_ward, lsoa_decile, eth)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, c) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _interp(p_q0: tuple[float, ...], p_q4: tuple[float, ...], q: np.ndarray) -> np.ndarray:
    w = (q / 4.0)[:, None]
    return (1.0 - w) * np.asarray(p_q0)[None, :] + w * np.asarray(p_q4)[None, :]


def make_households(
    rng: np.random.Generator, areas: Areas, n: int, first_month: int
) -> tuple[Households, People]:
    lsoa_w = rng.gamma(20.0, size=len(areas.lsoa_codes))
    lsoa = np.sort(rng.choice(len(areas.lsoa_codes), size=n, p=lsoa_w / lsoa_w.sum()))
    decile = areas.lsoa_decile[lsoa]
    q = (decile - 1) // 2
    hh_type = _choice_rows(rng, _interp(P.HH_TYPE_P_Q0, P.HH_TYPE_P_Q4, q))
    people, has_child, has_old = _make_people(rng, areas, lsoa, hh_type, first_month)

    older_only = np.isin(hh_type, [1, 3])
    ten_p = _interp(P.TENURE_P_Q0, P.TENURE_P_Q4, q)
    shift = np.minimum(ten_p[:, 1], P.OLDER_OWNER_SHIFT) * older_only
    ten_p[:, 0] += shift
    ten_p[:, 1] -= shift
    tenure = _choice_rows(rng, ten_p)
    prop_p = np.where(
        (tenure == 0)[:, None], np.asarray(P.PROPERTY_P_OWNED), np.asarray(P.PROPERTY_P_RENTED)
    )
    ptype = _choice_rows(rng, prop_p)
    ptype = np.where(older_only & (rng.random(n) < P.OLDER_BUNGALOW_SHARE), 2, ptype)
    # Baseline updated_date: some day in the ten years up to the end of the baseline month.
    last = month_start_day(first_month + 1) - 1
    updated = last - (rng.random(n) * 3652).astype(np.int64)
    hh = Households(lsoa, decile, tenure, ptype, updated, hh_type, has_child, has_old)
    return hh, people


def _make_people(
    rng: np.random.Generator,
    areas: Areas,
    lsoa: np.ndarray,
    hh_type: np.ndarray,
    first_month: int,
) -> tuple[People, np.ndarray, np.ndarray]:
    n = hh_type.size
    year0 = first_month // 12
    # Member counts by role: working-age adults, parents, older adults, children.
    adults = np.select(
        [hh_type == 0, hh_type == 2, hh_type == 6],
        [1, 2, 3 + _choice_rows(rng, np.tile(P.N_MULTI_ADULTS_P, (n, 1)))],
        0,
    )
    parents = np.select([hh_type == 4, hh_type == 5, hh_type == 7], [2, 1, 2], 0)
    olds = np.select([hh_type == 1, hh_type == 3, hh_type == 7], [1, 2, 1], 0)
    children = np.zeros(n, dtype=np.int64)
    for t, name in ((4, "FAMILY"), (5, "LONE_PARENT"), (7, "MULTIGEN")):
        sel = hh_type == t
        pr = np.tile(P.N_CHILDREN_P[name], (int(sel.sum()), 1))
        children[sel] = 1 + _choice_rows(rng, pr)
    size = adults + parents + olds + children

    household = np.repeat(np.arange(n), size)
    start = np.cumsum(size) - size
    rank = np.arange(household.size) - start[household]  # position within the household
    a, pa, o = adults[household], parents[household], olds[household]
    role = np.select([rank < a, rank < a + pa, rank < a + pa + o], [0, 1, 2], 3)
    m = household.size
    age = np.zeros(m, dtype=np.int64)
    child_age = rng.integers(0, 18, size=m)
    oldest_child = np.zeros(n, dtype=np.int64)
    is_child = role == 3
    np.maximum.at(oldest_child, household[is_child], child_age[is_child])
    age[is_child] = child_age[is_child]
    par = role == 1
    age[par] = np.minimum(
        oldest_child[household[par]] + 18 + rng.integers(0, 21, int(par.sum())), 64
    )
    adl = role == 0
    age[adl] = np.where(
        hh_type[household[adl]] == 6,
        rng.integers(18, 61, int(adl.sum())),
        rng.integers(18, 65, int(adl.sum())),
    )
    old = role == 2
    age[old] = 65 + np.minimum(rng.exponential(P.OLD_AGE_MEAN_OVER_65, int(old.sum())), 34).astype(
        np.int64
    )
    # Couples: the second partner's age close to the first's.
    second = np.isin(hh_type[household], [2, 3]) & (rank == 1)
    lo = np.where(hh_type[household[second]] == 3, 65, 18)
    hi = np.where(hh_type[household[second]] == 3, 99, 64)
    age[second] = np.clip(
        age[np.flatnonzero(second) - 1]
        + np.round(rng.normal(0, 3, int(second.sum()))).astype(np.int64),
        lo,
        hi,
    )
    birth_year = year0 - age

    sex = (rng.random(m) < 0.5).astype(np.int64)
    sex[second] = np.where(
        rng.random(int(second.sum())) < 0.9, 1 - sex[np.flatnonzero(second) - 1], sex[second]
    )
    sex[rng.random(m) < P.SEX_U_SHARE] = 2

    ward = areas.lsoa_ward[lsoa]
    hh_eth = _choice_rows(rng, areas.ward_eth_p[ward])
    own = _choice_rows(rng, areas.ward_eth_p[ward[household]])
    eth = np.where(rng.random(m) < P.SAME_ETHNICITY_IN_HOUSEHOLD, hh_eth[household], own)

    last = month_start_day(first_month + 1) - 1
    earliest = np.maximum(month_start_day(birth_year * 12), month_start_day(first_month - 240))
    eff = earliest + (rng.random(m) * (last - earliest + 1)).astype(np.int64)

    has_child = np.zeros(n, dtype=bool)
    has_old = np.zeros(n, dtype=bool)
    has_child[household[birth_year >= year0 - 17]] = True
    has_old[household[birth_year <= year0 - 75]] = True
    return People(household, birth_year, sex, eth, eff), has_child, has_old
