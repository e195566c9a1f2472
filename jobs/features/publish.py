"""Writing feature batches: one atomic Delta commit per table that replaces the run's days."""

from __future__ import annotations

from pyspark.sql import DataFrame

from jobs import delta_io
from jobs.features.run_range import DateRange
from jobs.schemas import SNAPSHOT_DATE


def replace_where(run_range: DateRange) -> str:
    return delta_io.between_days(SNAPSHOT_DATE, run_range.start, run_range.end)


def replace_partitions(batch: DataFrame, *, path: str, run_range: DateRange) -> None:
    """Replace exactly the snapshot days of `run_range` (days left empty by the batch are cleared),
    so a rerun changes nothing and day-by-day runs build the same table as one backfill. `path` is a
    table location: a path or a catalog table name."""
    delta_io.overwrite(
        batch, path, replace_where=replace_where(run_range), partition_by=[SNAPSHOT_DATE], optimize_write=True
    )
