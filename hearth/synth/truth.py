"""Exact crisis probabilities for one household block.

Given z, the likelihood of everything observed factorises over the K chains, so the posterior is
a two-state forward filter per (household, z node, chain) plus a weight per z node. The future is
integrated out with the occupation-time Laplace tables of `latent.laplace_table`:

    P(no crisis in M..M+11 | obs) = sum_j w_j exp(-12 z_j B) prod_k sum_s alpha_jk(s) phi_k(z_j, s)

Observation model (what the pipeline can have seen before as-of month M): each record is
linkable with probability r = 1 - mess_rate, independently; records of month M-1 have also
arrived only with probability 1 - mess_rate (late ones land in M's extract). Independent
thinning of a Poisson process is Poisson, so month t's linkable, arrived records of a key are
Poisson(r_t * rate) and carry the likelihood ratio log(lam1/lam0) each.

The mechanisms of `WorldParams` keep this shape (mechanisms.py says why): the nodes j become
(z, u) pairs g, the chains' steps and the expected counts change with the month (known
multipliers of lam0 and lam1 alike, so the ratios do not), and the future tables phi become one
per as-of month (`latent.laplace_by_month`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hearth.synth import params as P
from hearth.synth.events import BlockEvents, HouseholdRates
from hearth.synth.months import month_name
from hearth.synth.write import PARQUET_OPTIONS, ROW_GROUP_SIZE

HORIZON = 12
# Households per pass of the filter: (households x nodes x chains) cells, so memory stays flat
# when the household factor multiplies the nodes. Today's world (8 nodes) is one pass per block.
_CELLS = 32768 * 8 * P.K


@dataclass
class BlockTruth:
    p: np.ndarray  # (n_asof, n): P(crisis in window | observed records)
    p_full: np.ndarray  # (n_asof, n): P(crisis in window | z, V(M-1))
    crisis: np.ndarray  # (n_asof, n) bool: a crisis happened in the window


def _chain_sums(
    rates: HouseholdRates, world: Any, mult: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per (household, chain): summed rate increments of non-crisis and of crisis keys; `mult`
    (n, N_KEYS) scales each key's rates in the month at hand."""
    n = rates.mask.shape[0]
    d_nc = np.zeros((n, P.K))
    d_c = np.zeros((n, P.K))
    for i, kv in enumerate(world.key_vuln):
        if kv < 0:
            continue
        target = d_c if world.key_crisis[i] else d_nc
        inc = rates.lam1[:, i] - rates.lam0[:, i]
        target[:, kv] += inc if mult is None else inc * mult[:, i]
    return d_nc, d_c


def _month_evidence(
    ev: BlockEvents, rates: HouseholdRates, sel: np.ndarray, n: int, world: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of log lam1/lam0 per household and chain, count of crisis records per household)."""
    h, key = ev.h[sel], ev.key[sel].astype(np.int64)
    kv = world.key_vuln[key]
    chained = kv >= 0
    lr = np.log(rates.lam1[h[chained], key[chained]] / rates.lam0[h[chained], key[chained]])
    rec = np.zeros((n, P.K))
    np.add.at(rec, (h[chained], kv[chained]), lr)
    n_crisis = np.bincount(h[world.key_crisis[key]], minlength=n).astype(np.float64)
    return rec, n_crisis


def block_truth(
    q: np.ndarray,
    elig: np.ndarray,
    node: np.ndarray,
    bits: np.ndarray,
    rates: HouseholdRates,
    ev: BlockEvents,
    n_land: int,
    mess_rate: float,
    phi: np.ndarray,
    world: Any = None,
    la: np.ndarray | None = None,
) -> BlockTruth:
    """The truth of one block. `node` is each household's hidden node (today: its z node);
    `phi` is `laplace_table` (5 axes) or `laplace_by_month` (6 axes); `world` a
    mechanisms.World (None: today's) and `la` each household's authority index."""
    if world is None:
        from hearth.synth.mechanisms import today  # scipy

        world = today()
    n = q.size
    step = max(1, _CELLS // (world.z.size * P.K))
    if n <= step:
        return _block_truth(q, elig, node, bits, rates, ev, n_land, mess_rate, phi, world, la)
    parts = []
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        sel = (ev.h >= lo) & (ev.h < hi)
        sub = BlockEvents(**{f.name: getattr(ev, f.name)[sel] for f in fields(ev)})
        sub.h = sub.h - lo
        sub_rates = HouseholdRates(rates.mask[lo:hi], rates.lam0[lo:hi], rates.lam1[lo:hi])
        sub_la = None if la is None else la[lo:hi]
        parts.append(
            _block_truth(
                q[lo:hi],
                elig[lo:hi],
                node[lo:hi],
                bits[lo:hi],
                sub_rates,
                sub,
                n_land,
                mess_rate,
                phi,
                world,
                sub_la,
            )
        )
    return BlockTruth(
        np.concatenate([b.p for b in parts], axis=1),
        np.concatenate([b.p_full for b in parts], axis=1),
        np.concatenate([b.crisis for b in parts], axis=1),
    )


def _by_node(a: np.ndarray, l_of_g: np.ndarray) -> np.ndarray:
    """(K, n, L) table of the household-factor nodes -> (n, G, K) over all hidden nodes."""
    return np.transpose(a, (1, 2, 0))[:, l_of_g, :]


def _block_truth(
    q: np.ndarray,
    elig: np.ndarray,
    node: np.ndarray,
    bits: np.ndarray,
    rates: HouseholdRates,
    ev: BlockEvents,
    n_land: int,
    mess_rate: float,
    phi: np.ndarray,
    world: Any,
    la: np.ndarray | None,
) -> BlockTruth:
    n = q.size
    nodes, prior = world.z, world.weight
    n_u = world.n_u
    l_of_g = np.arange(nodes.size) % n_u
    rem = world.rem
    e = elig.astype(np.int64)
    varying = world.time_varying
    by_month = phi.ndim == 6

    def step_on(t: int) -> np.ndarray:
        """(n, 1 or G, K): each household's onset for the step t -> t + 1."""
        if n_u == 1:
            return (world.onset[:, q, 0, t].T * elig)[:, None, :]
        return _by_node(world.onset[:, :, :, t][:, q, :], l_of_g) * elig[:, None, :]

    on = step_on(0)
    keep = (1.0 - rem[:, q].T)[:, None, :] - on
    if n_u == 1:
        pi0 = np.broadcast_to((world.stat0[:, q, 0].T * elig)[:, None, :], (n, nodes.size, P.K))
    else:
        pi0 = _by_node(world.stat0[:, q, :], l_of_g) * elig[:, None, :]

    r_full = 1.0 - mess_rate
    r_thin = r_full * (1.0 - mess_rate)
    zn = nodes[None, :, None]
    base0 = rates.crisis_base  # (n,)
    log_z = np.log(nodes)[None, :]
    kk = np.arange(P.K)[None, :]
    season = world.crisis_season

    def month_terms(t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(g_full, g_thin, crisis base) of month t: exp(-r x expected counts) per chain."""
        mult = None if world.time_mult is None else world.time_mult[la, :, t]
        if mult is not None and season is not None:
            mult = mult.copy()
            mult[:, world.key_crisis] = season[t]
        d_nc, d_c = _chain_sums(rates, world, mult)
        if mult is None and season is not None:
            d_c = d_c * season[t]
        base = base0 if season is None else base0 * season[t]
        g_full = np.exp(-r_full * (d_nc[:, None, :] + zn * d_c[:, None, :]))
        g_thin = np.exp(-r_thin * (d_nc[:, None, :] + zn * d_c[:, None, :]))
        return g_full, g_thin, base

    def future(t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(survival of the base hazard, phi0, dphi) for the window of as-of month t + 1."""
        tab = phi[t] if by_month else phi
        span = world.season_sum(t + 1, HORIZON)
        if season is None:
            surv_base = np.exp(-HORIZON * nodes[None, :] * base0[:, None])  # (n, G)
        else:
            surv_base = np.exp(-span * nodes[None, :] * base0[:, None])
        phi0 = np.moveaxis(tab[kk, q[:, None], e, :, 0], 2, 1)  # (n, G, K)
        dphi = np.moveaxis(tab[kk, q[:, None], e, :, 1], 2, 1) - phi0
        return surv_base, phi0, dphi

    g_full, g_thin, base = month_terms(0)
    surv_base, phi0, dphi = future(0)

    linkable = ev.linkable
    order = np.argsort(ev.t, kind="stable")
    bounds = np.searchsorted(ev.t[order], np.arange(n_land + 1))

    p = np.empty((n_land, n))
    alpha = pi0
    log_lz = np.zeros((n, nodes.size))
    for t in range(n_land):
        if varying and t > 0:
            g_full, g_thin, base = month_terms(t)
            surv_base, phi0, dphi = future(t)
            on = step_on(t - 1)
            keep = (1.0 - rem[:, q].T)[:, None, :] - on
        idx = order[bounds[t] : bounds[t + 1]]
        pred = pi0 if t == 0 else alpha * keep + on
        # As of M = t + 1: month t seen only through records that were on time.
        rec, nc = _month_evidence(ev, rates, idx[linkable[idx] & ~ev.late[idx]], n, world)
        ratio = g_thin * np.exp(rec)[:, None, :]
        c = 1.0 + pred * (ratio - 1.0)
        a_thin = pred * ratio / c
        ll = log_lz + nc[:, None] * log_z - r_thin * nodes[None, :] * base[:, None]
        ll += np.log(c.prod(axis=2))
        ll -= ll.max(axis=1, keepdims=True)
        w = np.exp(ll) * prior[None, :]
        w /= w.sum(axis=1, keepdims=True)
        surv = (w * surv_base * (phi0 + a_thin * dphi).prod(axis=2)).sum(axis=1)
        p[t] = 1.0 - surv
        # Carry the filter forward with all of month t's linkable records (late ones included:
        # they have arrived by every later as-of month).
        rec, nc = _month_evidence(ev, rates, idx[linkable[idx]], n, world)
        ratio = g_full * np.exp(rec)[:, None, :]
        c = 1.0 + pred * (ratio - 1.0)
        alpha = pred * ratio / c
        log_lz += nc[:, None] * log_z - r_full * nodes[None, :] * base[:, None]
        log_lz += np.log(c.prod(axis=2))

    p_full = np.empty((n_land, n))
    z = nodes[node]
    for t in range(n_land):
        tab = phi[t] if by_month else phi
        span = HORIZON if season is None else world.season_sum(t + 1, HORIZON)
        prod = np.exp(-span * z * base0)
        for k in range(P.K):
            s = (bits[:, t] >> k) & 1
            prod = prod * tab[k, q, e[:, k], node, s]
        p_full[t] = 1.0 - prod

    crisis_month = np.zeros((n, bits.shape[1] + 1), dtype=np.int64)
    is_crisis = world.key_crisis[ev.key.astype(np.int64)]
    np.add.at(crisis_month, (ev.h[is_crisis], ev.t[is_crisis] + 1), 1)
    cum = np.cumsum(crisis_month, axis=1)  # cum[:, m] = crises in months < m
    asof = np.arange(1, n_land + 1)
    crisis = (cum[:, asof + HORIZON] - cum[:, asof]).T > 0
    return BlockTruth(p, p_full, crisis)


def write_households_truth(
    truth: Path, hh_pids: pa.Array, first: int, tr: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> int:
    """`households.parquet`: each household's risk and crisis in the 12 months after each
    as-of month (the world without any visit of the closed loop)."""
    p, p_full, crisis = tr
    truth.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [
            ("household_pid", pa.string()),
            ("as_of", pa.string()),
            ("p_crisis_12m", pa.float64()),
            ("p_crisis_12m_full", pa.float64()),
            ("crisis_12m", pa.bool_()),
        ]
    )
    n = len(hh_pids)
    with pq.ParquetWriter(truth / "households.parquet", schema, **PARQUET_OPTIONS) as writer:
        for i in range(p.shape[0]):
            as_of = month_name(first + 1 + i)
            table = pa.Table.from_arrays(
                [
                    hh_pids,
                    pa.array(np.full(n, as_of)),
                    pa.array(p[i]),
                    pa.array(p_full[i]),
                    pa.array(crisis[i]),
                ],
                schema=schema,
            )
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
    return n * p.shape[0]
