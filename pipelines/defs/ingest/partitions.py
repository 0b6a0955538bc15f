"""Extract months: one partition per month an agency sends. A month's files backfill only that
month; re-running a month replaces it."""

import dagster as dg

# A fixed early start so that any history fits; end_offset=1 admits the current month.
extract_months = dg.MonthlyPartitionsDefinition(start_date="2000-01", fmt="%Y-%m", end_offset=1)
