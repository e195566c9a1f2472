"""Daily profiles of a feature table: one row per (table, snapshot day, feature), in one aggregate pass.

A profile holds the row count, null count and rate, min, max, mean, sample stddev, approximate
quantiles (p01, p25, p50, p75, p99) and a histogram on fixed edges. The edges are fixed per feature
(`HISTOGRAM_EDGES`, chosen from what the feature means in FEATURES.md, open at both ends so every
value lands in a bin), so the histograms of any two days compare bin by bin and drift over a month
needs no rescan. Each profile row keeps its edges; drift compares only histograms with equal edges.
NaN counts as null, as in `jobs.monitoring.stats`.

The one pass over the table is a `groupBy(snapshot_date, feature, bin, bucket)` of the rows turned
long (one row per value): count, min, max, mean and population variance per group, a plain hash
aggregate that Spark compiles and partially aggregates on the map side. `bucket` is the value's cell
on a logarithmic grid (cells `(g^(k-1), g^k]` with `g = QUANTILE_GAMMA`, mirrored for negative
values, zero alone), the DDSketch idea. Everything else is computed from those few thousand group
rows per table: the histogram sums the groups per bin, the mean and stddev combine the groups'
moments exactly (Chan et al.), and a quantile interpolates by rank inside the group holding its rank,
whose values span at most a factor `QUANTILE_GAMMA`: a quantile is within 1% of the exact one
(rank `ceil(q * n)`, as in the tests' oracle), and exact when every group holds one distinct value.

Why not `percentile_approx` and one counter per bin in a `groupBy(snapshot_date)`: measured on the
16M benchmark's user table (7.2M rows), the quantile sketches force Spark's object hash aggregate,
which is interpreted row by row, and 84 conditional counters in one aggregate are not compiled either;
that pass cost 0.58 of the feature job (`benchmarks/RESULTS.md`, #14).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window, WindowSpec

from jobs.monitoring.stats import feature_value
from jobs.schemas import SNAPSHOT_DATE

QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
QUANTILE_NAMES = ("p01", "p25", "p50", "p75", "p99")
_NAMED_QUANTILES = tuple(zip(QUANTILE_NAMES, QUANTILES, strict=True))
# The ratio between a quantile group's largest and smallest magnitude: quantiles within 1%.
QUANTILE_GAMMA = 1.01
# Shifts the log-grid index so it is positive for every double's magnitude (the smallest subnormal is
# 2^-1074, index about -75,000 with this gamma) and cannot reach zero, which is zero's own cell.
_BUCKET_OFFSET = 100_000
INF = math.inf

_COUNTS = [-INF, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, INF]
_AMOUNTS = [-INF, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, INF]
HISTOGRAM_EDGES: dict[str, list[float]] = {
    "transaction_count_7d": _COUNTS,
    "transaction_amount_avg_7d": _AMOUNTS,
    "transaction_amount_max_7d": _AMOUNTS,
    "unique_merchants_7d": [-INF, 1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, INF],
    # seconds: a minute, 5 and 15 minutes, 30 minutes, hours, days (the window is 7 days).
    "avg_time_between_transactions": [-INF, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, INF],
    "total_transactions_30d": [-INF, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, INF],
    "avg_transaction_amount": _AMOUNTS,
    "chargeback_rate_30d": [-INF, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, INF],
    "risk_score": [-INF, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, INF],
}

PROFILES = T.StructType(
    [
        T.StructField("table_name", T.StringType(), nullable=False),
        T.StructField(SNAPSHOT_DATE, T.DateType(), nullable=False),
        T.StructField("feature", T.StringType(), nullable=False),
        T.StructField("row_count", T.LongType(), nullable=False),
        T.StructField("null_count", T.LongType(), nullable=False),
        T.StructField("null_rate", T.DoubleType()),
        T.StructField("min", T.DoubleType()),
        T.StructField("max", T.DoubleType()),
        T.StructField("mean", T.DoubleType()),
        T.StructField("stddev", T.DoubleType()),
        *[T.StructField(name, T.DoubleType()) for name in QUANTILE_NAMES],
        T.StructField("bin_edges", T.ArrayType(T.DoubleType(), containsNull=False), nullable=False),
        T.StructField("histogram", T.ArrayType(T.LongType(), containsNull=False), nullable=False),
        T.StructField("run_id", T.StringType(), nullable=False),
        T.StructField("source_version", T.LongType()),
        T.StructField("profiled_at", T.TimestampType(), nullable=False),
    ]
)


def bin_index(column: str, edges: Sequence[float]) -> Column:
    """The bin `i` with `edges[i] <= value < edges[i + 1]` of the double column `column` (null for null); the
    edges are open at both ends.

    One SQL CASE from constants: built from Column calls it took some 350 calls into the JVM per feature,
    most of the driver's time in a small daily run's profiling (benchmarks/RESULTS.md, "Fewer calls into
    the JVM: the profiles' expressions, and the tests' call sites")."""
    if edges[0] != -INF or edges[-1] != INF:
        raise ValueError(f"histogram edges must start at -inf and end at inf: {list(edges)}")
    below = " ".join(f"WHEN `{column}` < {float(upper)!r}D THEN {i}" for i, upper in enumerate(edges[1:-1]))
    return F.expr(f"CASE WHEN `{column}` IS NULL THEN NULL {below} ELSE {len(edges) - 2} END")


def quantile_bucket(value: Column) -> Column:
    """The value's cell on the logarithmic grid, ordered as the values are: `sign * (ceil(log_g |v|) + offset)`."""
    log_index = F.log(F.abs(value)) / math.log(QUANTILE_GAMMA)
    bounded = F.least(F.greatest(log_index, F.lit(float(1 - _BUCKET_OFFSET))), F.lit(float(_BUCKET_OFFSET)))
    return (F.signum(value) * (F.ceil(bounded) + _BUCKET_OFFSET)).cast("long")


def value_groups(rows: DataFrame, features: Sequence[str]) -> DataFrame:
    """The one pass: per (day, feature, bin, bucket) the rows, values, min, max, mean and population variance.

    `feature` is the feature's position in `features` (an int key hashes faster than its name). Null
    values (and NaN) form the group with a null bin, so the row count still counts them.
    """
    values = rows.select(SNAPSHOT_DATE, *[feature_value(name).alias(name) for name in features])
    long = values.select(
        SNAPSHOT_DATE,
        F.inline(
            F.array(
                *[
                    F.struct(
                        F.lit(i).alias("feature"),
                        F.col(name).alias("value"),
                        bin_index(name, HISTOGRAM_EDGES[name]).alias("bin"),
                    )
                    for i, name in enumerate(features)
                ]
            )
        ),
    )
    value = F.col("value")
    keyed = long.withColumn("bucket", quantile_bucket(value))
    return keyed.groupBy(SNAPSHOT_DATE, "feature", "bin", "bucket").agg(
        F.count(F.lit(1)).alias("rows"),
        F.count(value).alias("n"),
        F.min(value).alias("min"),
        F.max(value).alias("max"),
        F.avg(value).alias("mean"),
        F.var_pop(value).alias("var_pop"),
    )


def _day_feature() -> WindowSpec:
    return Window.partitionBy(SNAPSHOT_DATE, "feature")


def with_quantile_values(groups: DataFrame) -> DataFrame:
    """Each group with, per quantile, its value when the quantile's rank `ceil(q * n)` falls inside the group."""
    ordered = _day_feature().orderBy("bucket", "bin").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    present = F.col("n") > 0
    before = F.sum(F.when(present, F.col("n"))).over(ordered) - F.col("n")
    counted = groups.withColumn("_before", F.when(present, before)).withColumn(
        "_count", F.sum("n").over(_day_feature())
    )
    return counted.select("*", *[F.expr(_quantile_in_group(q)).alias(f"_{name}") for name, q in _NAMED_QUANTILES])


def _quantile_in_group(q: float) -> str:
    # SQL text: one call into the JVM, where the same expression built from Columns takes some 250.
    within = f"(greatest(ceil({q!r}D * _count), 1) - _before)"
    step = f"coalesce(try_divide({within} - 1, n - 1), 0D)"
    return f"CASE WHEN n > 0 AND {within} BETWEEN 1 AND n THEN min + (max - min) * {step} END"


def with_pooled_moments(groups: DataFrame) -> DataFrame:
    """Each group with its day-and-feature mean and its share of the pooled sum of squared deviations."""
    n = F.col("n")
    mean = F.try_divide(F.sum(n * F.col("mean")).over(_day_feature()), F.sum(n).over(_day_feature()))
    return groups.withColumn("_pooled_mean", mean).withColumn(
        "_m2", n * F.col("var_pop") + n * F.pow(F.col("mean") - F.col("_pooled_mean"), 2)
    )


def histograms(features: Sequence[str]) -> Column:
    """Aggregated per (day, feature): the histogram of that feature from its groups, values per bin, empty
    bins as 0 (SQL text, one call into the JVM instead of a Column CASE over the features)."""
    last_bin = _sql_per_feature(lambda name: str(len(HISTOGRAM_EDGES[name]) - 2), features)
    per_bin = "map_from_entries(collect_list(CASE WHEN bin IS NOT NULL THEN struct(bin, n) END))"
    return F.expr(f"transform(sequence(0, {last_bin}), i -> coalesce({per_bin}[i], 0L))")


def feature_names(features: Sequence[str]) -> Column:
    """The name of the feature at position `feature` (the names are the feature tables' column names)."""
    return F.expr(_sql_per_feature(lambda name: f"'{name}'", features))


def _sql_per_feature(make: Callable[[str], str], features: Sequence[str]) -> str:
    """SQL text of `make(feature)` for the feature at position `feature` (one CASE over them)."""
    return "CASE feature " + " ".join(f"WHEN {i} THEN {make(name)}" for i, name in enumerate(features)) + " END"


def _per_feature(index: Column, make: Callable[[str], Column], features: Sequence[str]) -> Column:
    """`make(feature)` for the feature at position `index` of `features` (one CASE over them). Kept for the
    bin edges: SQL text has no literal for an infinite double that is not nullable."""
    result = F.lit(None)
    for i, name in enumerate(features):
        result = F.when(index == i, make(name)).otherwise(result)
    return result


def build_profiles(
    rows: DataFrame,
    *,
    table: str,
    features: Sequence[str],
    run_id: str,
    source_version: int | None,
    profiled_at: object,
) -> DataFrame:
    """One profile row per (snapshot day, feature) of `rows` (already limited to the days to profile)."""
    groups = with_pooled_moments(with_quantile_values(value_groups(rows, features)))
    per_bin = groups.groupBy(SNAPSHOT_DATE, "feature", "bin").agg(
        F.sum("rows").alias("rows"),
        F.sum("n").alias("n"),
        F.min("min").alias("min"),
        F.max("max").alias("max"),
        F.first("_pooled_mean", ignorenulls=True).alias("mean"),
        F.sum("_m2").alias("_m2"),
        *[F.max(f"_{q}").alias(q) for q in QUANTILE_NAMES],
    )
    feature = F.col("feature")
    count, row_count = F.sum("n"), F.sum("rows")
    profiles = per_bin.groupBy(SNAPSHOT_DATE, "feature").agg(
        row_count.alias("row_count"),
        (row_count - count).alias("null_count"),
        F.try_divide(row_count - count, row_count).cast("double").alias("null_rate"),
        F.min("min").alias("min"),
        F.max("max").alias("max"),
        F.when(count > 0, F.first("mean", ignorenulls=True)).alias("mean"),
        F.when(count > 1, F.sqrt(F.sum("_m2") / (count - 1))).alias("stddev"),
        *[F.max(q).alias(q) for q in QUANTILE_NAMES],
        _per_feature(feature, lambda n: F.array(*[F.lit(float(e)) for e in HISTOGRAM_EDGES[n]]), features).alias(
            "bin_edges"
        ),
        histograms(features).alias("histogram"),
    )
    return profiles.select(
        F.lit(table).alias("table_name"),
        SNAPSHOT_DATE,
        feature_names(features).alias("feature"),
        "row_count",
        "null_count",
        "null_rate",
        "min",
        "max",
        "mean",
        "stddev",
        *QUANTILE_NAMES,
        "bin_edges",
        "histogram",
        F.lit(run_id).alias("run_id"),
        F.lit(source_version).cast("long").alias("source_version"),
        F.lit(profiled_at).cast("timestamp").alias("profiled_at"),
    ).select([F.col(f.name).cast(_type_name(f.dataType)) for f in PROFILES.fields])


def _type_name(data_type: T.DataType) -> str | T.DataType:
    # A cast to a DataType object looks the session up through the JVM (some 25 calls a column); the type's
    # name is one call. Arrays keep the object: their name would drop `containsNull=False`.
    return data_type if isinstance(data_type, T.ArrayType) else data_type.simpleString()
