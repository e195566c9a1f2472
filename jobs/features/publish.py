"""Writing feature batches: one atomic Delta commit per table that replaces the run's days."""

from __future__ import annotations

from pyspark.sql import DataFrame

from jobs.features.run_range import DateRange
from jobs.schemas import SNAPSHOT_DATE

# Delta's optimized write: one small shuffle by snapshot_date before writing, so each day gets a few
# well-sized files instead of one per shuffle partition (readers of a year of snapshots open far fewer).
OPTIMIZE_WRITE = "optimizeWrite"


def replace_where(run_range: DateRange) -> str:
    return f"{SNAPSHOT_DATE} >= '{run_range.start.isoformat()}' AND {SNAPSHOT_DATE} <= '{run_range.end.isoformat()}'"


def replace_partitions(batch: DataFrame, *, path: str, run_range: DateRange) -> None:
    """Replace exactly the snapshot days of `run_range` (days left empty by the batch are cleared),
    so a rerun changes nothing and day-by-day runs build the same table as one backfill."""
    (
        batch.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", replace_where(run_range))
        .option(OPTIMIZE_WRITE, "true")
        .partitionBy(SNAPSHOT_DATE)
        .save(path)
    )
