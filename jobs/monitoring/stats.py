"""Per-feature statistics and histograms of a feature table over two snapshot-day periods.

The guide's `FeatureStats` (monitoring/feature_monitor.py) computed by Spark, never by collecting
values: every row of both periods is tagged with its period(s) in one scan, then

1. pass 1 (`build_summaries`): count, mean, sample std (pandas' `std()`), min, max, null rate and
   `approx_count_distinct` of every feature, grouped by period;
2. pass 2 (`build_histograms`): `bins` counts per feature on fixed edges, `np.linspace` over the
   union of both periods' ranges, which is what the guide's `calculate_psi` does. Bin i holds
   `edges[i] <= x < edges[i+1]`, the last bin also `x == edges[-1]` (numpy's histogram rule).

Only two rows (one per period) reach the driver from each pass. NaN counts as null, as pandas'
`dropna()` and `isnull()` treat it. Feature columns are every column but the join key, the two
timestamps and `snapshot_date` (jobs.schemas).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.schemas import SNAPSHOT_DATE
from jobs.tables import feature_table

PERIOD = "_period"
BASELINE = "baseline"
CURRENT = "current"
ROWS = "_rows"
APPROX_DISTINCT_RSD = 0.01  # HyperLogLog++ relative standard deviation of unique_count
NON_FEATURE_COLUMNS = {"user_id", "merchant_id", "event_timestamp", "created_timestamp", SNAPSHOT_DATE}


@dataclasses.dataclass(frozen=True)
class DayRange:
    start: dt.date
    end: dt.date  # inclusive


@dataclasses.dataclass(frozen=True)
class FeatureStats:
    """The guide's FeatureStats, plus the counts and histogram PSI and KS need."""

    feature_name: str
    timestamp: dt.datetime
    mean: float | None
    std: float | None
    min_val: float | None
    max_val: float | None
    null_rate: float
    unique_count: int
    p99_latency_ms: float | None = None
    count: int = 0  # non-null values
    rows: int = 0
    histogram: tuple[int, ...] = ()
    bin_edges: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "rows": self.rows,
            "mean": self.mean,
            "std": self.std,
            "min": self.min_val,
            "max": self.max_val,
            "null_rate": self.null_rate,
            "unique_count": self.unique_count,
            "histogram": list(self.histogram),
        }


def feature_columns(table: str) -> list[str]:
    schema = feature_table(table).schema
    assert schema is not None, table
    return [f.name for f in schema.fields if f.name not in NON_FEATURE_COLUMNS]


def feature_value(name: str) -> Column:
    """The feature as a double; NaN becomes null."""
    value = F.col(name).cast("double")
    return F.when(~F.isnan(value), value)


def with_periods(rows: DataFrame, *, baseline: DayRange, current: DayRange) -> DataFrame:
    """Rows of either period with `_period`; a row in both (overlapping periods) appears once per period."""
    day = F.col(SNAPSHOT_DATE)
    in_baseline = day.between(F.lit(baseline.start), F.lit(baseline.end))
    in_current = day.between(F.lit(current.start), F.lit(current.end))
    # A CASE rather than a lambda filter over both labels: lambdas are evaluated without code generation.
    labels = (
        F.when(in_baseline & in_current, F.array(F.lit(BASELINE), F.lit(CURRENT)))
        .when(in_baseline, F.array(F.lit(BASELINE)))
        .otherwise(F.array(F.lit(CURRENT)))
    )
    return rows.filter(in_baseline | in_current).withColumn(PERIOD, F.explode(labels))


def summary_aggregations(features: Sequence[str]) -> list[Column]:
    columns = [F.count(F.lit(1)).alias(ROWS)]
    for name in features:
        value = feature_value(name)
        columns += [
            F.count(value).alias(f"{name}__count"),
            F.avg(value).alias(f"{name}__mean"),
            F.stddev_samp(value).alias(f"{name}__std"),
            F.min(value).alias(f"{name}__min"),
            F.max(value).alias(f"{name}__max"),
            F.approx_count_distinct(value, rsd=APPROX_DISTINCT_RSD).alias(f"{name}__unique"),
        ]
    return columns


def histogram_aggregations(edges: Mapping[str, Sequence[float]]) -> list[Column]:
    columns = []
    for name, feature_edges in edges.items():
        value = feature_value(name)
        last = len(feature_edges) - 2
        for i in range(last + 1):
            lower, upper = F.lit(float(feature_edges[i])), F.lit(float(feature_edges[i + 1]))
            is_in_bin = (value >= lower) & ((value <= upper) if i == last else (value < upper))
            columns.append(F.count_if(is_in_bin).alias(f"{name}__bin{i}"))
    return columns


def build_summaries(periods: DataFrame, *, features: Sequence[str]) -> DataFrame:
    return periods.groupBy(PERIOD).agg(*summary_aggregations(features))


def build_histograms(periods: DataFrame, *, edges: Mapping[str, Sequence[float]]) -> DataFrame:
    return periods.groupBy(PERIOD).agg(*histogram_aggregations(edges))


def union_bin_edges(lows: Sequence[float | None], highs: Sequence[float | None], *, bins: int) -> list[float] | None:
    """The guide's breakpoints: `np.linspace(min of mins, max of maxes, bins + 1)`; None without values."""
    present_lows = [v for v in lows if v is not None]
    present_highs = [v for v in highs if v is not None]
    if not present_lows:
        return None
    return [float(e) for e in np.linspace(min(present_lows), max(present_highs), bins + 1)]


def compute_period_stats(
    rows: DataFrame, *, features: Sequence[str], baseline: DayRange, current: DayRange, bins: int
) -> dict[str, dict[str, FeatureStats]]:
    """{period: {feature: FeatureStats}} for `baseline` and `current`: two Spark aggregations.

    A period without rows is absent from the result."""
    periods = rows.transform(with_periods, baseline=baseline, current=current)
    summaries = {r[PERIOD]: r.asDict() for r in build_summaries(periods, features=features).collect()}
    edges = {}
    for name in features:
        found = union_bin_edges(
            [s[f"{name}__min"] for s in summaries.values()], [s[f"{name}__max"] for s in summaries.values()], bins=bins
        )
        if found is not None:
            edges[name] = found
    histograms = {r[PERIOD]: r.asDict() for r in build_histograms(periods, edges=edges).collect()} if edges else {}
    now = dt.datetime.now(dt.UTC)
    result: dict[str, dict[str, FeatureStats]] = {}
    for period, summary in summaries.items():
        result[period] = {
            name: _feature_stats(name, summary, histograms.get(period, {}), edges.get(name), now) for name in features
        }
    return result


def _feature_stats(
    name: str, summary: dict[str, Any], histogram: dict[str, Any], edges: list[float] | None, now: dt.datetime
) -> FeatureStats:
    rows = int(summary[ROWS])
    count = int(summary[f"{name}__count"])
    counts = tuple(int(histogram[f"{name}__bin{i}"]) for i in range(len(edges) - 1)) if edges and histogram else ()
    return FeatureStats(
        feature_name=name,
        timestamp=now,
        mean=_finite(summary[f"{name}__mean"]),
        std=_finite(summary[f"{name}__std"]),
        min_val=_finite(summary[f"{name}__min"]),
        max_val=_finite(summary[f"{name}__max"]),
        null_rate=(rows - count) / rows if rows else 0.0,
        unique_count=int(summary[f"{name}__unique"]),
        count=count,
        rows=rows,
        histogram=counts,
        bin_edges=tuple(edges or ()),
    )


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
