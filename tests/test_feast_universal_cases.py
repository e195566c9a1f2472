"""The cases of Feast's own historical-retrieval suite (test_universal_historical_retrieval.py, read in
Feast's repository; `make feast-suite` runs it itself) on small data, our store against Feast's stock
SparkOfflineStore as the oracle: both stores read the same tables through the same registry, and our
rows must equal Feast's. The data has no exact ties, no non-UTC session and no colliding multi-column
keys, the cases where Feast's stock store is wrong (tests/test_feast_offline_store.py covers those).
The backfill and filter_by_created_timestamp cases are in tests/test_feast_offline_store.py.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pandas as pd
import pytest
from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, RequestSource, ValueType
from feast.errors import RequestDataNotFoundInEntityDfException
from feast.infra.offline_stores.contrib.spark_offline_store.spark import SparkOfflineStoreConfig
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import (
    SavedDatasetSparkStorage,
    SparkSource,
)
from feast.on_demand_feature_view import on_demand_feature_view
from feast.repo_config import RepoConfig
from feast.types import Float64, Int32, Int64

from conftest import feast_regex_setting_restored
from jobs.offline_store.feast_store import FraudSparkOfflineStoreConfig

pytestmark = pytest.mark.integration  # the Feast SDK against real stores, Feast's stock Spark store as the oracle

UTC = dt.UTC
BASE = dt.datetime(2026, 3, 10, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)

driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
location = Entity(name="location", join_keys=["location_id"], value_type=ValueType.INT64)
val_to_add = RequestSource(name="val_to_add", schema=[Field(name="val_to_add", dtype=Int64)])

VIEW_REFS = [
    "driver_stats:conv_rate",
    "driver_stats:avg_daily_trips",
    "customer_profile:current_balance",
    "customer_profile:lifetime_trip_count",
    "order:order_is_success",
    "global_stats:num_rides",
    "field_mapping:feature_name",
]
ODFV_REFS = ["conv_rate_plus_100:conv_rate_plus_100", "conv_rate_plus_100:conv_rate_plus_val_to_add"]


def _stamped(rng: random.Random, keys: dict[str, list[int]], n: int, hours: int) -> list[dict]:
    """`n` rows at distinct (keys, event) pairs over `hours`, created 0-30 hours after their event."""
    rows, seen = [], set()
    while len(rows) < n:
        key = {name: rng.choice(values) for name, values in keys.items()}
        event = BASE + rng.randint(0, hours) * HOUR
        if (tuple(key.values()), event) in seen:
            continue
        seen.add((tuple(key.values()), event))
        rows.append({**key, "event_timestamp": event, "created": event + rng.randint(0, 30) * HOUR})
    return rows


def write_tables(spark, root: Path, rng: random.Random) -> dict[str, str]:
    """Parquet tables like Feast's universal ones (driver, customer, order, location, global, field
    mapping), small; returns their paths."""
    drivers, customers, locations = [1, 2, 3, 4], [11, 12, 13], [21, 22, 23]
    tables = {
        "driver": [
            {**r, "conv_rate": rng.random(), "avg_daily_trips": rng.randint(0, 99)}
            for r in _stamped(rng, {"driver_id": drivers}, 40, 72)
        ],
        "customer": [
            {**r, "current_balance": rng.random() * 100, "lifetime_trip_count": rng.randint(0, 999)}
            for r in _stamped(rng, {"customer_id": customers}, 30, 72)
        ],
        "order": [
            {**r, "order_is_success": rng.randint(0, 1)}
            for r in _stamped(rng, {"customer_id": customers, "driver_id": drivers}, 30, 72)
        ],
        "location": [
            {**r, "temperature": rng.randint(-5, 30)} for r in _stamped(rng, {"location_id": locations}, 30, 72)
        ],
        "global": [{**r, "num_rides": rng.randint(0, 500)} for r in _stamped(rng, {}, 20, 72)],
        # the source's column is `column_name`; the view's feature `feature_name` (Feast's field mapping)
        "field_mapping": [{**r, "column_name": rng.randint(0, 9)} for r in _stamped(rng, {}, 20, 72)],
    }
    paths = {}
    for name, rows in tables.items():
        paths[name] = str(root / name)
        spark.createDataFrame(pd.DataFrame(rows)).write.parquet(paths[name])
    return paths


def source(name: str, path: str, **kwargs) -> SparkSource:
    return SparkSource(
        name=name,
        path=path,
        file_format="parquet",
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
        **kwargs,
    )


def feature_views(paths: dict[str, str], *, ttl: dt.timedelta | None) -> dict[str, FeatureView]:
    """Feast's universal views; `ttl` for every view but driver_stats (2 hours, as in Feast)."""
    return {
        "driver": FeatureView(
            name="driver_stats",
            entities=[driver],
            ttl=dt.timedelta(hours=2),
            schema=[Field(name="conv_rate", dtype=Float64), Field(name="avg_daily_trips", dtype=Int64)],
            source=source("driver_source", paths["driver"]),
        ),
        "customer": FeatureView(
            name="customer_profile",
            entities=[customer],
            ttl=ttl,
            schema=[Field(name="current_balance", dtype=Float64), Field(name="lifetime_trip_count", dtype=Int64)],
            source=source("customer_source", paths["customer"]),
        ),
        "order": FeatureView(
            name="order",
            entities=[customer, driver],
            ttl=ttl,
            schema=[Field(name="order_is_success", dtype=Int64)],
            source=source("order_source", paths["order"]),
        ),
        "location": FeatureView(
            name="location_stats",
            entities=[location],
            ttl=ttl,
            schema=[Field(name="temperature", dtype=Int64)],
            source=source("location_source", paths["location"]),
        ),
        "global": FeatureView(
            name="global_stats",
            entities=[],
            ttl=ttl,
            schema=[Field(name="num_rides", dtype=Int64)],
            source=source("global_source", paths["global"]),
        ),
        "field_mapping": FeatureView(
            name="field_mapping",
            entities=[],
            ttl=ttl,
            schema=[Field(name="feature_name", dtype=Int64)],
            source=source(
                "field_mapping_source", paths["field_mapping"], field_mapping={"column_name": "feature_name"}
            ),
        ),
    }


def conv_rate_plus_100_view(driver_view: FeatureView):
    @on_demand_feature_view(
        sources=[driver_view, val_to_add],
        schema=[
            Field(name="conv_rate_plus_100", dtype=Float64),
            Field(name="conv_rate_plus_val_to_add", dtype=Float64),
            Field(name="conv_rate_plus_100_rounded", dtype=Int32),
        ],
        mode="pandas",
    )
    def conv_rate_plus_100(inputs: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame()
        out["conv_rate_plus_100"] = inputs["conv_rate"] + 100
        out["conv_rate_plus_val_to_add"] = inputs["conv_rate"] + inputs["val_to_add"]
        out["conv_rate_plus_100_rounded"] = out["conv_rate_plus_100"].round().astype("Int32")
        return out

    return conv_rate_plus_100


def entity_rows(rng: random.Random, n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": range(n),
            "driver_id": [rng.choice([1, 2, 3, 4, 5]) for _ in range(n)],  # 5: no feature row
            "customer_id": [rng.choice([11, 12, 13]) for _ in range(n)],
            "origin_id": [rng.choice([21, 22, 23]) for _ in range(n)],
            "destination_id": [rng.choice([21, 22, 23]) for _ in range(n)],
            "event_timestamp": [
                BASE + rng.randint(-2, 100) * HOUR + rng.randint(0, 59) * dt.timedelta(minutes=1) for _ in range(n)
            ],
            "val_to_add": range(100, 100 + n),
        }
    )


def both_stores(tmp_path: Path, objects: list) -> tuple[FeatureStore, FeatureStore]:
    """Our store and Feast's stock Spark store over one registry holding `objects`."""

    def store(offline_store) -> FeatureStore:
        return FeatureStore(
            config=RepoConfig(
                project="universal",
                registry=str(tmp_path / "registry.db"),
                provider="local",
                offline_store=offline_store,
                online_store={"type": "sqlite", "path": str(tmp_path / "online.db")},
                entity_key_serialization_version=3,
            )
        )

    ours = store(FraudSparkOfflineStoreConfig())
    ours.apply(objects)
    return ours, store(SparkOfflineStoreConfig(spark_conf={"spark.sql.session.timeZone": "UTC"}))


@pytest.fixture
def feast_sql_settings(spark):
    """Feast's stock store sets quotedRegexColumnNames on the session it shares with every test."""
    with feast_regex_setting_restored():
        yield


@pytest.fixture
def universal(spark, tmp_path, feast_sql_settings):
    rng = random.Random(13)
    paths = write_tables(spark, tmp_path / "tables", rng)
    views = feature_views(paths, ttl=dt.timedelta(hours=30))
    odfv = conv_rate_plus_100_view(views["driver"])
    services = [
        FeatureService(name="convrate_plus100", features=[views["driver"][["conv_rate"]], odfv]),
        FeatureService(
            name="entity_mapping",
            features=[
                views["location"].with_name("origin").with_join_key_map({"location_id": "origin_id"}),
                views["location"].with_name("destination").with_join_key_map({"location_id": "destination_id"}),
            ],
        ),
    ]
    ours, stock = both_stores(tmp_path, [driver, customer, location, *views.values(), odfv, *services])
    return ours, stock, entity_rows(rng), views


def normalized(frame: pd.DataFrame, *, sort_by: str | list[str] = "order_id") -> pd.DataFrame:
    """Rows in a fixed order, columns by name, timestamps as UTC instants, numbers as floats (Feast's
    stock store returns nullable ints where ours returns floats with NaN), missing as None."""
    out = frame.sort_values(sort_by).reset_index(drop=True)
    out = out[sorted(out.columns)]
    for name in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[name]):
            out[name] = pd.to_datetime(out[name], utc=True)
        elif pd.api.types.is_numeric_dtype(out[name]):
            out[name] = out[name].astype("float64")
    return out.astype(object).where(out.notna(), None)


def assert_same_rows(ours, stock, *, sort_by: str = "order_id", **request) -> pd.DataFrame:
    got = ours.get_historical_features(**request).to_df()
    expected = stock.get_historical_features(**request).to_df()
    pd.testing.assert_frame_equal(normalized(got, sort_by=sort_by), normalized(expected, sort_by=sort_by))
    return got


@pytest.mark.parametrize("full_feature_names", [True, False])
def test_main_views_odfvs_and_request_data_equal_feasts_engine(universal, full_feature_names):
    """Feast's test_historical_features_main: six views (two keys, entityless, field mapping), an
    on-demand view on request data, in one request."""
    ours, stock, entities, _ = universal
    got = assert_same_rows(
        ours, stock, entity_df=entities, features=VIEW_REFS + ODFV_REFS, full_feature_names=full_feature_names
    )
    assert len(got) == len(entities)
    prefix = "conv_rate_plus_100__" if full_feature_names else ""
    assert f"{prefix}conv_rate_plus_100_rounded" not in got.columns  # test_odfv_projection: not asked, not given


@pytest.mark.parametrize("full_feature_names", [True, False])
def test_feature_service_with_an_odfv_equals_feasts_engine(universal, full_feature_names):
    """Feast's assert_feature_service_correctness: a service with a feature subset and an ODFV."""
    ours, stock, entities, _ = universal
    service = ours.get_feature_service("convrate_plus100")
    assert_same_rows(ours, stock, entity_df=entities, features=service, full_feature_names=full_feature_names)


def test_feature_service_projections_join_one_view_twice_under_mapped_keys(universal):
    """Feast's assert_feature_service_entity_mapping_correctness: one view as `origin` and `destination`,
    each joined on its own entity column."""
    ours, stock, entities, _ = universal
    got = assert_same_rows(
        ours, stock, entity_df=entities, features=ours.get_feature_service("entity_mapping"), full_feature_names=True
    )
    assert not got["origin__temperature"].equals(got["destination__temperature"])


@pytest.mark.parametrize("full_feature_names", [True, False])
def test_odfv_projection_returns_only_the_features_asked(universal, full_feature_names):
    """Feast's test_odfv_projection: one, then two of the ODFV's three outputs."""
    ours, stock, entities, _ = universal
    prefix = "conv_rate_plus_100__" if full_feature_names else ""
    one = assert_same_rows(
        ours, stock, entity_df=entities, features=ODFV_REFS[:1], full_feature_names=full_feature_names
    )
    two = assert_same_rows(ours, stock, entity_df=entities, features=ODFV_REFS, full_feature_names=full_feature_names)
    outputs = {
        f"{prefix}{name}" for name in ("conv_rate_plus_100", "conv_rate_plus_val_to_add", "conv_rate_plus_100_rounded")
    }
    assert outputs & set(one.columns) == {f"{prefix}conv_rate_plus_100"}
    assert outputs & set(two.columns) == {f"{prefix}conv_rate_plus_100", f"{prefix}conv_rate_plus_val_to_add"}


@pytest.mark.parametrize("full_feature_names", [True, False])
def test_entity_rows_from_a_sql_query_equal_feasts_engine(spark, universal, full_feature_names):
    """Feast's test_historical_features_with_entities_from_query: the entity rows as SQL."""
    ours, stock, entities, _ = universal
    spark.createDataFrame(entities.drop(columns=["val_to_add"])).createOrReplaceTempView("universal_orders")
    query = "SELECT order_id, driver_id, customer_id, event_timestamp FROM universal_orders"
    got = assert_same_rows(ours, stock, entity_df=query, features=VIEW_REFS, full_feature_names=full_feature_names)
    assert len(got) == len(entities)


@pytest.mark.parametrize("full_feature_names", [True, False])
def test_views_without_ttl_reach_any_earlier_row_like_feasts_engine(
    spark, tmp_path, feast_sql_settings, full_feature_names
):
    """Feast's test_historical_features_with_no_ttl: TTL 0 (no limit) on every view but driver_stats."""
    rng = random.Random(17)
    paths = write_tables(spark, tmp_path / "tables", rng)
    views = feature_views(paths, ttl=dt.timedelta(seconds=0))
    ours, stock = both_stores(tmp_path, [driver, customer, location, *views.values()])
    entities = entity_rows(rng).assign(event_timestamp=lambda f: f.event_timestamp + 200 * HOUR)  # past every row
    got = assert_same_rows(
        ours, stock, entity_df=entities, features=VIEW_REFS[2:], full_feature_names=full_feature_names
    )
    balance = "customer_profile__current_balance" if full_feature_names else "current_balance"
    assert got[balance].notna().all()  # 100+ hours after the last row, yet found


def test_a_saved_dataset_holds_the_retrieved_rows(spark, universal):
    """Feast's test_historical_features_persisting: create_saved_dataset, then read it back (a saved
    dataset holds the join keys, the timestamp and the features, so the entity rows carry only those)."""
    ours, _, entities, _ = universal
    entities = entities[["driver_id", "customer_id", "event_timestamp"]]
    job = ours.get_historical_features(entity_df=entities, features=VIEW_REFS, full_feature_names=True)
    storage = SavedDatasetSparkStorage(table="universal_saved_dataset")
    spark.sql("DROP TABLE IF EXISTS universal_saved_dataset")
    try:
        saved = ours.create_saved_dataset(from_=job, name="saved", storage=storage, allow_overwrite=True)
        every_column = sorted(job.to_df().columns)
        pd.testing.assert_frame_equal(
            normalized(saved.to_df(), sort_by=every_column), normalized(job.to_df(), sort_by=every_column)
        )
    finally:
        spark.sql("DROP TABLE IF EXISTS universal_saved_dataset")


@pytest.mark.parametrize("full_feature_names", [True, False])
def test_a_source_field_mapping_names_the_join_key(spark, tmp_path, feast_sql_settings, full_feature_names):
    """Feast's test_historical_features_field_mapping: the source's `id` column is the view's driver_id."""
    now = BASE
    table = str(tmp_path / "drivers")
    spark.createDataFrame(
        pd.DataFrame(
            [
                {"id": 1001, "avg_daily_trips": 20, "event_timestamp": now, "created": now + 24 * HOUR},
                {"id": 1002, "avg_daily_trips": 40, "event_timestamp": now + 24 * HOUR, "created": now},
            ]
        )
    ).write.parquet(table)
    view = FeatureView(
        name="driver_stats",
        entities=[driver],
        schema=[Field(name="avg_daily_trips", dtype=Int64)],
        source=source("drivers", table, field_mapping={"id": "driver_id"}),
    )
    ours, stock = both_stores(tmp_path, [driver, view])
    entities = pd.DataFrame({"order_id": [0, 1], "driver_id": [1001, 1002], "event_timestamp": [now + 48 * HOUR] * 2})
    got = assert_same_rows(
        ours,
        stock,
        entity_df=entities,
        features=["driver_stats:avg_daily_trips"],
        full_feature_names=full_feature_names,
    )
    column = "driver_stats__avg_daily_trips" if full_feature_names else "avg_daily_trips"
    assert list(got.sort_values("order_id")[column]) == [20, 40]


def test_a_feature_the_view_lacks_is_a_key_error_even_on_a_shared_source(universal):
    """Feast's test_historical_features_with_shared_batch_source: two views on one source."""
    ours, _, entities, views = universal
    narrow = FeatureView(
        name="driver_stats_v1",
        entities=[driver],
        schema=[Field(name="avg_daily_trips", dtype=Int64)],
        source=views["driver"].batch_source,
    )
    ours.apply([narrow])
    with pytest.raises(KeyError):
        ours.get_historical_features(entity_df=entities, features=["driver_stats_v1:conv_rate"]).to_df()


def test_an_odfv_without_its_request_data_is_refused(universal):
    """Feast's test_historical_features_with_missing_request_data."""
    ours, _, entities, _ = universal
    with pytest.raises(RequestDataNotFoundInEntityDfException):
        ours.get_historical_features(entity_df=entities.drop(columns=["val_to_add"]), features=ODFV_REFS)
