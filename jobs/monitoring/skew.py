"""Training-serving skew: the offline point-in-time row of sampled entities against the online store.

For a feature view and an instant T, the offline value of an entity is the row the materializer
would write for a window ending at T: greatest event_timestamp <= T and >= T - TTL, ties by the
greatest created_timestamp (jobs.online_store.select, reused here). The sample is chosen in Spark:
the `n` entities with the smallest `xxhash64` of their join keys among those with such a row, so
the same entities are checked run after run. Only the sample's keys go to the driver (for Feast's
`get_online_features`); the served values come back as a small DataFrame and are compared with the
offline rows in Spark: integers exactly, floats within a relative tolerance, null against a value
as a mismatch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.online_store.select import filter_point_in_time_window, select_latest_per_entity

SAMPLE_HASH = "_sample_hash"
ONLINE_PREFIX = "_online_"
MISMATCH_PREFIX = "_mismatch_"
EXACT_TYPES = {"INT32", "INT64", "BOOL", "STRING", "BYTES", "UNIX_TIMESTAMP"}


def select_offline_latest(
    rows: DataFrame,
    *,
    join_keys: Sequence[str],
    timestamp_field: str,
    created_timestamp_column: str | None,
    as_of: dt.datetime,
    ttl_seconds: int,
    partitions: int,
) -> DataFrame:
    """Per entity, the row served for `as_of` (the materializer's rule for a window ending at `as_of`)."""
    return rows.transform(
        filter_point_in_time_window, timestamp_field=timestamp_field, as_of=as_of, ttl_seconds=ttl_seconds
    ).transform(
        select_latest_per_entity,
        join_keys=list(join_keys),
        timestamp_field=timestamp_field,
        created_timestamp_column=created_timestamp_column,
        partitions=partitions,
    )


def select_sample(latest: DataFrame, *, join_keys: Sequence[str], features: Sequence[str], size: int) -> DataFrame:
    """The `size` entities with the smallest hash of their keys (ties by the keys): deterministic."""
    return (
        latest.withColumn(SAMPLE_HASH, F.xxhash64(*join_keys))
        .orderBy(SAMPLE_HASH, *join_keys)
        .limit(size)
        .select(*join_keys, *features)
    )


def online_schema(join_keys: Sequence[str], features: Sequence[tuple[str, str]]) -> T.StructType:
    """Keys as strings, served features as long (exact types) or double, prefixed `_online_`."""
    fields = [T.StructField(k, T.StringType()) for k in join_keys]
    for name, value_type in features:
        data_type: T.DataType = T.DoubleType()
        if value_type in {"INT32", "INT64"}:
            data_type = T.LongType()
        elif value_type == "BOOL":
            data_type = T.BooleanType()
        fields.append(T.StructField(f"{ONLINE_PREFIX}{name}", data_type))
    return T.StructType(fields)


def is_mismatch(offline: Column, online: Column, *, exact: bool, tolerance: float) -> Column:
    """Null against a value, or different values (floats: |a - b| > tolerance * max(|a|, |b|))."""
    if exact:
        return ~offline.eqNullSafe(online)
    both_present = offline.isNotNull() & online.isNotNull()
    differ = F.abs(offline - online) > F.lit(tolerance) * F.greatest(F.abs(offline), F.abs(online))
    return F.when(both_present, differ).otherwise(offline.isNull() != online.isNull())


def with_mismatch_flags(joined: DataFrame, *, features: Sequence[tuple[str, str]], tolerance: float) -> DataFrame:
    for name, value_type in features:
        offline = F.col(name).cast("double") if value_type not in EXACT_TYPES else F.col(name)
        online = F.col(f"{ONLINE_PREFIX}{name}")
        flag = is_mismatch(offline, online, exact=value_type in EXACT_TYPES, tolerance=tolerance)
        joined = joined.withColumn(f"{MISMATCH_PREFIX}{name}", flag)
    return joined


def build_comparison(
    sample: DataFrame,
    served: DataFrame,
    *,
    join_keys: Sequence[str],
    features: Sequence[tuple[str, str]],
    tolerance: float,
) -> DataFrame:
    """The sample joined with what was served, one `_mismatch_<feature>` flag per feature."""
    return sample.join(served, on=list(join_keys), how="left").transform(
        with_mismatch_flags, features=features, tolerance=tolerance
    )


def mismatch_aggregations(features: Sequence[str]) -> list[Column]:
    return [F.count(F.lit(1)).alias("_sampled")] + [
        F.count_if(F.col(f"{MISMATCH_PREFIX}{name}")).alias(name) for name in features
    ]


def filter_any_mismatch(compared: DataFrame, *, features: Sequence[str]) -> DataFrame:
    has_mismatch = F.lit(False)
    for name in features:
        has_mismatch = has_mismatch | F.col(f"{MISMATCH_PREFIX}{name}")
    return compared.filter(has_mismatch)
