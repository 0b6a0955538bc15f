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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hearth.synth import params as P
from hearth.synth.events import BlockEvents, HouseholdRates
from hearth.synth.latent import z_nodes
from hearth.synth.params import chain_tables

HORIZON = 12


@dataclass
class BlockTruth:
    p: np.ndarray  # (n_asof, n): P(crisis in window | observed records)
    p_full: np.ndarray  # (n_asof, n): P(crisis in window | z, V(M-1))
    crisis: np.ndarray  # (n_asof, n) bool: a crisis happened in the window


def _chain_sums(rates: HouseholdRates) -> tuple[np.ndarray, np.ndarray]:
    """Per (household, chain): summed rate increments of non-crisis and of crisis keys."""
    n = rates.mask.shape[0]
    d_nc = np.zeros((n, P.K))
    d_c = np.zeros((n, P.K))
    for i, kv in enumerate(P.KEY_VULN):
        if kv < 0:
            continue
        target = d_c if P.KEY_CRISIS[i] else d_nc
        target[:, kv] += rates.lam1[:, i] - rates.lam0[:, i]
    return d_nc, d_c


def _month_evidence(
    ev: BlockEvents, rates: HouseholdRates, sel: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of log lam1/lam0 per household and chain, count of crisis records per household)."""
    h, key = ev.h[sel], ev.key[sel].astype(np.int64)
    kv = P.KEY_VULN[key]
    chained = kv >= 0
    lr = np.log(rates.lam1[h[chained], key[chained]] / rates.lam0[h[chained], key[chained]])
    rec = np.zeros((n, P.K))
    np.add.at(rec, (h[chained], kv[chained]), lr)
    n_crisis = np.bincount(h[P.KEY_CRISIS[key]], minlength=n).astype(np.float64)
    return rec, n_crisis


def block_truth(
    q: np.ndarray,
    elig: np.ndarray,
    z_idx: np.ndarray,
    bits: np.ndarray,
    rates: HouseholdRates,
    ev: BlockEvents,
    n_land: int,
    mess_rate: float,
    phi: np.ndarray,
) -> BlockTruth:
    n = q.size
    nodes, prior = z_nodes()
    onset, rem, stat = chain_tables()
    e = elig.astype(np.int64)
    on = (onset[:, q].T * elig)[:, None, :]  # (n, 1, K)
    keep = (1.0 - rem[:, q].T)[:, None, :] - on
    pi0 = np.broadcast_to((stat[:, q].T * elig)[:, None, :], (n, nodes.size, P.K))

    r_full = 1.0 - mess_rate
    r_thin = r_full * (1.0 - mess_rate)
    d_nc, d_c = _chain_sums(rates)
    zn = nodes[None, :, None]
    g_full = np.exp(-r_full * (d_nc[:, None, :] + zn * d_c[:, None, :]))
    g_thin = np.exp(-r_thin * (d_nc[:, None, :] + zn * d_c[:, None, :]))
    base = rates.crisis_base  # (n,)
    log_z = np.log(nodes)[None, :]
    surv_base = np.exp(-HORIZON * nodes[None, :] * base[:, None])  # (n, J)

    kk = np.arange(P.K)[None, :]
    phi0 = np.moveaxis(phi[kk, q[:, None], e, :, 0], 2, 1)  # (n, J, K)
    dphi = np.moveaxis(phi[kk, q[:, None], e, :, 1], 2, 1) - phi0

    linkable = ev.linkable
    order = np.argsort(ev.t, kind="stable")
    bounds = np.searchsorted(ev.t[order], np.arange(n_land + 1))

    p = np.empty((n_land, n))
    alpha = pi0
    log_lz = np.zeros((n, nodes.size))
    for t in range(n_land):
        idx = order[bounds[t] : bounds[t + 1]]
        pred = pi0 if t == 0 else alpha * keep + on
        # As of M = t + 1: month t seen only through records that were on time.
        rec, nc = _month_evidence(ev, rates, idx[linkable[idx] & ~ev.late[idx]], n)
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
        rec, nc = _month_evidence(ev, rates, idx[linkable[idx]], n)
        ratio = g_full * np.exp(rec)[:, None, :]
        c = 1.0 + pred * (ratio - 1.0)
        alpha = pred * ratio / c
        log_lz += nc[:, None] * log_z - r_full * nodes[None, :] * base[:, None]
        log_lz += np.log(c.prod(axis=2))

    p_full = np.empty((n_land, n))
    z = nodes[z_idx]
    for t in range(n_land):
        prod = np.exp(-HORIZON * z * base)
        for k in range(P.K):
            s = (bits[:, t] >> k) & 1
            prod = prod * phi[k, q, e[:, k], z_idx, s]
        p_full[t] = 1.0 - prod

    crisis_month = np.zeros((n, bits.shape[1] + 1), dtype=np.int64)
    is_crisis = P.KEY_CRISIS[ev.key.astype(np.int64)]
    np.add.at(crisis_month, (ev.h[is_crisis], ev.t[is_crisis] + 1), 1)
    cum = np.cumsum(crisis_month, axis=1)  # cum[:, m] = crises in months < m
    asof = np.arange(1, n_land + 1)
    crisis = (cum[:, asof + HORIZON] - cum[:, asof]).T > 0
    return BlockTruth(p, p_full, crisis)
