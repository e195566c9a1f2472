"""Daily profiles against a brute-force pandas oracle, and per-day drift from profiles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from jobs.config import load_config
from jobs.monitoring.daily_drift import daily_drift
from jobs.monitoring.profiles import HISTOGRAM_EDGES, QUANTILE_GAMMA, QUANTILE_NAMES, QUANTILES, build_profiles
from jobs.monitoring.stats import feature_columns
from jobs.schemas import USER_TRANSACTION_FEATURES

FEATURES = feature_columns("user_transaction_features")
WHOLE_COUNTS = {"transaction_count_7d", "unique_merchants_7d"}


def user_rows(rng: np.random.Generator, day: dt.date, n: int) -> list[tuple]:
    rows = []
    for i in range(n):
        count = int(rng.integers(0, 40))
        avg = None if count == 0 else float(np.float32(rng.gamma(2.0, 40.0)))
        gap = None if count < 2 else float(np.float32(rng.uniform(30, 500_000)))
        if i % 17 == 0 and avg is not None:
            avg = float("nan")
        at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
        rows.append((f"u{i}", at, at, count, avg, None if avg is None else avg * 2, min(count, 5), gap, day))
    rows.append(("edge", at, at, 1, 5.0, 10.0, 1, 60.0, day))  # values exactly on bin edges
    return rows


def oracle(frame: pd.DataFrame, feature: str) -> dict:
    values = frame[feature].astype("float64")
    present = values.dropna().sort_values().to_numpy()
    edges = HISTOGRAM_EDGES[feature]
    histogram = [int(((present >= lo) & (present < hi)).sum()) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    quantiles = {
        name: float(present[max(math.ceil(q * len(present)) - 1, 0)]) if len(present) else None
        for name, q in zip(QUANTILE_NAMES, QUANTILES, strict=True)
    }
    return {
        "row_count": len(values),
        "null_count": int(values.isna().sum()),
        "min": float(present.min()) if len(present) else None,
        "max": float(present.max()) if len(present) else None,
        "mean": float(present.mean()) if len(present) else None,
        "stddev": float(np.std(present, ddof=1)) if len(present) > 1 else None,
        "histogram": histogram,
        **quantiles,
    }


def test_profiles_match_a_pandas_oracle_per_day_and_feature(spark):
    rng = np.random.default_rng(7)
    days = [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
    rows = [r for d in days for r in user_rows(rng, d, 300)]
    frame = spark.createDataFrame(rows, USER_TRANSACTION_FEATURES)
    got = build_profiles(
        frame,
        table="user_transaction_features",
        features=FEATURES,
        run_id="r1",
        source_version=3,
        profiled_at=dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
    ).collect()
    assert len(got) == len(days) * len(FEATURES)
    expected_frame = pd.DataFrame(rows, columns=USER_TRANSACTION_FEATURES.fieldNames())
    for row in got:
        day_rows = expected_frame[expected_frame["snapshot_date"] == row["snapshot_date"]]
        want = oracle(day_rows, row["feature"])
        assert row["row_count"] == want["row_count"]
        assert row["null_count"] == want["null_count"], row["feature"]
        assert list(row["histogram"]) == want["histogram"], row["feature"]
        assert sum(row["histogram"]) == want["row_count"] - want["null_count"]
        for key in ("min", "max"):
            assert row[key] == pytest.approx(want[key], rel=1e-12), (row["feature"], key)
        # Quantiles are within the log grid's factor; exact for the small whole counts (one value per cell).
        tolerance = 1e-12 if row["feature"] in WHOLE_COUNTS else QUANTILE_GAMMA - 1
        for key in QUANTILE_NAMES:
            assert row[key] == pytest.approx(want[key], rel=tolerance), (row["feature"], key)
        for key in ("mean", "stddev"):
            assert row[key] == pytest.approx(want[key], rel=1e-9), (row["feature"], key)
        assert list(row["bin_edges"]) == HISTOGRAM_EDGES[row["feature"]]
        assert (row["run_id"], row["source_version"]) == ("r1", 3)


# The thresholds of conf/local.yaml (PSI 0.2, KS p-value 0.05); 3 reference days.
MONITORING = dataclasses.replace(load_config(env="local").monitoring, reference_days=3)


def profile(day: dt.date, feature: str, histogram: list[int]) -> dict:
    return {"snapshot_date": day, "feature": feature, "histogram": histogram, "bin_edges": [0.0, 1.0, 2.0, 3.0]}


def test_daily_drift_compares_each_day_with_the_days_before_and_names_what_crossed():
    base = dt.date(2026, 3, 1)
    steady = [250, 500, 250]
    rows = [profile(base + dt.timedelta(days=i), "f", steady) for i in range(5)]
    rows.append(profile(base + dt.timedelta(days=5), "f", [100, 300, 600]))
    rows += [profile(base + dt.timedelta(days=i), "g", steady) for i in range(6)]
    days = [base + dt.timedelta(days=i) for i in range(3, 6)]
    got = daily_drift(rows, table="t", days=days, config=MONITORING, reference_days=3)
    by_key = {(d.feature, d.day): d for d in got}
    assert len(got) == 6
    shifted = by_key[("f", base + dt.timedelta(days=5))]
    assert shifted.reference == (base + dt.timedelta(days=2), base + dt.timedelta(days=4))
    expected = np.array(steady) * 3 / 3000
    actual = np.array([100, 300, 600]) / 1000
    assert shifted.psi == pytest.approx(float(np.sum((actual - expected) * np.log(actual / expected))))
    assert shifted.ks_statistic == pytest.approx(0.35)
    assert [a.split(":")[0] for a in shifted.alerts] == ["t.f on 2026-03-06", "t.f on 2026-03-06"]
    assert "PSI" in shifted.alerts[0] and "KS p-value" in shifted.alerts[1]
    assert all(not d.alerts for key, d in by_key.items() if key != ("f", base + dt.timedelta(days=5)))


def test_daily_drift_skips_reference_days_profiled_with_other_edges():
    base = dt.date(2026, 3, 1)
    rows = [profile(base, "f", [10, 10, 10]), profile(base + dt.timedelta(days=1), "f", [10, 10, 10])]
    rows[0] = {**rows[0], "bin_edges": [0.0, 5.0, 6.0, 7.0]}
    got = daily_drift(rows, table="t", days=[base + dt.timedelta(days=1)], config=MONITORING, reference_days=3)
    assert got == []
