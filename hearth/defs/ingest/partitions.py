"""Extract months: one partition per month an agency sends. A month's files backfill only that
month; re-running a month replaces it.

The partitions start at the first month landed (HEARTH_LANDING, default HEARTH_HOME/landing),
read when the definitions load (`hearth run`, `dagster dev`, a code server's reload), not at
import: 36 months of extracts show as 36 partitions, not as a few of 324 since 2000-01. Until
something has landed they start at EMPTY_LANDING_START, so any history fits. A month landed
before the first one after the definitions loaded appears once they are reloaded (`hearth run`
loads them afresh each time; in the UI, Deployment > Reload)."""

from pathlib import Path

import dagster as dg

from hearth import settings
from hearth.ingest.landing import inventory

EMPTY_LANDING_START = "2000-01"


def first_landed_month(landing: Path) -> str | None:
    """The earliest extract month of any source under `landing`, or None when nothing has
    landed (only the folder names are read)."""
    months = [e.month for e in inventory(landing).extracts]
    return min(months) if months else None


def extract_months(start: str | None = None) -> dg.MonthlyPartitionsDefinition:
    """The months from `start` (default: the first landed, see above) to the current month
    (end_offset=1 admits it)."""
    first = start or first_landed_month(settings.landing_dir()) or EMPTY_LANDING_START
    return dg.MonthlyPartitionsDefinition(start_date=first, fmt="%Y-%m", end_offset=1)
