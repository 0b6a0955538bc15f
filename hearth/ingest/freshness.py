"""Freshness: has every source sent the extract the run needs?

A run scores at `as_of` (default: the month after the newest extract landed by any source), so
it needs each source's extract for the month before `as_of`, the expected month. A source is

- `current` when its newest extract is for the expected month or later,
- `late` when its newest extract is for an earlier month (it has fallen behind),
- `missing` when it has sent no extract at all,
- `not_started` when it has sent none yet and its contract says it starts when its first extract
  lands (`startsWhenSent`: interventions are recorded only once the partnership acts on a list),
  which does not stop a run.

A late or missing source is named in the run summary, and the run stops unless missing sources
are allowed (`hearth run --allow-missing-sources`). `due_by` is the day the expected file was
due under the contract's latency (slaProperties latency, days after the month's end).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from hearth.months import add_months, month_end, months_between
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES


@dataclass(frozen=True)
class Freshness:
    source: str
    expected_month: str
    newest_month: str | None
    status: str  # current | late | missing | not_started
    months_behind: int | None
    due_by: str | None  # ISO date the expected file was due

    @property
    def stale(self) -> bool:
        return self.status not in ("current", "not_started")

    def sentence(self) -> str:
        due = f" (due by {self.due_by})" if self.due_by else ""
        if self.status == "missing":
            return (
                f"{self.source}: no extract has been landed; the run needs {self.expected_month}"
                f"{due}."
            )
        if self.status == "late":
            behind = self.months_behind or 0
            return (
                f"{self.source}: no extract for {self.expected_month}{due}; the newest is "
                f"{self.newest_month}, {behind} month{'s' if behind != 1 else ''} behind."
            )
        if self.status == "not_started":
            return f"{self.source}: not started yet (no extract landed; none is needed until then)."
        return f"{self.source}: extract for {self.expected_month} present."

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def expected_month(as_of: str | None, landed: list[str]) -> str | None:
    """The month whose extracts a run at `as_of` needs: the month before it, or the newest
    month landed when no as-of month is given."""
    if as_of:
        return add_months(as_of, -1)
    return max(landed) if landed else None


def assess(source: str, newest: str | None, expected: str) -> Freshness:
    latency = load_contract(source).latency_days
    due = (month_end(expected) + timedelta(days=latency)).isoformat() if latency else None
    if newest is None:
        status = "not_started" if SOURCES[source].starts_when_sent else "missing"
        return Freshness(source, expected, None, status, None, due)
    if newest >= expected:
        return Freshness(source, expected, newest, "current", 0, due)
    return Freshness(source, expected, newest, "late", months_between(newest, expected), due)


def freshness_report(newest_by_source: dict[str, str | None], expected: str) -> dict[str, object]:
    """The `freshness` section of run_summary.json: each source's status, and the stale ones."""
    sources = {s: assess(s, newest_by_source.get(s), expected) for s in SOURCES}
    stale = [s for s, f in sources.items() if f.stale]
    return {
        "expected_month": expected,
        "stale_sources": stale,
        "sources": {s: f.to_dict() for s, f in sources.items()},
        "problems": [sources[s].sentence() for s in stale],
    }
