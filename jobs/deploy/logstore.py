"""Delta on S3 from several drivers: commits must be exclusive, which S3 alone does not guarantee to Delta.

A retried EMR step can overlap an attempt that is still running. Delta's default S3 log store assumes a
single writer; Delta's S3DynamoDBLogStore makes each commit a conditional put in a DynamoDB table, so the
second writer gets a conflict (and the job exits 3) instead of overwriting the first one's commit.
"""

from __future__ import annotations

import dataclasses

from jobs.config import Config
from jobs.errors import ConfigError

LOG_STORE_CLASS = "io.delta.storage.S3DynamoDBLogStore"
S3_SCHEMES = ("s3", "s3a")
# Delta reads these with the spark. prefix from the session's Hadoop configuration (S3DynamoDBLogStore.getParam).
LOG_STORE_PREFIX = f"spark.{LOG_STORE_CLASS}"
TABLE_NAME_KEY = f"{LOG_STORE_PREFIX}.ddb.tableName"
REGION_KEY = f"{LOG_STORE_PREFIX}.ddb.region"


def log_store_key(scheme: str) -> str:
    return f"spark.delta.logStore.{scheme}.impl"


def s3_tables(config: Config) -> dict[str, str]:
    return {
        name: location
        for name, location in dataclasses.asdict(config.tables).items()
        if location.split("://", 1)[0] in S3_SCHEMES
    }


def check_exclusive_commits(config: Config) -> None:
    """Refuse a configuration that writes Delta tables on S3 without the DynamoDB-backed log store."""
    tables = s3_tables(config)
    if not tables:
        return
    settings = config.spark.conf
    for scheme in sorted({location.split("://", 1)[0] for location in tables.values()} | set(S3_SCHEMES)):
        if settings.get(log_store_key(scheme)) != LOG_STORE_CLASS:
            raise ConfigError(
                f"tables on S3 ({', '.join(sorted(tables))}) need spark.conf {log_store_key(scheme)}: "
                f"{LOG_STORE_CLASS} so that two drivers cannot both commit the same Delta version"
            )
    for key in (TABLE_NAME_KEY, REGION_KEY):
        if not settings.get(key):
            raise ConfigError(f"tables on S3 need spark.conf {key} (the DynamoDB table of Delta's commit log)")
