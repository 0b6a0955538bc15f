"""The lottery's comparison adjusted for what was known at the draw (issue 26), for
benchmarks/lottery_placebo.py: offered against held out within each list's lottery, by a
log-linear (Poisson) regression of each entrant's crises on whether it was offered, its list
(one level per list: the strata the draw was made in) and covariates measured before the draw
(crises in the 12 months before the list, the score), with a robust (sandwich) standard error.

The classic way to more power from a randomised comparison: the part of the outcome foretold by
what was known at the draw is taken out, and the fairness stays, since those covariates are
independent of the draw within each list; the offered coefficient of a main-terms log-linear
model stays a consistent estimate of the log crisis-rate ratio under randomisation even where
the model is wrong (Rosenblum and van der Laan, 2010, "Simple, efficient estimators of treatment
effects in randomized trials using generalized linear models to leverage baseline variables"),
and the sandwich error keeps the interval honest where crises cluster in a household (Zou, 2004,
"A modified Poisson regression approach to prospective studies with binary data"). Nothing
measured after the draw may enter: a covariate the offer could have changed takes part of the
offer's effect away with it.

Measured on the closed loop (docs/performance.md, "Covariate adjustment"), it bought no power
there: the lottery's households have nearly equal scores, and at about 0.17 crises each in the
months followed, a household's count is mostly chance, which no covariate foretells. Not
Hearth's estimate for that reason; kept to measure, and for a partnership whose lottery spans
households of more different risk (a whole-list lottery).
"""

from __future__ import annotations

import math

import numpy as np

from hearth.modelling.evaluation.fairness import Z95

MAX_ITER = 50
TOL = 1e-10


def _design(
    offered: np.ndarray, strata: np.ndarray, covariates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Columns: offered, one per stratum (no intercept: the strata are it), the covariates
    centred (their scale does not move the offered coefficient; centring helps the fit)."""
    levels, index = np.unique(strata, return_inverse=True)
    dummies = np.zeros((strata.size, levels.size))
    dummies[np.arange(strata.size), index] = 1.0
    cov = covariates - covariates.mean(axis=0) if covariates.size else covariates
    return np.column_stack([offered.astype(float), dummies, cov]), index


def poisson_fit(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The Poisson log-linear fit by Newton's method (iteratively reweighted least squares):
    its coefficients and fitted means, or None where it does not converge."""
    # start the strata at their own log rate: Newton then converges in a few steps
    mu = np.full(y.size, max(y.mean(), 1e-3))
    eta = np.log(mu)
    z = eta - offset + (y - mu) / mu
    beta = np.linalg.lstsq(X * np.sqrt(mu)[:, None], z * np.sqrt(mu), rcond=None)[0]
    for _ in range(MAX_ITER):
        eta = np.clip(offset + X @ beta, -30, 30)
        mu = np.exp(eta)
        grad = X.T @ (y - mu)
        info = X.T @ (X * mu[:, None])
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < TOL:
            mu = np.exp(np.clip(offset + X @ beta, -30, 30))
            return beta, mu
    return None


def adjusted_ratio(
    crises: np.ndarray,
    offered: np.ndarray,
    strata: np.ndarray,
    covariates: np.ndarray | None = None,
    exposure: np.ndarray | None = None,
    z: float = Z95,
) -> tuple[float, float, float, float]:
    """The crisis-rate ratio of offered over held-out entrants from the regression (module
    text): `crises` each entrant's count (or 0/1) after the list, `offered` True where the
    lottery offered it, `strata` its list, `covariates` (entrants x k) what was known before the
    draw, `exposure` its months followed (1 each where None). Returns the ratio, its 95% interval
    and the sandwich standard error of its log; NaN where no ratio can be told (no stratum
    with both groups and a crisis, or a fit that does not converge).

    Strata without a crisis, or with one group only, say nothing about the offer and are left
    out (a stratum without a crisis has no finite level)."""
    nan = (float("nan"),) * 4
    y = np.asarray(crises, dtype=float)
    off = np.asarray(offered, dtype=bool)
    strata = np.asarray(strata)
    cov = np.zeros((y.size, 0)) if covariates is None else np.asarray(covariates, dtype=float)
    cov = cov.reshape(y.size, -1)
    t = np.ones(y.size) if exposure is None else np.asarray(exposure, dtype=float)
    keep = t > 0
    levels = np.unique(strata[keep])
    useful = [
        s
        for s in levels
        if (m := keep & (strata == s)).any() and y[m].sum() > 0 and off[m].any() and (~off[m]).any()
    ]
    keep &= np.isin(strata, useful)
    if not keep.any() or y[keep & off].sum() == 0 or y[keep & ~off].sum() == 0:
        return nan
    y, off, strata, cov, t = y[keep], off[keep], strata[keep], cov[keep], t[keep]
    # a covariate that does not vary among the kept entrants cannot be fitted: dropped
    cov = cov[:, cov.std(axis=0) > 0] if cov.size else cov
    X, _ = _design(off, strata, cov)
    got = poisson_fit(X, y, np.log(t))
    if got is None:
        return nan
    beta, mu = got
    bread = np.linalg.pinv(X.T @ (X * mu[:, None]))
    resid = y - mu
    meat = X.T @ (X * (resid**2)[:, None])
    n, p = X.shape
    cov_beta = bread @ meat @ bread * (n / max(n - p, 1))  # HC1: fewer households, wider
    se = math.sqrt(max(float(cov_beta[0, 0]), 0.0))
    if not (math.isfinite(se) and se > 0):
        return nan
    ratio = math.exp(float(beta[0]))
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se), se
