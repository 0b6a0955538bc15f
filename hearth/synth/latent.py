"""Hidden household state: the frailty multiplier z and the K two-state vulnerability chains."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammainc, gammaincinv

from hearth.synth import params as P


def z_nodes() -> tuple[np.ndarray, np.ndarray]:
    """(nodes, weights): Gamma(shape, rate) cut into equal-probability bins, each bin's node its
    conditional mean, so the discrete prior keeps the mean (1) exactly."""
    a, scale, j = P.Z_SHAPE, 1.0 / P.Z_RATE, P.Z_NODES
    edges = gammaincinv(a, np.linspace(0.0, 1.0, j + 1)) * scale
    upper = gammainc(a + 1, edges / scale)  # E[z; z < x] = a * scale * F_{a+1}(x)
    nodes = a * scale * np.diff(upper) * j
    return nodes, np.full(j, 1.0 / j)


def eligibility(has_child: np.ndarray, has_old: np.ndarray) -> np.ndarray:
    """(n, K) bool: which chains can ever be on in each household."""
    elig = np.ones((has_child.size, P.K), dtype=bool)
    for k, v in enumerate(P.VULNS):
        if v.needs == "child":
            elig[:, k] = has_child
        elif v.needs == "old":
            elig[:, k] = has_old
    return elig


def simulate_chains(
    rng: np.random.Generator,
    q: np.ndarray,
    elig: np.ndarray,
    months: int,
    world: Any = None,
    u_idx: np.ndarray | None = None,
) -> np.ndarray:
    """V as a (n, months) uint8 bitmask (bit k = chain k), month 0 drawn from month 0's
    stationary law. `world` (mechanisms.World; None: today's) gives the onset by household factor
    node `u_idx` and month; the draws are the same in number and order whatever the world."""
    if world is None:
        onset, rem, stat = P.chain_tables()
        onset, stat = onset[:, :, None, None], stat[:, :, None]
    else:
        onset, rem, stat = world.onset, world.rem, world.stat0
    l_h = np.zeros(q.size, dtype=np.int64) if u_idx is None else u_idx
    varying = onset.shape[3] > 1 and bool(np.any(onset != onset[..., :1]))
    n = q.size
    bits = np.zeros((n, months), dtype=np.uint8)
    for k in range(P.K):
        on_k = onset[k, q, l_h, 0] * elig[:, k]
        rem_k = rem[k, q]
        v = rng.random(n) < stat[k, q, l_h] * elig[:, k]
        for t in range(months):
            bits[:, t] |= v.astype(np.uint8) << k
            u = rng.random(n)
            if varying:
                on_k = onset[k, q, l_h, t] * elig[:, k]
            v = np.where(v, u >= rem_k, u < on_k)
    return bits


def chain_bit(bits: np.ndarray, k: int) -> np.ndarray:
    return (bits >> k) & 1


def laplace_table(horizon: int = 12, world: Any = None) -> np.ndarray:
    """phi[k, q, e, g, s] = E[exp(-z_g * A_k * T) | V(M-1) = s] for a household of quintile q,
    eligibility e and hidden node g (today: the z nodes), where T = months on among the next
    `horizon` months and A_k is the chain's summed crisis loading. Computed as
    ((P D)^horizon 1)[s] with D = diag(1, exp(-z_g A_k)). For a world whose chains or crisis
    rates change with the month, `laplace_by_month` gives one table per as-of month."""
    if world is None:
        onset, rem, _ = P.chain_tables()
        onset = onset[:, :, None, None]
        nodes, _ = z_nodes()
        l_of_g = np.zeros(nodes.size, dtype=np.int64)
        a_k = crisis_loading()
    else:
        onset, rem, nodes = world.onset, world.rem, world.z
        l_of_g = np.arange(nodes.size) % world.n_u
        a_k = world.crisis_loading()
    phi = np.ones((P.K, 5, 2, nodes.size, 2))
    for k in range(P.K):
        for q in range(5):
            for e in (0, 1):
                for j, z in enumerate(nodes):
                    on = onset[k, q, l_of_g[j], 0] * e
                    trans = np.array([[1 - on, on], [rem[k, q], 1 - rem[k, q]]])
                    step = trans * np.array([1.0, np.exp(-z * a_k[k])])[None, :]
                    vec = np.ones(2)
                    for _ in range(horizon):
                        vec = step @ vec
                    phi[k, q, e, j] = vec
    return phi


def laplace_by_month(world: Any, n_asof: int, horizon: int = 12) -> np.ndarray:
    """phi[t, k, q, e, g, s]: as `laplace_table` for as-of month M = t + 1 (window months
    M .. M + horizon - 1 from V(M - 1) = s), with each month's own onset (the step m - 1 -> m
    uses onset[..., m - 1]) and crisis season s_m: prod over the window of P_(m-1) D_m, D_m =
    diag(1, exp(-z_g A_k s_m)), applied to 1 from the last month back."""
    onset, rem, z = world.onset, world.rem, world.z
    l_of_g = np.arange(z.size) % world.n_u
    a_k = world.crisis_loading()
    season = world.crisis_season
    e = np.array([0.0, 1.0])[None, None, :, None]
    r = rem[:, :, None, None]
    out = np.empty((n_asof, P.K, 5, 2, z.size, 2))
    for t in range(n_asof):
        v0 = np.ones((P.K, 5, 2, z.size))
        v1 = np.ones((P.K, 5, 2, z.size))
        for m in range(t + horizon, t, -1):
            on = onset[:, :, l_of_g, m - 1][:, :, None, :] * e
            s_m = 1.0 if season is None else season[m]
            d = np.exp(-z[None, None, None, :] * a_k[:, None, None, None] * s_m)
            v0, v1 = (1 - on) * v0 + on * d * v1, r * v0 + (1 - r) * d * v1
        out[t, ..., 0] = v0
        out[t, ..., 1] = v1
    return out


def crisis_loading() -> np.ndarray:
    """A_k (today's table): the summed crisis hazard increment a of all crisis keys of chain k."""
    a_k = np.zeros(P.K)
    for key, kv in zip(P.KEYS, P.KEY_VULN, strict=True):
        if key.crisis and kv >= 0:
            a_k[kv] += key.a
    return a_k
