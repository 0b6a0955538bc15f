"""The volume check's judgement: is a month's row count in line with what its source's contract
expects (`VolumeRule`, customProperties volumeExpectation, read by hearth/source_contract.py)?

A plain function of the accepted months' row counts (ingest_log), so the rule is tested without
a warehouse. The baseline is the median of the source's last accepted months (one by default:
the previous month) of its current level. The months of its ramp-up (its first months, and the
same months each cycle after when the contract declares a cycle) are neither judged nor a
baseline. A month accepted out of line with its baseline (only an officer's raised tolerance
accepts one) starts a new level: the months after it are judged against it, not against the
months before the step, so a legitimate step is accepted once and never cascades.
"""

from __future__ import annotations

from statistics import median

from hearth.source_contract import VolumeRule


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


def baseline(
    earlier: list[tuple[str, int]], month: str, rule: VolumeRule
) -> tuple[str, float] | None:
    """What `month` is judged against, as (what it is, rows), or None when nothing judges it
    (a ramp-up month, no earlier month, or a baseline under the rule's minimum rows). `earlier`
    are the source's accepted (month, rows received) before `month`, in month order."""
    first = [m for m, _ in earlier] + [month]
    if ramp_up(month, rule, first):
        return None
    level: list[int] = []
    for m, rows in earlier:
        if ramp_up(m, rule, first):
            continue
        base = median(level[-rule.baseline_months :]) if level else None
        stepped = base is not None and base >= rule.min_rows
        if stepped and out_of_line(rows, base, rule.tolerance):
            level = []  # accepted on an officer's word: the source's new level starts here
        level.append(rows)
    if not level:
        return None
    last = level[-rule.baseline_months :]
    base = float(median(last))
    if base < rule.min_rows:
        return None
    what = "the previous month" if len(last) == 1 else f"the median of its last {len(last)} months"
    return what, base
