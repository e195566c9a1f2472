"""Table identity: each table's name, the `tables.*` setting that locates it, and how it is partitioned.

A table's name is also the name of its Great Expectations suite (`expectations/<name>.py`) and, for the
feature tables, of its Feast feature view and the last part of its location (feature_defs/sources.py).
Everything that maps between these goes through this module.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pyspark.sql import types as T

from jobs.errors import BadInputError
from jobs.schemas import INGEST_DATE, MERCHANT_RISK_FEATURES, SNAPSHOT_DATE, USER_TRANSACTION_FEATURES

if TYPE_CHECKING:  # jobs.config checks window settings against these tables (jobs.feature_windows)
    from jobs.config import Config


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    config_key: str
    partition_column: str | None
    schema: T.StructType | None = None

    @property
    def setting(self) -> str:
        return f"tables.{self.config_key}"

    @property
    def partition_columns(self) -> list[str]:
        return [self.partition_column] if self.partition_column else []

    def location(self, config: Config) -> str:
        """The configured path or catalog name of the table."""
        return str(getattr(config.tables, self.config_key))


RAW_TRANSACTIONS = Table("raw_transactions", "raw_transactions", INGEST_DATE)
RAW_CHARGEBACKS = Table("raw_chargebacks", "raw_chargebacks", INGEST_DATE)
LABELS = Table("labels", "labels", None)
USER_FEATURES = Table("user_transaction_features", "user_features", SNAPSHOT_DATE, USER_TRANSACTION_FEATURES)
MERCHANT_FEATURES = Table("merchant_risk_features", "merchant_features", SNAPSHOT_DATE, MERCHANT_RISK_FEATURES)

RAW_TABLES = (RAW_TRANSACTIONS, RAW_CHARGEBACKS)
FEATURE_TABLES = (USER_FEATURES, MERCHANT_FEATURES)
# The suite of training sets, which live under `tables.training_sets/<name>`, not at one configured location.
TRAINING_SETS_SUITE = "training_sets"


def feature_table(name: str) -> Table:
    for table in FEATURE_TABLES:
        if table.name == name:
            return table
    raise BadInputError(f"unknown feature table {name!r}; known: {', '.join(names(FEATURE_TABLES))}")


def names(tables: tuple[Table, ...]) -> list[str]:
    return [table.name for table in tables]


def feature_table_names(text: str, *, option: str = "--tables") -> list[str]:
    """The feature tables of a command's comma-separated `option`, in its order; a name that is not a
    feature table, or none at all, is bad input naming the option and the known tables."""
    chosen = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    known = names(FEATURE_TABLES)
    unknown = sorted(set(chosen) - set(known))
    if unknown or not chosen:
        raise BadInputError(f"{option}: unknown feature table(s) {unknown}; known: {', '.join(known)}")
    return chosen
