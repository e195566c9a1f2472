"""Monitoring of the feature tables: statistics, drift (PSI, KS, the guide's alerts), skew and freshness.

- `stats`: per-feature statistics and fixed-edge histograms of a snapshot-day range, as Spark
  aggregations (two passes for a baseline/current pair); only the small aggregates reach the driver.
- `drift`: PSI and binned KS from two histograms, the exact two-sample KS statistic in Spark, and
  the guide's `check_drift_alerts` with the configured thresholds.
- `skew`: what the feature service served (Feast's feature logging) against the point-in-time join
  at each request's time, per feature: match, TTL difference or skew.
"""
