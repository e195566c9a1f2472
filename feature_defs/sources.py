"""Sources on the Delta feature tables the `features` job writes.

`FRAUD_FEATURE_TABLES` holds both tables: a folder (or s3:// prefix), giving path sources, or a
catalog schema (`catalog.schema`, no slash: jobs.config.is_table_name), giving table sources
(`SparkSource(table="catalog.schema.user_transaction_features")`, e.g. Unity Catalog on Databricks).
Locally it defaults to the repository's ./data/features, which is where conf/local.yaml puts them.
"""

import os
from pathlib import Path

from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from feast.table_format import DeltaFormat

from jobs.config import is_table_name

_LOCAL_TABLES = Path(__file__).resolve().parent.parent / "data" / "features"
FEATURE_TABLES = os.environ.get("FRAUD_FEATURE_TABLES", str(_LOCAL_TABLES)).rstrip("/")


def feature_table(table: str) -> dict[str, str]:
    """Where the source reads `table`: `table=` a catalog name or `path=` a folder."""
    if is_table_name(FEATURE_TABLES):
        return {"table": f"{FEATURE_TABLES}.{table}"}
    return {"path": f"{FEATURE_TABLES}/{table}"}


user_transactions_source = SparkSource(
    name="user_transactions",
    **feature_table("user_transaction_features"),
    table_format=DeltaFormat(),
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)

merchant_stats_source = SparkSource(
    name="merchant_stats",
    **feature_table("merchant_risk_features"),
    table_format=DeltaFormat(),
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)
