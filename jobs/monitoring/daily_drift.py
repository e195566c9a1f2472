"""Drift per snapshot day from stored profiles: each day's histogram against the days before it.

For every feature and day D the reference is the sum of the histograms of the `reference_days` days
before D (or of a pinned baseline period) that were profiled with the same bin edges. Then

- PSI: `jobs.monitoring.drift.psi` of the day against the reference;
- KS: the distance of the two binned CDFs (it can only under-estimate the exact statistic) and its
  asymptotic p-value with the non-null counts as sample sizes. The p-value threshold is divided by
  the number of (feature, day) pairs tested (Bonferroni), so a clean month of nine features does not
  raise the 5% of false alerts one test per pair would.

Nothing here touches Spark: the input is the profile rows (days x features), already on the driver.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jobs.config import MonitoringConfig
from jobs.monitoring.drift import binned_ks_statistic, ks_p_value, psi


@dataclasses.dataclass(frozen=True)
class DayDrift:
    table: str
    feature: str
    day: dt.date
    reference: tuple[dt.date, dt.date]
    psi: float | None
    ks_statistic: float | None
    ks_p_value: float | None
    n_reference: int
    n_current: int
    alerts: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "day": self.day.isoformat(),
            "reference": [d.isoformat() for d in self.reference],
        }


def reference_window(day: dt.date, *, reference_days: int) -> tuple[dt.date, dt.date]:
    return day - dt.timedelta(days=reference_days), day - dt.timedelta(days=1)


def daily_drift(
    profiles: Sequence[Mapping[str, Any]],
    *,
    table: str,
    days: Sequence[dt.date],
    config: MonitoringConfig,
    reference_days: int,
    baseline: tuple[dt.date, dt.date] | None = None,
) -> list[DayDrift]:
    """PSI and KS of each (feature, day) in `days` with a profile and a reference, with the alerts."""
    by_feature: dict[str, dict[dt.date, Mapping[str, Any]]] = {}
    for row in profiles:
        by_feature.setdefault(row["feature"], {})[row["snapshot_date"]] = row
    measured = []
    for feature, per_day in sorted(by_feature.items()):
        for day in days:
            current = per_day.get(day)
            if current is None:
                continue
            window = baseline or reference_window(day, reference_days=reference_days)
            reference = [
                row
                for d, row in per_day.items()
                if window[0] <= d <= window[1] and list(row["bin_edges"]) == list(current["bin_edges"])
            ]
            if not reference:
                continue
            expected = np.sum([np.asarray(r["histogram"], dtype=np.int64) for r in reference], axis=0)
            actual = np.asarray(current["histogram"], dtype=np.int64)
            statistic = binned_ks_statistic(expected.tolist(), actual.tolist())
            n_ref, n_cur = int(expected.sum()), int(actual.sum())
            p_value = ks_p_value(statistic, n_ref, n_cur) if statistic is not None else None
            measured.append(
                (feature, day, window, psi(expected.tolist(), actual.tolist()), statistic, p_value, n_ref, n_cur)
            )
    tests = max(len(measured), 1)
    ks_threshold = config.ks_p_value / tests
    return [
        DayDrift(
            table=table,
            feature=feature,
            day=day,
            reference=window,
            psi=psi_value,
            ks_statistic=statistic,
            ks_p_value=p_value,
            n_reference=n_ref,
            n_current=n_cur,
            alerts=tuple(
                _alerts(table, feature, day, psi_value, p_value, psi_threshold=config.psi, ks_threshold=ks_threshold)
            ),
        )
        for feature, day, window, psi_value, statistic, p_value, n_ref, n_cur in measured
    ]


def _alerts(
    table: str,
    feature: str,
    day: dt.date,
    psi_value: float | None,
    p_value: float | None,
    *,
    psi_threshold: float,
    ks_threshold: float,
) -> list[str]:
    alerts = []
    if psi_value is not None and psi_value > psi_threshold:
        alerts.append(f"{table}.{feature} on {day}: PSI {psi_value:.4f} > {psi_threshold}")
    if p_value is not None and p_value < ks_threshold:
        alerts.append(f"{table}.{feature} on {day}: KS p-value {p_value:.3g} < {ks_threshold:.3g}")
    return alerts
