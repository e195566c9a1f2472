"""Shared by the online-store tests: a throwaway copy of the Feast repo with tiny Delta feature tables.

`OnlineRepo` copies feature_defs/ into a temporary folder, so its feature_store.yaml resolves the
registry (../data/feast/registry.db) and the sources (../data/features/...) inside that folder,
exactly as the real repository does, and the guide's inference.py runs there unchanged.
The oracle is brute force from FEATURES.md and the issue: per entity, the row with the greatest
event_timestamp in [start, end] and >= end - TTL, ties by the greatest created_timestamp.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.config import REPO_ROOT, Config, load_config
from jobs.schemas import MERCHANT_RISK_FEATURES, USER_TRANSACTION_FEATURES

USER_FEATURES = ["transaction_count_7d", "transaction_amount_avg_7d", "transaction_amount_max_7d"]
USER_FEATURES += ["unique_merchants_7d", "avg_time_between_transactions"]
MERCHANT_FEATURES = ["chargeback_rate_30d", "avg_transaction_amount", "total_transactions_30d", "risk_score"]
INT64_FEATURES = {"transaction_count_7d", "unique_merchants_7d", "total_transactions_30d"}
TTL = {"user_transaction_features": dt.timedelta(days=7), "merchant_risk_features": dt.timedelta(days=30)}
KEY = {"user_transaction_features": "user_id", "merchant_risk_features": "merchant_id"}
FEATURES = {"user_transaction_features": USER_FEATURES, "merchant_risk_features": MERCHANT_FEATURES}


def day(d: int, month: int = 3, hour: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, d, hour, 0, second)


def user_row(user, event, count, avg, mx, unique, gap, created=None):
    created = created or event + dt.timedelta(hours=1)
    snapshot = (event - dt.timedelta(days=1)).date()
    return (user, event, created, count, avg, mx, unique, gap, snapshot)


def merchant_row(merchant, event, count, avg, rate, risk, created=None):
    created = created or event + dt.timedelta(hours=2)
    snapshot = (event - dt.timedelta(days=1)).date()
    return (merchant, event, created, count, avg, rate, risk, snapshot)


@dataclasses.dataclass
class OnlineRepo:
    root: Path

    @property
    def repo_path(self) -> Path:
        return self.root / "feature_defs"

    @property
    def registry(self) -> Path:
        return self.root / "data" / "feast" / "registry.db"

    def table_path(self, view: str) -> str:
        return str(self.root / "data" / "features" / view)

    def config(self, endpoint: str, *extra: str) -> Config:
        return load_config(env="local", overrides=[*self.overrides(endpoint), *extra])

    def overrides(self, endpoint: str) -> list[str]:
        return [
            f"feast.repo_path={self.repo_path}",
            f"feast.registry={self.registry}",
            f"online_store.endpoint={endpoint}",
            f"tables.user_features={self.table_path('user_transaction_features')}",
            f"tables.merchant_features={self.table_path('merchant_risk_features')}",
            f"monitoring.profiles_table={self.root / 'data' / 'monitoring' / 'profiles'}",
            f"monitoring.checks_table={self.root / 'data' / 'monitoring' / 'checks'}",
        ]

    def cli_overrides(self, endpoint: str) -> list[str]:
        return [arg for o in self.overrides(endpoint) for arg in ("--set", o)]

    def write(self, spark, view: str, rows: list[tuple], mode: str = "overwrite") -> None:
        schema = USER_TRANSACTION_FEATURES if view == "user_transaction_features" else MERCHANT_RISK_FEATURES
        frame = spark.createDataFrame(rows, schema)
        frame.write.format("delta").mode(mode).partitionBy("snapshot_date").save(self.table_path(view))


def make_repo(root: Path) -> OnlineRepo:
    shutil.copytree(
        REPO_ROOT / "feature_defs", root / "feature_defs", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return OnlineRepo(root)


def oracle(rows: list[tuple], view: str, *, start: dt.datetime, end: dt.datetime) -> dict[str, dict]:
    """Latest row per entity in the window, bounded by the view's TTL: {entity: {feature: value}}."""
    columns = ["key", "event", "created", *_feature_columns(view), "snapshot"]
    frame = pd.DataFrame(rows, columns=columns)
    lower = max(start, end - TTL[view])
    frame = frame[(frame["event"] >= lower) & (frame["event"] <= end)]
    expected = {}
    for key, group in frame.groupby("key"):
        best = group.sort_values(["event", "created"]).iloc[-1]
        expected[key] = {f: _as_served(f, best[f]) for f in FEATURES[view]}
    return expected


def _feature_columns(view: str) -> list[str]:
    if view == "user_transaction_features":
        return USER_FEATURES
    return ["total_transactions_30d", "avg_transaction_amount", "chargeback_rate_30d", "risk_score"]


def _as_served(feature: str, value):
    """Feast serves Int64 features as int and Float32 features as the float32 value, nulls as None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if feature in INT64_FEATURES:
        return int(value)
    return float(np.float32(value))
