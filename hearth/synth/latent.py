"""Hidden household state: the frailty multiplier z and the K two-state vulnerability chains."""

from __future__ import annotations

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
    rng: np.random.Generator, q: np.ndarray, elig: np.ndarray, months: int
) -> np.ndarray:
    """V as a (n, months) uint8 bitmask (bit k = chain k), month 0 drawn from the stationary law."""
    onset, rem, stat = P.chain_tables()
    n = q.size
    bits = np.zeros((n, months), dtype=np.uint8)
    for k in range(P.K):
        on_k = onset[k, q] * elig[:, k]
        rem_k = rem[k, q]
        v = rng.random(n) < stat[k, q] * elig[:, k]
        for t in range(months):
            bits[:, t] |= v.astype(np.uint8) << k
            u = rng.random(n)
            v = np.where(v, u >= rem_k, u < on_k)
    return bits


def chain_bit(bits: np.ndarray, k: int) -> np.ndarray:
    return (bits >> k) & 1


def laplace_table(horizon: int = 12) -> np.ndarray:
    """phi[k, q, e, j, s] = E[exp(-z_j * A_k * T) | V(M-1) = s] for a household of quintile q and
    eligibility e, where T = months on among the next `horizon` months and A_k is the chain's
    summed crisis loading. Computed as ((P D)^horizon 1)[s] with D = diag(1, exp(-z_j A_k))."""
    onset, rem, _ = P.chain_tables()
    nodes, _ = z_nodes()
    a_k = crisis_loading()
    phi = np.ones((P.K, 5, 2, nodes.size, 2))
    for k in range(P.K):
        for q in range(5):
            for e in (0, 1):
                on = onset[k, q] * e
                trans = np.array([[1 - on, on], [rem[k, q], 1 - rem[k, q]]])
                for j, z in enumerate(nodes):
                    step = trans * np.array([1.0, np.exp(-z * a_k[k])])[None, :]
                    vec = np.ones(2)
                    for _ in range(horizon):
                        vec = step @ vec
                    phi[k, q, e, j] = vec
    return phi


def crisis_loading() -> np.ndarray:
    """A_k: the summed crisis hazard increment a of all crisis keys tied to chain k."""
    a_k = np.zeros(P.K)
    for key, kv in zip(P.KEYS, P.KEY_VULN, strict=True):
        if key.crisis and kv >= 0:
            a_k[kv] += key.a
    return a_k
