"""Contract: the Feast repo in feature_defs/ agrees with jobs/schemas.py and with the guide."""

from __future__ import annotations

import datetime as dt
import os
import sys

import pytest
import yaml
from feast.repo_operations import parse_repo
from feast.types import Float32, Int64, String
from pyspark.sql import types as T

from jobs.config import REPO_ROOT
from jobs.schemas import SNAPSHOT_DATE
from jobs.tables import FEATURE_TABLES

REPO = REPO_ROOT / "feature_defs"
REPO_MODULES = ("entities", "sources", "features", "services")
FEAST_TYPE = {T.LongType(): Int64, T.FloatType(): Float32, T.StringType(): String}


@pytest.fixture(scope="module")
def contents():
    """Parse the repo as `feast apply` does (from inside it), then forget its bare-named modules again."""
    sys.path.append(str(REPO))
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        yield parse_repo(REPO)
    finally:
        os.chdir(cwd)
        sys.path.remove(str(REPO))
        for name in REPO_MODULES:
            sys.modules.pop(name, None)


def views(contents):
    return {v.name: v for v in contents.feature_views}


@pytest.mark.parametrize("table", FEATURE_TABLES, ids=lambda t: t.name)
def test_view_fields_match_the_table_schema(contents, table):
    name, schema = table.name, table.schema
    view = views(contents)[name]
    source = view.batch_source
    join_key = {e.name: e.join_key for e in contents.entities}
    keys = [join_key[e] for e in view.entities]  # entity_columns are only filled in at apply
    not_features = {*keys, source.timestamp_field, source.created_timestamp_column, SNAPSHOT_DATE}
    table_features = {f.name: FEAST_TYPE[f.dataType] for f in schema.fields if f.name not in not_features}
    assert {f.name: f.dtype for f in view.features} == table_features
    assert {k: schema[k].dataType for k in keys} == {k: T.StringType() for k in keys}
    assert (source.timestamp_field, source.created_timestamp_column) == ("event_timestamp", "created_timestamp")
    assert {"event_timestamp", "created_timestamp"} <= set(schema.names)
    assert source.table_format.format_type.value == "delta"
    assert source.path.endswith(f"/{name}")


def test_views_as_in_the_guide(contents):
    got = {n: (v.ttl, v.entities, v.tags, v.online) for n, v in views(contents).items()}
    assert got == {
        "user_transaction_features": (
            dt.timedelta(days=7),
            ["user_id"],
            {"team": "fraud-detection", "version": "v2"},
            True,
        ),
        "merchant_risk_features": (
            dt.timedelta(days=30),
            ["merchant_id"],
            {"team": "fraud-detection", "version": "v1"},
            True,
        ),
    }
    assert sorted((e.name, e.join_key) for e in contents.entities if e.name != "__dummy") == [
        ("merchant_id", "merchant_id"),
        ("user_id", "user_id"),
    ]


def test_feature_service_fraud_detection_v2(contents):
    (service,) = contents.feature_services
    assert service.name == "fraud_detection_v2"
    assert service.tags == {"model": "fraud_detector_v2", "owner": "ml-team"}
    assert {p.name: len(p.features) for p in service.feature_view_projections} == {
        "user_transaction_features": 5,
        "merchant_risk_features": 4,
    }


def test_repo_configuration():
    settings = yaml.safe_load((REPO / "feature_store.yaml").read_text())
    assert settings["project"] == "fraud_detection"
    assert settings["offline_store"]["type"] == "jobs.offline_store.feast_store.FraudSparkOfflineStore"
    assert (REPO / settings["registry"]["path"]).resolve() == (REPO_ROOT / "data/feast/registry.db").resolve()
    assert "examples/" in (REPO / ".feastignore").read_text().split()


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ("fraud.features", {"table": "fraud.features.user_transaction_features", "path": None}),
        ("s3://lake/features/", {"table": None, "path": "s3://lake/features/user_transaction_features"}),
    ],
)
def test_sources_read_catalog_tables_or_paths(monkeypatch, tables, expected):
    """FRAUD_FEATURE_TABLES without a slash is a schema: the sources name its tables; with one, a folder."""
    import importlib.util

    monkeypatch.setenv("FRAUD_FEATURE_TABLES", tables)
    spec = importlib.util.spec_from_file_location("sources_under_test", REPO / "sources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = module.user_transactions_source
    assert {"table": source.table or None, "path": source.path or None} == expected
    assert source.table_format.format_type.value == "delta"
