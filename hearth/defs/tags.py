"""The Dagster run tags Hearth sets, as their documented strings: a backfill over a range of
extract months runs as one run tagged with its first and last partition, and a single month
with its partition name. Dagster's own constants for them are private (`dagster._core`);
tests/assets/test_definitions.py checks these strings still match them."""

PARTITION_RANGE_START = "dagster/asset_partition_range_start"
PARTITION_RANGE_END = "dagster/asset_partition_range_end"
PARTITION_NAME = "dagster/partition"
