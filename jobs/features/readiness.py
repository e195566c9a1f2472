"""Input completeness: every landing day a run reads has landed before anything is computed or written.

A transactions landing day with no rows is a hole (a card business has transactions every day);
a chargebacks day with none is normal, so only the completion marker, when configured, can tell
"no chargebacks" from "not loaded yet". Days before a table's first landing day are the start of
its history, not holes: the first backfill of a new deployment reads them.

Cost: one Spark job per run, `groupBy(ingest_date).count()` over the landing days the run reads
(partition-pruned, no data column decoded: Parquet answers row counts from its footers), one
`isEmpty()` probe of earlier days only when the first day read has no rows, and one file-status
call per table for the marker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.config import InputsConfig, is_table_name
from jobs.errors import BadInputError, NotReadyError
from jobs.schemas import INGEST_DATE

NO_ROWS = "no rows"


class InputNotReady(NotReadyError):
    def __init__(self, message: str, details: dict[str, object]) -> None:
        super().__init__(message)
        self.details = details


@dataclasses.dataclass(frozen=True)
class RawInput:
    """One raw table as a run reads it: its `tables.*` setting, its rows on the landing days read, all
    of its rows, and whether every landing day must hold rows."""

    table: str
    setting: str
    landed: DataFrame
    every_row: DataFrame
    every_day_has_rows: bool


def unready_days(
    counts: Mapping[dt.date, int],
    *,
    first_day: dt.date,
    last_day: dt.date,
    history_start: dt.date | None,
    every_day_has_rows: bool,
    min_rows_last_day: int,
    marker: str | None,
    marker_found: bool,
) -> dict[str, str]:
    """Day (ISO) -> why it is not ready. `history_start` is the table's first landing day when it
    falls inside the days read (None: it lies before them, or the table has no rows at all)."""
    problems: dict[str, str] = {}
    if every_day_has_rows:
        day = max(first_day, history_start) if history_start else first_day
        while day <= last_day:
            if not counts.get(day):
                problems[day.isoformat()] = NO_ROWS
            day += dt.timedelta(days=1)
        rows_last_day = counts.get(last_day, 0)
        if 0 < rows_last_day < min_rows_last_day:
            problems[last_day.isoformat()] = (
                f"{rows_last_day} rows, fewer than inputs.min_rows_run_date={min_rows_last_day}"
            )
    if marker and not marker_found:
        reason = problems.get(last_day.isoformat())
        problems[last_day.isoformat()] = f"{reason}; no {marker} marker" if reason else f"no {marker} marker"
    return problems


def landing_day_counts(landed: DataFrame) -> dict[dt.date, int]:
    return {row[INGEST_DATE]: row["count"] for row in landed.groupBy(INGEST_DATE).count().collect()}


def history_start(raw: RawInput, counts: Mapping[dt.date, int], *, first_day: dt.date) -> dt.date | None:
    """The table's first landing day when it lies after `first_day`, else None."""
    if counts.get(first_day) or not counts:
        return None
    landed_earlier = not raw.every_row.filter(F.col(INGEST_DATE) < first_day).select(INGEST_DATE).isEmpty()
    return None if landed_earlier else min(counts)


def marker_exists(spark: SparkSession, path: str) -> bool:
    # Spark's own file listing, so s3://, dbfs: and /Volumes paths work wherever the tables do.
    try:
        spark.read.format("text").load(path)
    except AnalysisException as err:
        if err.getCondition() == "PATH_NOT_FOUND":
            return False
        raise
    return True


def table_location(spark: SparkSession, table: str) -> str:
    """Where a raw table's files live: the path itself, or a catalog table's storage location."""
    if not is_table_name(table):
        return table
    detail = delta_io.delta_table(spark, table).detail().select("location").first()
    if detail is None:
        raise BadInputError(f"table {table}: Delta reports no storage location")
    return str(detail["location"])


def marker_path(location: str, day: dt.date, marker: str) -> str:
    return f"{location.rstrip('/')}/{INGEST_DATE}={day.isoformat()}/{marker}"


def check_inputs_ready(
    spark: SparkSession,
    settings: InputsConfig,
    raws: list[RawInput],
    *,
    first_day: dt.date,
    last_day: dt.date,
    allow_missing_days: bool,
) -> dict[str, object]:
    """Raise NotReadyError listing the unready days per table, unless `allow_missing_days`; returns
    what the JSON line reports (the holes computed over, and the days before each table's history)."""
    holes: dict[str, dict[str, str]] = {}
    before_history: dict[str, int] = {}
    for raw in raws:
        counts = landing_day_counts(raw.landed) if raw.every_day_has_rows else {}
        start = history_start(raw, counts, first_day=first_day) if raw.every_day_has_rows else None
        marker = settings.completion_marker
        found = bool(marker) and marker_exists(
            spark, marker_path(table_location(spark, raw.setting), last_day, marker or "")
        )
        problems = unready_days(
            counts,
            first_day=first_day,
            last_day=last_day,
            history_start=start,
            every_day_has_rows=raw.every_day_has_rows,
            min_rows_last_day=settings.min_rows_run_date,
            marker=marker,
            marker_found=found,
        )
        if problems:
            holes[raw.table] = problems
        if start is not None:
            before_history[raw.table] = (start - first_day).days
    report: dict[str, object] = {"landing_days": f"{first_day}..{last_day}"}
    if before_history:
        report["days_before_first_landing_day"] = before_history
    if holes and not allow_missing_days:
        listing = "; ".join(f"{table}: {', '.join(sorted(days))}" for table, days in holes.items())
        raise InputNotReady(
            f"input not ready (retry later, or --allow-missing-days for a deliberate backfill over holes): {listing}",
            details={"not_ready": holes, "inputs_checked": report},
        )
    if holes:
        report["computed_over_holes"] = holes
    return report
