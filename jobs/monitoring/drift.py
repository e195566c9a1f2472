"""Drift between a baseline and a current period: PSI, KS and the guide's alerts.

- `psi`: the guide's `calculate_psi` on two histograms with the same edges: proportions of the
  non-null count, clipped at 0.001, `sum((a - e) * ln(a / e))`.
- `binned_ks_statistic`: max distance of the two binned CDFs, an approximation of the KS statistic
  that needs nothing but the histograms (it can only under-estimate the exact statistic).
- `build_ks_statistics`: the exact two-sample KS statistic (scipy's `ks_2samp`) in Spark: both
  periods' values stacked per feature, counted per distinct value, then cumulative counts by a
  window per feature. One shuffle for all features; a feature's distinct values are sorted in one
  task, so it costs about a sort of that column.
- `ks_p_value`: scipy's asymptotic two-sided p-value for that statistic (`ks_2samp(method="asymp")`).
- `check_drift_alerts`: the guide's function (mean change, null-rate change, max multiplier), plus
  the PSI and KS p-value rules of the guide's skew check (`psi > 0.2 or p_value < 0.05`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from scipy import stats as scipy_stats

from jobs.config import MonitoringConfig
from jobs.monitoring.stats import BASELINE, CURRENT, PERIOD, FeatureStats, feature_value

PSI_FLOOR = 0.001


@dataclasses.dataclass(frozen=True)
class KsResult:
    statistic: float
    n_baseline: int
    n_current: int

    @property
    def p_value(self) -> float:
        return ks_p_value(self.statistic, self.n_baseline, self.n_current)


def psi(expected_counts: Sequence[int], actual_counts: Sequence[int]) -> float | None:
    """PSI of `actual` against `expected`; None when either histogram is empty."""
    expected_total, actual_total = sum(expected_counts), sum(actual_counts)
    if not expected_total or not actual_total:
        return None
    expected = np.clip(np.asarray(expected_counts) / expected_total, PSI_FLOOR, None)
    actual = np.clip(np.asarray(actual_counts) / actual_total, PSI_FLOOR, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def binned_ks_statistic(expected_counts: Sequence[int], actual_counts: Sequence[int]) -> float | None:
    expected_total, actual_total = sum(expected_counts), sum(actual_counts)
    if not expected_total or not actual_total:
        return None
    expected_cdf = np.cumsum(expected_counts) / expected_total
    actual_cdf = np.cumsum(actual_counts) / actual_total
    return float(np.max(np.abs(expected_cdf - actual_cdf)))


def ks_p_value(statistic: float, n_baseline: int, n_current: int) -> float:
    """scipy's two-sided asymptotic p-value (Smirnov's distribution at round(n*m/(n+m)))."""
    m, n = sorted([float(n_baseline), float(n_current)], reverse=True)
    return float(np.clip(scipy_stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1))


def build_ks_statistics(periods: DataFrame, *, features: Sequence[str]) -> DataFrame:
    """One row per feature: `feature`, `statistic`, `n_baseline`, `n_current` (non-null values)."""
    stacked = F.array(*[F.struct(F.lit(f).alias("feature"), feature_value(f).alias("value")) for f in features])
    values = (
        periods.select(PERIOD, F.explode(stacked).alias("fv"))
        .select(PERIOD, "fv.feature", "fv.value")
        .filter(F.col("value").isNotNull())
    )
    per_value = values.groupBy("feature", "value").agg(
        F.count_if(F.col(PERIOD) == BASELINE).alias("n_b"), F.count_if(F.col(PERIOD) == CURRENT).alias("n_c")
    )
    whole = Window.partitionBy("feature").rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    up_to_here = (
        Window.partitionBy("feature").orderBy("value").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    # try_divide: a feature without values in one period gets a null distance (no KS), not an error.
    distance = F.abs(
        F.try_divide(F.sum("n_b").over(up_to_here), F.sum("n_b").over(whole))
        - F.try_divide(F.sum("n_c").over(up_to_here), F.sum("n_c").over(whole))
    )
    return (
        per_value.withColumn("distance", distance)
        .withColumn("n_baseline", F.sum("n_b").over(whole))
        .withColumn("n_current", F.sum("n_c").over(whole))
        .groupBy("feature")
        .agg(
            F.max("distance").alias("statistic"),
            F.max("n_baseline").alias("n_baseline"),
            F.max("n_current").alias("n_current"),
        )
    )


def compute_ks(periods: DataFrame, *, features: Sequence[str]) -> dict[str, KsResult]:
    """Exact KS per feature with values in both periods (others are absent)."""
    found = {}
    for row in build_ks_statistics(periods, features=features).collect():
        if row["n_baseline"] and row["n_current"]:
            found[row["feature"]] = KsResult(float(row["statistic"]), int(row["n_baseline"]), int(row["n_current"]))
    return found


def check_drift_alerts(current: FeatureStats, baseline: FeatureStats, thresholds: dict[str, float]) -> list[str]:
    """The guide's check (monitoring/feature_monitor.py), skipping a rule whose statistic is undefined."""
    alerts = []
    if baseline.mean is not None and current.mean is not None and baseline.mean != 0:
        mean_change = abs(current.mean - baseline.mean) / abs(baseline.mean)
        if mean_change > thresholds.get("mean_change", 0.3):
            alerts.append(f"Mean drift detected: {baseline.mean:.4f} -> {current.mean:.4f} (change: {mean_change:.2%})")
    null_diff = abs(current.null_rate - baseline.null_rate)
    if null_diff > thresholds.get("null_rate_change", 0.05):
        alerts.append(f"Null rate change: {baseline.null_rate:.4f} -> {current.null_rate:.4f}")
    if (
        current.max_val is not None
        and baseline.max_val is not None
        and current.max_val > baseline.max_val * thresholds.get("max_multiplier", 2.0)
    ):
        alerts.append(f"Max value anomaly: {current.max_val} (baseline max: {baseline.max_val})")
    return alerts


def distribution_alerts(psi_value: float | None, p_value: float | None, config: MonitoringConfig) -> list[str]:
    alerts = []
    if psi_value is not None and psi_value > config.psi:
        alerts.append(f"PSI {psi_value:.4f} > {config.psi}")
    if p_value is not None and p_value < config.ks_p_value:
        alerts.append(f"KS p-value {p_value:.4g} < {config.ks_p_value}")
    return alerts


def thresholds(config: MonitoringConfig) -> dict[str, float]:
    return {
        "mean_change": config.mean_change,
        "null_rate_change": config.null_rate_change,
        "max_multiplier": config.max_multiplier,
    }


def finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value
