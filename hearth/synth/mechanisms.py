"""The world's resolved parameters for one seed: the record-to-problem table, the hidden node
grid (crisis frailty z x household factor u), the chains' monthly onset, and the recording rates
by area and month. With default `WorldParams` every array holds today's constants exactly, so the
code that reads them computes today's world bit for bit (docs/synthetic-world.md).

Why the truth stays exact: every mechanism keeps the two facts it rests on. Given the hidden node
(z, u), the K chains are independent Markov chains (now time-inhomogeneous and u-dependent), and
each record kind's rate depends on at most one chain, times multipliers that are known functions
of observed things (the household's authority and ward, the month). Multipliers scale lam0 and
lam1 alike, so a record's likelihood ratio is unchanged and only the expected counts move.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import ndtri

from hearth.sources import EVENT_SOURCES
from hearth.synth import params as P
from hearth.synth.latent import z_nodes

# Sub-streams of the world stream, one per mechanism, so switching one on never moves another's
# draws (world.py owns the top-level stream number).
_TABLE, _LOADING, _CHANGES, _RISING, _AREA = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class World:
    params: P.WorldParams
    keys: tuple[P.Key, ...]  # the record-to-problem table in force
    key_vuln: np.ndarray  # (N_KEYS,) chain index, -1 for none
    key_crisis: np.ndarray  # (N_KEYS,) bool
    key_source: np.ndarray  # (N_KEYS,) index into EVENT_SOURCES
    z: np.ndarray  # (G,) crisis frailty of each hidden node; node g = j * L + l
    u: np.ndarray  # (G,) household factor of each node (0 when co-occurrence is off)
    weight: np.ndarray  # (G,) prior weight of each node
    n_u: int  # L: household-factor nodes (1 when off)
    onset: np.ndarray  # (K, 5, L, T) monthly onset; the step t -> t + 1 uses [..., t]
    rem: np.ndarray  # (K, 5) monthly remission
    stat0: np.ndarray  # (K, 5, L) P(V = 1) in month 0 (the stationary law of month 0's chain)
    la_mult: np.ndarray  # (n_la, n_sources) non-crisis recording multiplier per authority
    ward_mult: np.ndarray  # (n_wards, n_sources) per ward
    time_mult: np.ndarray | None  # (n_la, N_KEYS, T) per authority, key and month; None: all 1
    crisis_season: np.ndarray | None  # (T,) multiplier of every crisis hazard; None: all 1
    drawn: dict = field(default_factory=dict)  # what was drawn, for truth/world.json

    @property
    def time_varying(self) -> bool:
        return (
            self.time_mult is not None
            or self.crisis_season is not None
            or bool(np.any(self.onset != self.onset[..., :1]))
        )

    def area_mult(self, la: np.ndarray, ward: np.ndarray) -> np.ndarray | None:
        """(n, n_sources) recording multiplier of each household, or None when all 1."""
        if not self.params.area_recording_sd > 0:
            return None
        return self.la_mult[la] * self.ward_mult[ward]

    def crisis_loading(self) -> np.ndarray:
        """A_k: the summed crisis hazard increment a of all crisis keys tied to chain k."""
        a_k = np.zeros(P.K)
        for key, kv in zip(self.keys, self.key_vuln, strict=True):
            if key.crisis and kv >= 0:
                a_k[kv] += key.a
        return a_k

    def season_sum(self, t0: int, horizon: int) -> float:
        """Sum of the crisis multipliers over months t0 .. t0 + horizon - 1."""
        if self.crisis_season is None:
            return float(horizon)
        return float(self.crisis_season[t0 : t0 + horizon].sum())


def today(n_la: int = len(P.LA_CODES), n_wards: int = 1, horizon: int = 48) -> World:
    """Today's world: the fixed table, independent stationary problems, even recording."""
    return resolve(P.WorldParams(), 0, n_la, n_wards, 0, horizon, horizon)


def _u_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """N(0, 1) cut into n equal-probability bins, each at its conditional mean."""
    edges = ndtri(np.linspace(0.0, 1.0, n + 1))
    dens = np.exp(-0.5 * edges**2) / np.sqrt(2 * np.pi)  # 0 at +-inf
    return (dens[:-1] - dens[1:]) * n, np.full(n, 1.0 / n)


def resolve(
    wp: P.WorldParams,
    seed: int,
    n_la: int,
    n_wards: int,
    first_month: int,
    months: int,
    horizon: int,
) -> World:
    """Draw every per-seed choice of the mechanisms that are on (stream [seed, 6, mechanism])."""
    wp.check()
    rng = lambda sub: np.random.default_rng([seed, 6, sub])  # noqa: E731
    drawn: dict = {}
    keys = P.KEYS if not wp.drawn_table else _draw_table(wp, rng(_TABLE), drawn)
    key_vuln = np.array([-1 if k.vuln is None else P.VULN_INDEX[k.vuln] for k in keys])
    key_crisis = np.array([k.crisis for k in keys])
    key_source = np.array([EVENT_SOURCES.index(k.source) for k in keys])

    zs, zw = z_nodes()
    onset0, rem, stat_today = P.chain_tables()
    if wp.cooccurrence > 0:
        us, uw = _u_nodes(wp.factor_nodes)
        load = wp.cooccurrence * rng(_LOADING).uniform(*wp.loading, size=P.K)
        drawn["cooccurrence_loading"] = dict(
            zip((v.name for v in P.VULNS), load.tolist(), strict=True)
        )
        prev = np.array([v.prevalence for v in P.VULNS])[:, :, None]  # (K, 5, 1)
        logit = np.log(prev / (1 - prev)) + load[:, None, None] * us[None, None, :]
        prev_u = 1.0 / (1.0 + np.exp(-logit))  # (K, 5, L)
        onset_u = rem[:, :, None] * prev_u / (1.0 - prev_u)
        z = np.repeat(zs, us.size)
        u = np.tile(us, zs.size)
        weight = np.repeat(zw, us.size) * np.tile(uw, zs.size)
    else:
        onset_u = onset0[:, :, None]
        z, u, weight = zs, np.zeros_like(zs), zw
    n_u = onset_u.shape[2]
    stat0 = onset_u / (onset_u + rem[:, :, None])
    if wp.is_default or not wp.cooccurrence > 0:
        stat0 = stat_today[:, :, None]  # computed as today, bit for bit
    onset = np.repeat(onset_u[:, :, :, None], horizon, axis=3)
    if wp.rising_prevalence != 0:
        k = int(rng(_RISING).integers(0, P.K))
        trend = (1.0 + wp.rising_prevalence) ** (np.arange(horizon) / max(months - 1, 1))
        # A probability still: onset + remission at most 1 (a steep rise on a short world).
        onset[k] = np.minimum(onset[k] * trend[None, None, :], 1.0 - rem[k][:, None, None])
        drawn["rising_prevalence"] = {"problem": P.VULNS[k].name, "onset_times": trend.tolist()}

    n_src = len(EVENT_SOURCES)
    la_mult = np.ones((n_la, n_src))
    ward_mult = np.ones((n_wards, n_src))
    if wp.area_recording_sd > 0:
        r = rng(_AREA)
        la_mult = np.exp(r.normal(0.0, wp.area_recording_sd, (n_la, n_src)))
        ward_mult = np.exp(r.normal(0.0, wp.area_recording_sd, (n_wards, n_src)))
        drawn["area_recording"] = {
            "by_authority": {
                P.LA_CODES[i]: dict(zip(EVENT_SOURCES, la_mult[i].round(4).tolist(), strict=True))
                for i in range(n_la)
            },
            "ward_multiplier_range": [float(ward_mult.min()), float(ward_mult.max())],
        }

    time_mult = None
    if wp.recording_changes > 0 or wp.seasonality > 0:
        time_mult = np.ones((n_la, len(keys), horizon))
        cal = (first_month + np.arange(horizon)) % 12 + 1  # calendar month of each month index
        if wp.seasonality > 0:
            for i, key in enumerate(keys):
                if not key.crisis:
                    peak = P.SEASON_PEAK_MONTH[key.source]
                    time_mult[:, i, :] *= 1 + wp.seasonality * np.cos(2 * np.pi * (cal - peak) / 12)
        if wp.recording_changes > 0:
            drawn["recording_changes"] = _draw_changes(
                wp, rng(_CHANGES), keys, key_source, n_la, months, time_mult
            )
    crisis_season = None
    if wp.seasonality > 0:
        cal = (first_month + np.arange(horizon)) % 12 + 1
        peak = P.SEASON_PEAK_MONTH["crisis"]
        crisis_season = 1 + wp.seasonality * np.cos(2 * np.pi * (cal - peak) / 12)
    return World(
        wp,
        keys,
        key_vuln,
        key_crisis,
        key_source,
        z,
        u,
        weight,
        n_u,
        onset,
        rem,
        stat0,
        la_mult,
        ward_mult,
        time_mult,
        crisis_season,
        drawn,
    )


def _draw_table(wp: P.WorldParams, rng: np.random.Generator, drawn: dict) -> tuple[P.Key, ...]:
    """The record-to-problem table of this seed (the bounds are in WorldParams)."""
    n = len(P.KEYS)
    # Every draw is made for every key, in key order, whatever the branch: stable streams.
    u_cross, u_prot, u_sign = rng.random(n), rng.random(n), rng.random(n)
    other = rng.integers(1, P.K, size=n)  # an offset to another chain
    any_chain = rng.integers(0, P.K, size=n)
    f = rng.uniform(*wp.strength, size=n)
    fb = rng.uniform(*wp.background_strength, size=n)
    fc = rng.uniform(*wp.crisis_strength, size=n)
    keys = []
    rows = []
    for i, key in enumerate(P.KEYS):
        if key.crisis:
            new = replace(key, a=key.a * fc[i])
        elif key.vuln is None:
            if u_cross[i] < wp.background_share:
                sign = -1.0 if u_sign[i] < wp.protective_share else 1.0
                chain = P.VULNS[int(any_chain[i])].name
                new = replace(key, vuln=chain, lam1=key.lam0 * float(np.exp(sign * fb[i])))
            else:
                new = key
        else:
            k = P.VULN_INDEX[key.vuln]
            chain = (
                P.VULNS[(k + int(other[i])) % P.K].name if u_cross[i] < wp.cross_share else key.vuln
            )
            log_ratio = float(np.log(key.lam1 / key.lam0))
            if u_prot[i] < wp.protective_share:
                lam0 = float(np.sqrt(key.lam0 * key.lam1))
                new = replace(
                    key, vuln=chain, lam0=lam0, lam1=lam0 * float(np.exp(-f[i] * log_ratio / 4))
                )
            else:
                new = replace(key, vuln=chain, lam1=key.lam0 * float(np.exp(f[i] * log_ratio)))
        keys.append(new)
        rows.append(
            {
                "source": key.source,
                "event_type": key.event_type,
                "attrs": dict(key.attrs),
                "was": key.vuln,
                "now": new.vuln,
                "lam0": new.lam0,
                "lam1": new.lam1,
                "a": new.a,
            }
        )
    drawn["table"] = rows
    return tuple(keys)


def _draw_changes(
    wp: P.WorldParams,
    rng: np.random.Generator,
    keys: tuple[P.Key, ...],
    key_source: np.ndarray,
    n_la: int,
    months: int,
    time_mult: np.ndarray,
) -> list[dict]:
    non_crisis = np.flatnonzero([not k.crisis for k in keys])
    out = []
    for _ in range(wp.recording_changes):
        la = int(rng.integers(0, n_la))
        start = int(rng.integers(months // 4, max(3 * months // 4, months // 4 + 1)))
        is_code = bool(rng.random() < 0.5)
        key_i = int(rng.choice(non_crisis))
        src = int(rng.integers(0, len(EVENT_SOURCES)))
        lo, hi = wp.change_up if rng.random() < 0.5 else wp.change_down
        factor = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        hit = [key_i] if is_code else [i for i in non_crisis if key_source[i] == src]
        for i in hit:
            time_mult[la, i, start:] *= factor
        k = keys[key_i]
        out.append(
            {
                "authority": P.LA_CODES[la],
                "from_month_index": start,
                "what": "code" if is_code else "coverage",
                "record": f"{k.source} {k.event_type} {dict(k.attrs)}" if is_code else None,
                "source": None if is_code else EVENT_SOURCES[src],
                "factor": factor,
            }
        )
    return out
