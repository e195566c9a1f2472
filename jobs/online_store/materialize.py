"""Materializing one feature view: read its source, keep the latest row per entity, write from executors.

Shuffles: exactly one per view, the hash repartition by join keys in `select_latest_per_entity`
(it also feeds the write partitions). The null-key check reads only the key and time columns of
the window's partitions. Nothing is collected but one metrics row per partition.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from typing import Any

from pyspark.errors import PythonException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.errors import BadInputError, InfrastructureError
from jobs.online_store.layout import ViewLayout
from jobs.online_store.select import (
    filter_materialization_window,
    select_item_columns,
    select_latest_per_entity,
    with_source_names,
)
from jobs.online_store.writer import (
    METRIC_NAMES,
    METRICS_SCHEMA,
    BadRowError,
    OnlineWriteError,
    WriterSettings,
    write_partition,
)

log = logging.getLogger("jobs.online_store")


def read_view_rows(spark: SparkSession, layout: ViewLayout) -> DataFrame:
    source = layout.source
    if source.kind == "table":
        return spark.read.table(source.ref)
    if source.kind == "query":
        return spark.sql(source.ref)
    return spark.read.format(source.file_format).load(source.ref)


def build_online_items(
    rows: DataFrame, *, layout: ViewLayout, start: dt.datetime, end: dt.datetime, partitions: int
) -> DataFrame:
    """The items to write for a window: latest row per entity, Feast's event_ts, the TTL expiry."""
    return (
        rows.transform(with_source_names, layout=layout)
        .transform(
            filter_materialization_window,
            timestamp_field=layout.timestamp_field,
            start=start,
            end=end,
        )
        .transform(
            select_latest_per_entity,
            join_keys=layout.join_key_names,
            timestamp_field=layout.timestamp_field,
            created_timestamp_column=layout.created_timestamp_column,
            partitions=partitions,
        )
        .transform(select_item_columns, layout=layout)
    )


def check_required_columns(rows: DataFrame, *, layout: ViewLayout, source_name: str) -> None:
    """Every join key, feature and timestamp column must exist (bad input: exit 2)."""
    renamed = dict(layout.field_mapping)
    present = {renamed.get(c, c) for c in rows.columns}
    needed = [*layout.join_key_names, *layout.feature_names, layout.timestamp_field]
    if layout.created_timestamp_column:
        needed.append(layout.created_timestamp_column)
    missing = [c for c in needed if c not in present]
    if missing:
        raise BadInputError(
            f"table {source_name}: column {missing[0]} is missing (rule: feature view {layout.name} needs "
            f"{', '.join(missing)}); {len(missing)} column(s) missing"
        )


def check_keys_not_null(
    rows: DataFrame, *, layout: ViewLayout, start: dt.datetime, end: dt.datetime, source_name: str
) -> None:
    """Rows of the window with a null join key cannot become Feast items: refuse before writing."""
    window_rows = rows.transform(with_source_names, layout=layout).transform(
        filter_materialization_window,
        timestamp_field=layout.timestamp_field,
        start=start,
        end=end,
    )
    counts = window_rows.agg(*[F.sum(F.col(k).isNull().cast("long")).alias(k) for k in layout.join_key_names]).first()
    for key in layout.join_key_names:
        nulls = (counts[key] or 0) if counts else 0
        if nulls:
            raise BadInputError(
                f"table {source_name}: column {key}: {nulls} row(s) in the window break rule 'join key not null'"
            )


def write_online_items(items: DataFrame, *, layout: ViewLayout, settings: WriterSettings) -> dict[str, Any]:
    """Run the executor writers; returns the view's metrics. Logs progress as partitions finish."""
    started = time.monotonic()
    spark = items.sparkSession
    job_group = f"materialize-{layout.name}-{time.time_ns()}"
    spark.sparkContext.setJobGroup(job_group, f"materialize {layout.name} into {settings.table_name}")
    writer = functools.partial(write_partition, layout=layout, settings=settings)
    progress = _Progress(spark, job_group, layout.name)
    progress.start()
    try:
        rows = items.mapInArrow(writer, METRICS_SCHEMA).collect()
    except Exception as err:
        raise _executor_failure(err, layout, settings) from err
    finally:
        progress.stop()
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]  # None clears it
    metrics: dict[str, Any] = {name: sum(int(r[name]) for r in rows) for name in METRIC_NAMES}
    metrics.update(
        table=settings.table_name,
        partitions=len(rows),
        in_flight_per_partition=settings.in_flight,
        write_mode=settings.write_mode,
        duration_s=round(time.monotonic() - started, 3),
    )
    metrics["items_per_s"] = round(metrics["items"] / metrics["duration_s"], 1) if metrics["duration_s"] else 0.0
    return metrics


def _executor_failure(err: Exception, layout: ViewLayout, settings: WriterSettings) -> Exception:
    """The job's error for a failed write task. A Python worker's exception reaches the driver only as
    the text of a PythonException (its traceback), so the writer's own errors are found by their names."""
    if not isinstance(err, PythonException):
        return err
    text = str(err)
    for marker, cls in (
        (f"{OnlineWriteError.__name__}: ", InfrastructureError),
        (f"{BadRowError.__name__}: ", BadInputError),
    ):
        if marker in text:
            detail = text.split(marker, 1)[1].splitlines()[0]
            return cls(f"materializing {layout.name} into {settings.table_name} failed: {detail}")
    if "EndpointConnectionError" in text or "Could not connect" in text:
        return InfrastructureError(
            f"materializing {layout.name}: online store {settings.endpoint_url or 'AWS'} unreachable from the executors"
        )
    return err


class _Progress(threading.Thread):
    """Logs `k/n partitions written` for the view's stage as partitions finish."""

    def __init__(self, spark: SparkSession, job_group: str, view: str) -> None:
        super().__init__(daemon=True, name=f"progress-{view}")
        self._tracker = spark.sparkContext.statusTracker()
        self._group = job_group
        self._view = view
        self._stopped = threading.Event()

    def run(self) -> None:
        reported = -1
        while not self._stopped.wait(2.0):
            done, total = 0, 0
            for job_id in self._tracker.getJobIdsForGroup(self._group):
                job = self._tracker.getJobInfo(job_id)
                # The writing stage is the job's result stage, the one with the highest id.
                stage = self._tracker.getStageInfo(max(job.stageIds)) if job and job.stageIds else None
                if stage:
                    done, total = stage.numCompletedTasks, stage.numTasks
            if total and done != reported:
                log.info("%s: %d/%d partitions written", self._view, done, total)
                reported = done

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)
