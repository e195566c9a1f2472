"""Which rows go online: per entity, the latest row of the window, shaped for the writer.

`feast materialize START END` writes, for each entity, the row with the greatest event timestamp in
`[START, END]` (ties: greatest created timestamp). Like the point-in-time rule, a row older than the
view's TTL before END is not served, so it is not written either.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.online_store.layout import ViewLayout
from jobs.schemas import SNAPSHOT_DATE

EVENT_TS = "_feast_event_ts"
EXPIRES_AT = "_expires_at"


def window_start(*, start: dt.datetime, end: dt.datetime, ttl_seconds: int) -> dt.datetime:
    """The effective lower bound: the window start, raised to END - TTL when the view has a TTL."""
    return max(start, end - dt.timedelta(seconds=ttl_seconds)) if ttl_seconds > 0 else start


def filter_materialization_window(
    rows: DataFrame, *, timestamp_field: str, start: dt.datetime, end: dt.datetime, ttl_seconds: int
) -> DataFrame:
    lower = window_start(start=start, end=end, ttl_seconds=ttl_seconds)
    is_in_window = F.col(timestamp_field).between(F.lit(lower), F.lit(end))
    if SNAPSHOT_DATE in rows.columns:
        # Feature tables are partitioned by snapshot_date and event_timestamp = snapshot_date + 1 day
        # (FEATURES.md), so this bound only prunes partitions; it never drops a row of the window.
        snapshot_bounds = F.col(SNAPSHOT_DATE).between(F.lit(lower.date() - dt.timedelta(days=1)), F.lit(end.date()))
        is_in_window = is_in_window & snapshot_bounds
    return rows.filter(is_in_window)


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
