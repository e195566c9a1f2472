"""Shared by the offline-store tests: small feature tables of the real schemas and a Feast repo on them.

The repo is a copy of feature_defs/ (same entities, views, service and offline store) whose registry
and online store (SQLite; the offline store never touches it) live under the test's temporary folder.
It is built once per test session at a fixed place, because Feast imports the repo's modules by
their bare names (`entities`, `sources`), which Python caches for the whole process.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml
from feast.repo_config import load_repo_config
from feast.repo_operations import apply_total

from conftest import feast_regex_setting_restored
from jobs.config import REPO_ROOT
from jobs.schemas import MERCHANT_RISK_FEATURES, USER_TRANSACTION_FEATURES

UTC = dt.UTC


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


C1, C2 = ts("2026-03-01 01:00:00"), ts("2026-03-01 02:00:00")

# (user_id, event_timestamp, created_timestamp, count, avg, max, unique, gap)
USER_ROWS = [
    ("user_001", ts("2026-03-01 00:00:00"), C1, 3, 10.0, 20.0, 2, 60.0),
    ("user_001", ts("2026-03-01 00:00:00"), C2, 4, 11.0, 21.0, 3, 61.0),  # same instant, created later: wins
    ("user_001", ts("2026-03-05 00:00:00"), C1, 5, 12.0, 22.0, 4, 62.0),
    ("user_001", ts("2026-03-06 00:00:00"), C1, 9, 19.0, 29.0, 9, 69.0),  # after every entity row: unused
    ("user_002", ts("2026-02-23 14:30:00"), C1, 2, 5.0, 6.0, 1, None),  # exactly t - 7 days: included
    ("user_003", ts("2026-02-24 09:14:59"), C1, 7, 7.0, 7.0, 1, None),  # one second outside the TTL
]
# (merchant_id, event_timestamp, created_timestamp, total, avg, chargeback_rate, risk_score)
MERCHANT_ROWS = [
    ("merch_100", ts("2026-02-15 00:00:00"), C1, 10, 50.0, 0.1, 0.01),
    ("merch_100", ts("2026-03-02 00:00:00"), C1, 20, 55.0, 0.2, 0.02),
    ("merch_300", ts("2026-03-05 16:45:00"), C1, 30, 60.0, 0.3, 0.03),  # exactly at t: included
]

# The guide's entity rows and, for each, the expected features (worked out by hand from the rows above
# with FEATURES.md's rule): count, avg, max, unique, chargeback_rate, risk_score.
GUIDE_EXPECTED = {
    ("user_001", ts("2026-03-01 10:00:00")): (4, 11.0, 21.0, 3, 0.1, 0.01),
    ("user_002", ts("2026-03-02 14:30:00")): (2, 5.0, 6.0, 1, None, None),
    ("user_003", ts("2026-03-03 09:15:00")): (None, None, None, None, 0.2, 0.02),
    ("user_001", ts("2026-03-05 16:45:00")): (5, 12.0, 22.0, 4, 0.3, 0.03),
}


def write_feature_tables(spark, root: Path, *, user_rows=USER_ROWS, merchant_rows=MERCHANT_ROWS) -> None:
    def with_snapshot(row):
        return (*row, (row[1] - dt.timedelta(days=1)).date())

    users = spark.createDataFrame([with_snapshot(r) for r in user_rows], USER_TRANSACTION_FEATURES)
    merchants = spark.createDataFrame([with_snapshot(r) for r in merchant_rows], MERCHANT_RISK_FEATURES)
    for frame, name in ((users, "user_transaction_features"), (merchants, "merchant_risk_features")):
        frame.write.format("delta").mode("overwrite").partitionBy("snapshot_date").save(str(root / name))


def feast_repo(spark, base: Path, *, extra_services: str = "") -> Path:
    """feature_defs/ copied under `base`, its tables written and `feast apply` done (once per `base`).
    `extra_services` is Python appended to the copy's services.py (more services on the same views)."""
    repo = base / "feature_repo"
    registry = base / "feast" / "registry.db"
    if registry.exists():
        return repo
    write_feature_tables(spark, base / "features")
    shutil.copytree(REPO_ROOT / "feature_defs", repo, ignore=shutil.ignore_patterns("__pycache__", "data"))
    settings = yaml.safe_load((REPO_ROOT / "feature_defs" / "feature_store.yaml").read_text())
    settings["registry"]["path"] = str(registry)
    settings["online_store"] = {"type": "sqlite", "path": str(base / "online.db")}
    (repo / "feature_store.yaml").write_text(yaml.safe_dump(settings))
    if extra_services:
        with (repo / "services.py").open("a") as services:
            services.write(extra_services)
    apply_repo(repo, base / "features")
    return repo


def apply_repo(repo: Path, tables: Path) -> None:
    """`feast apply` of `repo` with its sources on `tables` (again after its files were edited)."""
    # Point the copy's sources at these tables only while applying: the process-wide environment,
    # sys.path and imported repo modules must not leak into other tests' Feast repos.
    repo_modules = ("entities", "sources", "features", "services")
    previous = os.environ.get("FRAUD_FEATURE_TABLES")
    os.environ["FRAUD_FEATURE_TABLES"] = str(tables)
    sys.path.append(str(repo))  # as `feast apply` does (repo_operations.cli_check_repo)
    for name in repo_modules:
        sys.modules.pop(name, None)  # the copy's modules, not ones another test imported
    try:
        with feast_regex_setting_restored():  # source validation goes through Feast's Spark store
            apply_total(load_repo_config(repo, repo / "feature_store.yaml"), repo, skip_source_validation=False)
    finally:
        sys.path.remove(str(repo))
        for name in repo_modules:
            sys.modules.pop(name, None)
        if previous is None:
            os.environ.pop("FRAUD_FEATURE_TABLES", None)
        else:
            os.environ["FRAUD_FEATURE_TABLES"] = previous


def user_and_merchant_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """USER_ROWS and MERCHANT_ROWS as pandas frames with the tables' column names (for the oracle)."""
    users = pd.DataFrame(
        USER_ROWS,
        columns=[
            "user_id", "event_timestamp", "created_timestamp", "transaction_count_7d", "transaction_amount_avg_7d",
            "transaction_amount_max_7d", "unique_merchants_7d", "avg_time_between_transactions",
        ],
    )  # fmt: skip
    merchants = pd.DataFrame(
        MERCHANT_ROWS,
        columns=[
            "merchant_id", "event_timestamp", "created_timestamp", "total_transactions_30d", "avg_transaction_amount",
            "chargeback_rate_30d", "risk_score",
        ],
    )  # fmt: skip
    return users, merchants
