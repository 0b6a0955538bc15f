"""A visit's effect on the households that accept, from a lottery (issue 26): the complier
(instrumental-variable, Wald) estimate, compared within each list's lottery and combined over
the lists (Mantel-Haenszel weights), with a household bootstrap's interval. One home for both
Hearth's report ("Is the list working?", `list_effect.py`) and the closed-loop benchmark
(`benchmarks/feedback.py`).

Why not simply visited against held out: who accepts is not drawn by lot (households that
decline may be at higher or lower risk), so that comparison mixes the visit's effect with who
says yes. The lottery decided only who was offered; the offer changed the offered group's crises
only through the visits, so the held-out rate, less what the offered-but-not-visited contribute,
is what the visited households' rate would have been without the visit."""

from __future__ import annotations

import numpy as np

RESAMPLES = 1000  # household bootstrap resamples
REPORT_SEED = 26  # the report's bootstrap seed: the same figures every time for the same data


def mantel_haenszel_weights(n1: np.ndarray, n0: np.ndarray) -> np.ndarray:
    """Each stratum's weight when two groups are compared within strata and pooled
    (Mantel-Haenszel): n1 n0 / (n1 + n0) of the groups' sizes (households, or months followed
    for rates per month); 0 where either group is empty. `list_effect.lottery_ratio` and the
    complier estimate here weigh the lists' lotteries alike."""
    n1, n0 = np.asarray(n1, dtype=float), np.asarray(n0, dtype=float)
    big = n1 + n0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((n1 > 0) & (n0 > 0), n1 * n0 / np.where(big > 0, big, 1.0), 0.0)


def _complier_sums(sums: np.ndarray) -> tuple[np.ndarray, ...]:
    """The complier (Wald) ratio, its parts and the intent-to-treat ratio from each draw's sums
    per stratum (a list's lottery) and group: columns crises of the visited, crises of the
    others, months, months visited; `sums[..., s, 0, :]` the offered of stratum s,
    `sums[..., s, 1, :]` its held out. Each rate difference is taken within a stratum and the
    strata combined with Mantel-Haenszel weights (`mantel_haenszel_weights` of the groups'
    months), so the intent-to-treat ratio is the Mantel-Haenszel rate ratio; with one stratum
    the pooled Wald estimate."""
    off, hld = sums[..., 0, :], sums[..., 1, :]
    cv1, cn1, t1, tv1 = (off[..., i] for i in range(4))
    cv0, cn0, t0, tv0 = (hld[..., i] for i in range(4))
    w = mantel_haenszel_weights(t1, t0)
    total = w.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):

        def rate(x: np.ndarray, t: np.ndarray) -> np.ndarray:
            return np.where(t > 0, x / np.where(t > 0, t, 1.0), 0.0)

        def pooled(x: np.ndarray) -> np.ndarray:
            return (w * x).sum(axis=-1) / total

        # visited share a and the rates per month: a1 r_visited - a0 r_visited(held) over
        # (1 - a0) r_not_visited(held) - (1 - a1) r_not_visited(offered); with nobody held
        # out visited this is r_visited / r_c0, r_c0 = (r_held - (1 - a) r_nv) / a
        num = pooled(rate(cv1, t1) - rate(cv0, t0))
        den = pooled(rate(cn0, t0) - rate(cn1, t1))
        share = pooled(rate(tv1, t1) - rate(tv0, t0))  # the compliers' share of the offered
        held_rate = pooled(rate(cv0 + cn0, t0))
        ratio = np.where(den > 0, np.maximum(num, 0.0) / np.where(den > 0, den, 1.0), np.inf)
        itt = np.where(
            held_rate > 0,
            pooled(rate(cv1 + cn1, t1)) / np.where(held_rate > 0, held_rate, 1.0),
            np.inf,
        )
        return ratio, itt, num / share, den / share, share


def complier_effect(
    crises: np.ndarray,
    months: np.ndarray,
    held_out: np.ndarray,
    visited: np.ndarray,
    *,
    visited_crises: np.ndarray | None = None,
    visited_months: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    resamples: int = RESAMPLES,
    seed: int | list[int] = REPORT_SEED,
    level: float = 0.95,
) -> dict[str, object]:
    """A visit's effect on the households that accept, from the lottery: one row per household
    (its first lottery), its crises over `months` of follow-up (the same window rule for both
    groups), held out or offered, visited in that window or not.

    The instrumental-variable (Wald) estimate on rates per household-month: with a the share
    of the offered that were visited (by months), r_held the held-out rate and r_nv the rate of
    the offered that were not visited, the visited households' rate without the visit is
    r_c0 = (r_held - (1 - a) r_nv) / a, and the ratio r_visited / r_c0. Valid where who accepts
    is related to risk: the lottery, not acceptance, makes the groups alike. Held-out households
    visited within their window (after their hold-out ended) are allowed for by the general
    form (a0, their share, subtracted). Beside it the intent-to-treat ratio (offered over held
    out).

    `strata` (each row's list month: the lottery it entered) compares offered and held out
    within each list and combines the lists (Mantel-Haenszel weights of their months, as
    `list_effect.lottery_ratio` does for the offer's ratio): each list's draw alone decided who
    was held out, but the chance of it differs from list to list (a generation's salt holds the
    same households first, so later lists hold out most of their few newcomers) while the
    lists' months differ in risk, so pooled the first list's high-risk entrants weigh more
    among the offered. A list with no offered or no held-out entrant tells nothing and is left
    out of the estimate (its households stay in the counts).

    Intervals: a household bootstrap stratified by list and group (the lottery fixed the
    group sizes), `resamples` draws from numpy's Generator seeded with `seed`, each draw
    combined over the lists as the estimate is, percentile limits: the ratio's denominator is
    itself estimated, so its sampling is skewed, and a draw whose r_c0 is not positive gives
    an unbounded ratio (`inf`) rather than a wrong symmetric interval. NaN where a ratio cannot
    be told (an empty group, no held-out crisis, r_c0 not positive)."""
    c = np.asarray(crises, dtype=float)
    t = np.asarray(months, dtype=float)
    h = np.asarray(held_out, dtype=bool)
    v = np.asarray(visited, dtype=bool)
    cv = c * v if visited_crises is None else np.asarray(visited_crises, dtype=float)
    tv = t * v if visited_months is None else np.asarray(visited_months, dtype=float)
    x = np.column_stack([cv, c - cv, t, tv])
    k = np.zeros(len(h), dtype=int) if strata is None else np.unique(strata, return_inverse=True)[1]
    cells = []  # (list, group) cells of the lists where both groups were followed
    for s_ in np.unique(k):
        pair = [x[(k == s_) & ~h], x[(k == s_) & h]]
        if min(g[:, 2].sum() for g in pair) > 0:
            cells += pair
    groups = [x[~h], x[h]]
    counts: dict[str, object] = {}
    for name, sel, crises_col, months_of in (
        ("visited", ~h & v, x[:, 0], tv),
        ("not_visited", ~h & ~v, x[:, 1], t - tv),
        ("held", h, x[:, 0] + x[:, 1], t),
        ("held_visited", h & v, x[:, 0], tv),
    ):
        # months and crises: of the group's households, or under a visit / not (`visited_*`)
        among = ~h if name in ("visited", "not_visited") else sel
        counts[f"{name}_households"] = int(sel.sum())
        counts[f"{name}_months"] = int(round(months_of[among].sum()))
        counts[f"{name}_crises"] = int(round(crises_col[among].sum()))
    nan = float("nan")
    out: dict[str, object] = {
        "ratio": nan,
        "low": nan,
        "high": nan,
        "itt_ratio": nan,
        "itt_low": nan,
        "itt_high": nan,
        "visited_share": nan,
        "held_visited_share": nan,
        "rate_visited": nan,
        "rate_without_visit": nan,
        "resamples": resamples,
        "unbounded_share": nan,
        "strata": len(np.unique(k)),
        "strata_compared": len(cells) // 2,
        **counts,
    }
    if not cells:
        return out
    n_strata = len(cells) // 2

    def per_cell(sums: np.ndarray) -> np.ndarray:  # (..., cells, 4) -> (..., strata, 2, 4)
        return sums.reshape(*sums.shape[:-2], n_strata, 2, 4)

    point = per_cell(np.stack([g.sum(axis=0) for g in cells]))
    ratio, itt, r1, r0, share = _complier_sums(point[None])
    total = np.stack([g.sum(axis=0) for g in groups])  # the offered and held out, pooled
    out.update(
        visited_share=float(total[0, 3] / total[0, 2]),
        held_visited_share=float(total[1, 3] / total[1, 2]),
        rate_visited=float(r1[0]),
        rate_without_visit=float(r0[0]),
    )
    rng = np.random.default_rng(seed)
    draws = []
    per_chunk = max(1, 500_000 // max(g.shape[0] for g in cells))  # a chunk: 16 MB a cell
    for start in range(0, resamples, per_chunk):
        b = min(per_chunk, resamples - start)
        s = np.stack(
            [g[rng.integers(0, g.shape[0], size=(b, g.shape[0]))].sum(axis=1) for g in cells],
            axis=1,
        )  # (b, cells, 4)
        draws.append(per_cell(s))
    s = np.concatenate(draws)
    b_ratio, b_itt, *_ = _complier_sums(s)
    lo_i = int(np.floor((1 - level) / 2 * resamples))
    hi_i = int(np.ceil((1 + level) / 2 * resamples)) - 1
    if np.isfinite(itt[0]):
        srt = np.sort(b_itt)
        out.update(itt_ratio=float(itt[0]), itt_low=float(srt[lo_i]), itt_high=float(srt[hi_i]))
    if np.isfinite(ratio[0]) and share[0] > 0:
        srt = np.sort(b_ratio)
        out.update(ratio=float(ratio[0]), low=float(srt[lo_i]), high=float(srt[hi_i]))
    out["unbounded_share"] = float(np.mean(~np.isfinite(b_ratio)))
    return out
