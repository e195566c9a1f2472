"""Sources on the Delta feature tables the `features` job writes.

`FRAUD_FEATURE_TABLES` is the folder (or s3:// prefix) holding both tables; locally it defaults to
the repository's ./data/features, which is where conf/local.yaml puts them.
"""

import os
from pathlib import Path

from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from feast.table_format import DeltaFormat

_LOCAL_TABLES = Path(__file__).resolve().parent.parent / "data" / "features"
FEATURE_TABLES = os.environ.get("FRAUD_FEATURE_TABLES", str(_LOCAL_TABLES)).rstrip("/")

user_transactions_source = SparkSource(
    name="user_transactions",
    path=f"{FEATURE_TABLES}/user_transaction_features",
    table_format=DeltaFormat(),
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)

merchant_stats_source = SparkSource(
    name="merchant_stats",
    path=f"{FEATURE_TABLES}/merchant_risk_features",
    table_format=DeltaFormat(),
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)
