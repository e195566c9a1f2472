"""Which rows go online: per entity, the latest row of the window, shaped for the writer.

`feast materialize START END` writes, for each entity, the row with the greatest event timestamp in
`[START, END]` (ties: greatest created timestamp), however old that row is: Feast's engine applies a
view's TTL to historical retrieval only, and its DynamoDB store serves an item of any age. So the
materializer does too (tests/test_online_feast_parity.py compares every item with Feast's own). An
online expiry is the optional DynamoDB TTL attribute (`online_store.ttl_attribute_enabled`).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.online_store.layout import ViewLayout
from jobs.schemas import SNAPSHOT_DATE

EVENT_TS = "_feast_event_ts"
EXPIRES_AT = "_expires_at"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def filter_materialization_window(
    rows: DataFrame, *, timestamp_field: str, start: dt.datetime, end: dt.datetime
) -> DataFrame:
    """Rows with START <= event time <= END (both inclusive, as Feast's BETWEEN)."""
    is_in_window = F.col(timestamp_field).between(F.lit(start), F.lit(end))
    if SNAPSHOT_DATE in rows.columns:
        # Feature tables are partitioned by snapshot_date and event_timestamp = snapshot_date + 1 day
        # (FEATURES.md), so this bound only prunes partitions; it never drops a row of the window.
        snapshot_bounds = F.col(SNAPSHOT_DATE).between(F.lit(start.date() - dt.timedelta(days=1)), F.lit(end.date()))
        is_in_window = is_in_window & snapshot_bounds
    return rows.filter(is_in_window)


def filter_point_in_time_window(
    rows: DataFrame, *, timestamp_field: str, as_of: dt.datetime, ttl_seconds: int
) -> DataFrame:
    """Rows a point-in-time read as of AS_OF may use: not after it, and not older than the TTL (0: no TTL)."""
    start = max(EPOCH, as_of - dt.timedelta(seconds=ttl_seconds)) if ttl_seconds > 0 else EPOCH
    return filter_materialization_window(rows, timestamp_field=timestamp_field, start=start, end=as_of)


def select_latest_per_entity(
    rows: DataFrame,
    *,
    join_keys: list[str],
    timestamp_field: str,
    created_timestamp_column: str | None,
    partitions: int,
) -> DataFrame:
    """One row per entity. The only shuffle of the job: hash-partitioning by the join keys into the
    write partitions, which also satisfies the window's distribution, so no second exchange is added."""
    order = [F.col(timestamp_field).desc()]
    if created_timestamp_column:
        order.append(F.col(created_timestamp_column).desc_nulls_last())
    latest_first = Window.partitionBy(*join_keys).orderBy(*order)
    return (
        rows.repartition(partitions, *join_keys)
        .withColumn("_rank", F.row_number().over(latest_first))
        .filter(F.col("_rank") == 1)
        .drop("_rank")
    )


def feast_event_ts(ts: Column) -> Column:
    """`str(utils.make_tzaware(ts))` as Feast writes `event_ts`: `YYYY-MM-DD HH:MM:SS[.ffffff]+00:00`.

    Needs the session time zone to be UTC (jobs.session sets it; the job checks it).
    """
    micros = F.pmod(F.unix_micros(ts), F.lit(1_000_000))
    fraction = F.when(micros == 0, F.lit("")).otherwise(F.concat(F.lit("."), F.lpad(micros.cast("string"), 6, "0")))
    return F.concat(F.date_format(ts, "yyyy-MM-dd HH:mm:ss"), fraction, F.lit("+00:00"))


def select_item_columns(latest: DataFrame, *, layout: ViewLayout) -> DataFrame:
    """Join keys, features, Feast's event_ts string and the TTL expiry (epoch seconds)."""
    ts = F.col(layout.timestamp_field)
    expires = F.unix_seconds(ts) + F.lit(layout.ttl_seconds) if layout.ttl_seconds > 0 else F.lit(None)
    return latest.select(
        *layout.join_key_names,
        *layout.feature_names,
        feast_event_ts(ts).alias(EVENT_TS),
        expires.cast("long").alias(EXPIRES_AT),
    )


def with_source_names(rows: DataFrame, *, layout: ViewLayout) -> DataFrame:
    """Apply the source's field mapping (source column -> feature or join key name)."""
    for source_column, name in layout.field_mapping:
        rows = rows.withColumnRenamed(source_column, name)
    return rows
