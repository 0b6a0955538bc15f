"""The volume check's judgement: is a month's row count in line with what its source's contract
expects (`VolumeRule`, customProperties volumeExpectation, read by hearth/source_contract.py)?

A plain function of the accepted months' row counts (ingest_log), so the rule is tested without
a warehouse. The baseline is the median of the source's last accepted months (one by default:
the previous month) of its current level. The months of its ramp-up (its first months, and the
same months each cycle after when the contract declares a cycle) are neither judged nor a
baseline. A source with a cycle returns to its shape each cycle, not only in its ramp-up months:
a month out of line with its baseline is still in line when it is within the tolerance of the
same month a cycle before (`a_cycle_before`), which can accept a month, never refuse one. A
month accepted out of line with both (only an officer's raised tolerance accepts one) starts a
new level: the months after it are judged against it, not against the months before the step,
so a legitimate step is accepted once and never cascades.
"""

from __future__ import annotations

from statistics import median

from hearth.months import add_months
from hearth.source_contract import VolumeRule

Judged = tuple[str, float]  # what a month is compared with, in words, and its rows


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7])


def ramp_up(month: str, rule: VolumeRule, first_months: list[str]) -> bool:
    """Whether `month` is one of the source's ramp-up months (`first_months`: its accepted
    months with `month`, in order), or the same month a whole number of cycles after one."""
    ramp = sorted(set(first_months))[: rule.ramp_up_months]
    if month in ramp:
        return True
    cycle = rule.cycle_months
    return bool(cycle) and any(
        _index(month) > _index(r) and (_index(month) - _index(r)) % cycle == 0 for r in ramp
    )


def out_of_line(rows: int, base: float, tolerance: float) -> bool:
    """More than `tolerance` times the baseline, or less than its inverse."""
    return rows > tolerance * base or rows < base / tolerance


def a_cycle_before(earlier: list[tuple[str, int]], month: str, rule: VolumeRule) -> Judged | None:
    """The same month one cycle before `month` as (what it is, rows), when the contract
    declares a cycle and that month was accepted with at least the rule's minimum rows; else
    None. An offer flow's ramp-up returns a cycle later with a tail: households offered in the
    months after the first list are offered again a year on, so the month after the return's
    two is up to 1.84 times the months before it on the closed loop (docs/performance.md),
    while it stays near the same month a year before."""
    if not rule.cycle_months:
        return None
    then = add_months(month, -rule.cycle_months)
    rows = dict(earlier).get(then)
    if rows is None or rows < rule.min_rows:
        return None
    return f"{then}, the same month a cycle before", float(rows)


def _level(earlier: list[tuple[str, int]], rule: VolumeRule, first: list[str]) -> list[int]:
    """The rows of the source's current level: its accepted months that are not ramp-up months,
    from the last one accepted out of line with both its baseline and the same month a cycle
    before (an officer's step) on."""
    level: list[int] = []
    for i, (m, rows) in enumerate(earlier):
        if ramp_up(m, rule, first):
            continue
        base = median(level[-rule.baseline_months :]) if level else None
        stepped = base is not None and base >= rule.min_rows
        if stepped and out_of_line(rows, base, rule.tolerance):
            ago = a_cycle_before(earlier[:i], m, rule)
            if ago is None or out_of_line(rows, ago[1], rule.tolerance):
                level = []  # accepted on an officer's word: the source's new level starts here
        level.append(rows)
    return level


def baseline(earlier: list[tuple[str, int]], month: str, rule: VolumeRule) -> Judged | None:
    """What `month` is judged against, as (what it is, rows), or None when nothing judges it
    (a ramp-up month, no earlier month, or a baseline under the rule's minimum rows). `earlier`
    are the source's accepted (month, rows received) before `month`, in month order."""
    first = [m for m, _ in earlier] + [month]
    if ramp_up(month, rule, first):
        return None
    level = _level(earlier, rule, first)
    if not level:
        return None
    last = level[-rule.baseline_months :]
    base = float(median(last))
    if base < rule.min_rows:
        return None
    what = "the previous month" if len(last) == 1 else f"the median of its last {len(last)} months"
    return what, base


def refused_against(
    earlier: list[tuple[str, int]], month: str, rows: int, rule: VolumeRule, tolerance: float
) -> list[Judged]:
    """What `rows` received for `month` is out of line with (within `tolerance`, the rule's or
    an officer's) when the month is refused: its baseline, and the same month a cycle before
    when the source has one (in line with it, the month is accepted). Empty: in line, or not
    judged (`baseline` is None)."""
    base = baseline(earlier, month, rule)
    if base is None or not out_of_line(rows, base[1], tolerance):
        return []
    ago = a_cycle_before(earlier, month, rule)
    if ago is not None and not out_of_line(rows, ago[1], tolerance):
        return []
    return [base] if ago is None else [base, ago]
