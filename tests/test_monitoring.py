"""Feature statistics, PSI and KS from Spark aggregations against numpy/pandas/scipy on the same tiny data."""

from __future__ import annotations

import datetime as dt
import importlib.util
import random

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from scipy import stats as scipy_stats

from jobs.config import REPO_ROOT, MonitoringConfig
from jobs.monitoring.drift import (
    binned_ks_statistic,
    build_ks_statistics,
    check_drift_alerts,
    compute_ks,
    distribution_alerts,
    ks_p_value,
    psi,
)
from jobs.monitoring.stats import (
    BASELINE,
    CURRENT,
    DayRange,
    FeatureStats,
    compute_period_stats,
    feature_columns,
    with_periods,
)
from jobs.schemas import USER_TRANSACTION_FEATURES

TABLE = "user_transaction_features"
FEATURES = feature_columns(TABLE)
BASE = DayRange(dt.date(2026, 3, 1), dt.date(2026, 3, 3))
CUR = DayRange(dt.date(2026, 3, 4), dt.date(2026, 3, 5))
MONITORING = MonitoringConfig(
    mean_change=0.3,
    null_rate_change=0.05,
    max_multiplier=2.0,
    psi=0.2,
    ks_p_value=0.05,
    histogram_bins=10,
    freshness_max_staleness_hours=24,
    skew_tolerance=1e-6,
    skew_max_mismatch_rate=0.0,
    skew_feature_service="fraud_detection_v2",
    served_log="unused",
    profiles_table="unused",
    checks_table="unused",
    reference_days=7,
)


def row(user: str, day: dt.date, count: int, value: float | None, gap: float | None = None) -> tuple:
    """A user feature row of snapshot day `day`: avg and max amount both `value`, gap `gap` (default `value`)."""
    event = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    gap = value if gap is None else gap
    return (user, event, event, count, value, value, min(count, 3), gap, day)


def user_rows(seed: int, *, days: DayRange, per_day: int, shift: float = 0.0) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    day = days.start
    while day <= days.end:
        event = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
        for i in range(per_day):
            count = rng.randint(0, 6)
            avg = None if count == 0 else round(rng.uniform(1, 100) + shift, 2)
            gap = None if count < 2 else float(rng.choice([60.0, 120.0, 3600.0, 7200.0]))
            rows.append((f"u{i}", event, event, count, avg, avg, min(count, 3), gap, day))
        day += dt.timedelta(days=1)
    return rows


@pytest.fixture(scope="module")
def data(spark):
    rows = user_rows(1, days=BASE, per_day=20) + user_rows(2, days=CUR, per_day=25, shift=15.0)
    # A row with every nullable feature null, and an edge value equal to the union maximum.
    rows.append(row("u_null", dt.date(2026, 3, 4), 0, None))
    rows.append(row("u_edge", CUR.end, 6, 115.0, 7200.0))
    # Outside both periods: must be ignored.
    rows.append(row("u_out", dt.date(2026, 3, 9), 99, 1e6, 1.0))
    frame = spark.createDataFrame(rows, USER_TRANSACTION_FEATURES)
    pdf = pd.DataFrame(rows, columns=USER_TRANSACTION_FEATURES.fieldNames())
    for name in FEATURES:
        # The table stores Float32 features: the oracle sees the same float32 values.
        stored = "float32" if USER_TRANSACTION_FEATURES[name].dataType.typeName() == "float" else "float64"
        pdf[name] = pdf[name].astype(stored).astype("float64")
    period = {
        BASELINE: pdf[(pdf.snapshot_date >= BASE.start) & (pdf.snapshot_date <= BASE.end)],
        CURRENT: pdf[(pdf.snapshot_date >= CUR.start) & (pdf.snapshot_date <= CUR.end)],
    }
    return frame, period


@pytest.fixture(scope="module")
def computed(data):
    frame, _ = data
    return compute_period_stats(frame, features=FEATURES, baseline=BASE, current=CUR, bins=10)


def test_feature_stats_match_pandas(data, computed):
    _, period = data
    got = computed
    assert set(got) == {BASELINE, CURRENT}
    for name in FEATURES:
        base, cur = period[BASELINE][name], period[CURRENT][name]
        edges = np.linspace(min(base.min(), cur.min()), max(base.max(), cur.max()), 11)
        for label, series in ((BASELINE, base), (CURRENT, cur)):
            stats = got[label][name]
            assert stats.count == series.count() and stats.rows == len(series)
            assert stats.mean == pytest.approx(series.mean(), rel=1e-12)
            assert stats.std == pytest.approx(series.std(), rel=1e-9)
            assert (stats.min_val, stats.max_val) == (series.min(), series.max())
            assert stats.null_rate == pytest.approx(series.isnull().sum() / len(series))
            assert abs(stats.unique_count - series.nunique()) <= 0.03 * series.nunique()  # HLL++, rsd 0.01
            assert list(stats.histogram) == list(np.histogram(series.dropna(), edges)[0])
            assert stats.bin_edges == pytest.approx(list(edges))
    # The all-null row counts in the current period's null rate.
    assert got[CURRENT]["transaction_amount_avg_7d"].null_rate > 0


def test_overlapping_periods_count_a_row_in_both(spark, data):
    frame, period = data
    everything = DayRange(BASE.start, CUR.end)
    got = compute_period_stats(frame, features=["transaction_count_7d"], baseline=everything, current=CUR, bins=10)
    assert got[BASELINE]["transaction_count_7d"].rows == len(period[BASELINE]) + len(period[CURRENT])
    assert got[CURRENT]["transaction_count_7d"].rows == len(period[CURRENT])


def guide_psi(expected: pd.Series, actual: pd.Series, bins: int = 10) -> float:
    breakpoints = np.linspace(min(expected.min(), actual.min()), max(expected.max(), actual.max()), bins + 1)
    e = np.clip(np.histogram(expected, breakpoints)[0] / len(expected), 0.001, None)
    a = np.clip(np.histogram(actual, breakpoints)[0] / len(actual), 0.001, None)
    return float(np.sum((a - e) * np.log(a / e)))


def test_psi_and_ks_match_numpy_and_scipy(data, computed):
    frame, period = data
    got = computed
    ks = compute_ks(frame.transform(with_periods, baseline=BASE, current=CUR), features=FEATURES)
    for name in FEATURES:
        base, cur = period[BASELINE][name].dropna(), period[CURRENT][name].dropna()
        value = psi(got[BASELINE][name].histogram, got[CURRENT][name].histogram)
        assert value == pytest.approx(guide_psi(base, cur), rel=1e-12)
        expected = scipy_stats.ks_2samp(base, cur, method="asymp")
        assert ks[name].statistic == pytest.approx(expected.statistic, abs=1e-12)
        assert ks[name].p_value == pytest.approx(expected.pvalue, rel=1e-9)
        binned = binned_ks_statistic(got[BASELINE][name].histogram, got[CURRENT][name].histogram)
        assert binned <= ks[name].statistic + 1e-12
    # The shifted amounts drift; the capped merchant count hardly does.
    assert (
        psi(got[BASELINE]["transaction_amount_avg_7d"].histogram, got[CURRENT]["transaction_amount_avg_7d"].histogram)
        > 0.1
    )


def test_ks_of_identical_samples_is_zero(spark):
    rows = user_rows(3, days=BASE, per_day=15)
    shifted = [(*r[:8], r[8] + dt.timedelta(days=3)) for r in rows]
    frame = spark.createDataFrame(rows + shifted, USER_TRANSACTION_FEATURES)
    periods = frame.transform(with_periods, baseline=BASE, current=DayRange(dt.date(2026, 3, 4), dt.date(2026, 3, 6)))
    got = {r.feature: r.statistic for r in build_ks_statistics(periods, features=FEATURES).collect()}
    assert got == dict.fromkeys(FEATURES, 0.0)


def test_ks_handles_ties_across_samples(spark):
    base_values = [1.0, 2.0, 2.0, 3.0, None]
    cur_values = [2.0, 2.0, 2.0, 4.0, 5.0, 5.0]
    rows = [
        (f"u{i}", dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 2), 1, v, v, 1, v, BASE.start)
        for i, v in enumerate(base_values)
    ]
    rows += [
        (f"v{i}", dt.datetime(2026, 3, 5), dt.datetime(2026, 3, 5), 1, v, v, 1, v, CUR.start)
        for i, v in enumerate(cur_values)
    ]
    frame = spark.createDataFrame(rows, USER_TRANSACTION_FEATURES)
    got = compute_ks(frame.transform(with_periods, baseline=BASE, current=CUR), features=["transaction_amount_avg_7d"])
    expected = scipy_stats.ks_2samp([1.0, 2.0, 2.0, 3.0], cur_values, method="asymp")
    result = got["transaction_amount_avg_7d"]
    assert (result.n_baseline, result.n_current) == (4, 6)
    assert result.statistic == pytest.approx(expected.statistic)
    assert ks_p_value(result.statistic, 4, 6) == pytest.approx(expected.pvalue)
    # A feature with no values in one period has no KS.
    assert (
        compute_ks(
            frame.filter(F.col("snapshot_date") == BASE.start).transform(with_periods, baseline=BASE, current=CUR),
            features=["transaction_amount_avg_7d"],
        )
        == {}
    )


def test_constant_feature_falls_in_the_last_bin_like_numpy(spark):
    rows = [
        (f"u{i}", dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 2), 2, 5.0, 5.0, 1, 5.0, BASE.start) for i in range(3)
    ]
    rows += [
        (f"v{i}", dt.datetime(2026, 3, 5), dt.datetime(2026, 3, 5), 2, 5.0, 5.0, 1, 5.0, CUR.start) for i in range(2)
    ]
    got = compute_period_stats(
        spark.createDataFrame(rows, USER_TRANSACTION_FEATURES),
        features=["transaction_amount_avg_7d", "transaction_count_7d"],
        baseline=BASE,
        current=CUR,
        bins=10,
    )
    expected = np.histogram(np.array([5.0] * 3), np.linspace(5.0, 5.0, 11))[0]
    assert list(got[BASELINE]["transaction_amount_avg_7d"].histogram) == list(expected)
    assert got[BASELINE]["transaction_amount_avg_7d"].std == pytest.approx(0.0)
    assert psi(got[BASELINE]["transaction_count_7d"].histogram, got[CURRENT]["transaction_count_7d"].histogram) == 0.0


def test_all_null_feature_has_no_mean_and_no_psi(spark):
    rows = [
        (f"u{i}", dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 2), 0, None, None, 0, None, BASE.start)
        for i in range(2)
    ]
    rows.append(("v", dt.datetime(2026, 3, 5), dt.datetime(2026, 3, 5), 0, None, None, 0, None, CUR.start))
    got = compute_period_stats(
        spark.createDataFrame(rows, USER_TRANSACTION_FEATURES),
        features=["avg_time_between_transactions"],
        baseline=BASE,
        current=CUR,
        bins=10,
    )
    stats = got[CURRENT]["avg_time_between_transactions"]
    assert (stats.mean, stats.std, stats.max_val, stats.null_rate, stats.unique_count) == (None, None, None, 1.0, 0)
    assert psi(got[BASELINE]["avg_time_between_transactions"].histogram, stats.histogram) is None


def stats(mean, null_rate, max_val) -> FeatureStats:
    return FeatureStats("f", dt.datetime(2026, 3, 1), mean, 1.0, 0.0, max_val, null_rate, 3)


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        (stats(10.0, 0.0, 50.0), stats(13.0, 0.05, 100.0), []),  # every change exactly at its threshold
        (stats(10.0, 0.0, 50.0), stats(13.01, 0.0, 50.0), ["Mean drift detected: 10.0000 -> 13.0100 (change: 30.10%)"]),
        (stats(10.0, 0.0, 50.0), stats(6.9, 0.0, 50.0), ["Mean drift detected: 10.0000 -> 6.9000 (change: 31.00%)"]),
        (stats(10.0, 0.10, 50.0), stats(10.0, 0.16, 50.0), ["Null rate change: 0.1000 -> 0.1600"]),
        (stats(10.0, 0.0, 50.0), stats(10.0, 0.0, 100.5), ["Max value anomaly: 100.5 (baseline max: 50.0)"]),
        (stats(0.0, 0.0, 50.0), stats(5.0, 0.0, 50.0), []),  # the guide skips the mean rule at a zero baseline
        (stats(None, 1.0, None), stats(1.0, 0.0, 3.0), ["Null rate change: 1.0000 -> 0.0000"]),
    ],
)
def test_drift_alert_thresholds(baseline, current, expected):
    thresholds = {"mean_change": 0.3, "null_rate_change": 0.05, "max_multiplier": 2.0}
    assert check_drift_alerts(current, baseline, thresholds) == expected


def test_distribution_alerts():
    assert distribution_alerts(0.2, 0.05, MONITORING) == []
    assert distribution_alerts(0.21, 0.049, MONITORING) == ["PSI 0.2100 > 0.2", "KS p-value 0.049 < 0.05"]
    assert distribution_alerts(None, None, MONITORING) == []


def test_guide_feature_monitor_agrees_with_the_spark_stats(data, computed):
    """The guide's monitoring/feature_monitor.py (feature_defs/examples) on pandas, against the Spark stats."""
    spec = importlib.util.spec_from_file_location(
        "feature_monitor", REPO_ROOT / "feature_defs/examples/feature_monitor.py"
    )
    guide = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guide)
    _, period = data
    thresholds = {"mean_change": 0.3, "null_rate_change": 0.05, "max_multiplier": 2.0}
    fired = 0
    for name in FEATURES:
        base = guide.compute_feature_stats(period[BASELINE], name)
        cur = guide.compute_feature_stats(period[CURRENT], name)
        ours = computed[BASELINE][name], computed[CURRENT][name]
        for theirs, mine in zip((base, cur), ours, strict=True):
            assert (mine.min_val, mine.max_val) == (theirs.min_val, theirs.max_val)
            assert mine.mean == pytest.approx(theirs.mean, rel=1e-12)
            assert mine.null_rate == pytest.approx(theirs.null_rate, rel=1e-12)
        alerts = check_drift_alerts(ours[1], ours[0], thresholds)
        assert alerts == guide.check_drift_alerts(cur, base, thresholds)
        fired += len(alerts)
    assert fired > 0  # the shifted amounts raise the mean: the comparison covers a firing rule
