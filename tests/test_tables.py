"""jobs.tables: every table's name, setting and partitioning, checked against the places that use the name."""

from __future__ import annotations

import dataclasses

import pytest

from jobs.config import REPO_ROOT, TablesConfig, load_config
from jobs.errors import BadInputError
from jobs.schemas import INGEST_DATE, SNAPSHOT_DATE
from jobs.tables import FEATURE_TABLES, LABELS, RAW_TABLES, TRAINING_SETS_SUITE, feature_table

SETTINGS = {field.name for field in dataclasses.fields(TablesConfig)}


@pytest.mark.parametrize("table", [*RAW_TABLES, LABELS, *FEATURE_TABLES], ids=lambda t: t.name)
def test_every_table_is_located_by_a_tables_setting(table):
    assert table.config_key in SETTINGS
    config = load_config(env="local", overrides=[f"{table.setting}=data/elsewhere/{table.name}"])
    assert table.location(config) == f"{REPO_ROOT}/data/elsewhere/{table.name}"


@pytest.mark.parametrize("name", [t.name for t in (*RAW_TABLES, *FEATURE_TABLES)] + [TRAINING_SETS_SUITE])
def test_every_validated_table_has_a_suite_named_after_it(name):
    assert (REPO_ROOT / "expectations" / f"{name}.py").is_file()


def test_partitions_follow_the_data_layout():
    assert {t.name: t.partition_column for t in (*RAW_TABLES, *FEATURE_TABLES)} == {
        "raw_transactions": INGEST_DATE,
        "raw_chargebacks": INGEST_DATE,
        "user_transaction_features": SNAPSHOT_DATE,
        "merchant_risk_features": SNAPSHOT_DATE,
    }
    assert LABELS.partition_columns == []


def test_an_unknown_feature_table_names_the_known_ones():
    with pytest.raises(BadInputError, match="'users'; known: user_transaction_features, merchant"):
        feature_table("users")
