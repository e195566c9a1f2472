"""Feast offline store whose historical retrieval is our point-in-time join (jobs.offline_store.pit_join).

Configured in feature_store.yaml as

    offline_store:
      type: jobs.offline_store.feast_store.FraudSparkOfflineStore
      jobs_env: local            # conf/<env>.yaml whose Spark settings start a session when none runs
      time_bucket_days: 30       # hot-key time buckets; 0 turns them off
      hot_key_rows: 1000000      # keys with this many rows get buckets; 0: every key

`write_logged_features` (Feast's feature logging, which SparkOfflineStore lacks) appends Parquet
files under the service's FileLoggingDestination (jobs.offline_store.feature_logs). Everything else
(materialization pulls, writes, monitoring) is Feast's SparkOfflineStore. The
session is the active one if there is one (Databricks, a job, spark-submit), otherwise one built
from conf/<jobs_env>.yaml through jobs.session, so Delta works; the config's `spark_conf` is filled
from the same settings so that Feast's own source validation in `feast apply` gets a Delta-capable
session too. Where Spark already has Delta on its classpath and no jars folder exists (Databricks,
or a Python started with `PYSPARK_SUBMIT_ARGS="--jars ... pyspark-shell"`), set `FRAUD_SHIP_JARS=0`
(jobs.config) and the session starts without `spark.jars`.

`get_historical_features(...).to_df()` collects the result (for small training sets);
`.to_spark_df()` returns the lazy Spark DataFrame for big ones; nothing is collected otherwise (the
join's hot-key sample brings only the hot keys themselves to the driver).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow
from feast import FeatureView, OnDemandFeatureView
from feast.feature_logging import LoggingConfig, LoggingSource
from feast.infra.offline_stores.contrib.spark_offline_store.spark import (
    SparkOfflineStore,
    SparkOfflineStoreConfig,
    SparkRetrievalJob,
)
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.registry.base_registry import BaseRegistry
from feast.repo_config import RepoConfig
from pydantic import StrictInt, StrictStr, model_validator
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.errors import BadInputError
from jobs.offline_store import feature_logs
from jobs.offline_store.pit_join import DEFAULT_HOT_KEY_ROWS, build_point_in_time_join
from jobs.offline_store.requests import (
    DEFAULT_TIMESTAMP_COLUMN,
    build_view_joins,
    resolve_requests,
    validate_entity_schema,
)

STORE_TYPE = "jobs.offline_store.feast_store.FraudSparkOfflineStore"
SECONDS_PER_DAY = 86_400


class FraudSparkOfflineStoreConfig(SparkOfflineStoreConfig):
    type: Literal["jobs.offline_store.feast_store.FraudSparkOfflineStore"] = STORE_TYPE  # type: ignore[assignment]
    jobs_env: StrictStr = "local"
    time_bucket_days: StrictInt = 30
    hot_key_rows: StrictInt = DEFAULT_HOT_KEY_ROWS

    @model_validator(mode="after")
    def _with_job_spark_settings(self) -> FraudSparkOfflineStoreConfig:
        from jobs.session import is_jvm_running, session_settings

        spark = _job_spark_config(self.jobs_env)
        # With Spark already running (Databricks, spark-submit, a job's session) its master and
        # classpath stand: no launch settings, so no jars folder is wanted.
        jvm_running = is_jvm_running()
        settings = {"spark.app.name": spark.app_name}
        if spark.master and not jvm_running:
            settings["spark.master"] = spark.master
        self.spark_conf = {
            **settings,
            **session_settings(spark, jvm_running=jvm_running),
            **(self.spark_conf or {}),
        }
        return self

    @property
    def bucket_seconds(self) -> int | None:
        return self.time_bucket_days * SECONDS_PER_DAY or None


class FraudSparkOfflineStore(SparkOfflineStore):
    # Honoured for every view: those without a created timestamp column are unaffected, as in Feast.
    supports_filter_by_created_timestamp = True

    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: list[FeatureView],
        feature_refs: list[str],
        entity_df: pd.DataFrame | str | DataFrame | None,
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        **kwargs: Any,
    ) -> RetrievalJob:
        store_config = config.offline_store
        assert isinstance(store_config, FraudSparkOfflineStoreConfig)
        if entity_df is None:
            raise BadInputError(
                "historical retrieval needs entity rows (entity_df); date-range retrieval is not offered"
            )
        spark = spark_session(store_config)
        entities = entity_frame(spark, entity_df)
        timestamp_column = infer_timestamp_column(entities.schema)
        # Feast's refs name each view as its projection does (an alias from with_name, a version tag);
        # one base view can come twice under different projections, so the base name is no key.
        views = {view.projection.name_to_use(): view for view in feature_views if isinstance(view, FeatureView)}
        fv_refs = [r for r in feature_refs if r.split(":")[0] in views]
        requests = resolve_requests(views, fv_refs)
        validate_entity_schema(
            entities.schema,
            requests,
            timestamp_column=timestamp_column,
            full_feature_names=full_feature_names,
            source_name="entity_df",
        )
        joins = build_view_joins(
            spark,
            requests,
            full_feature_names=full_feature_names,
            filter_by_created_timestamp=filter_by_created_timestamp,
        )
        result = build_point_in_time_join(
            entities,
            joins,
            timestamp_column=timestamp_column,
            bucket_seconds=store_config.bucket_seconds,
            hot_key_rows=store_config.hot_key_rows,
        )
        keys = sorted({k for r in requests for k in r.join_keys()})
        return FraudRetrievalJob(
            spark_session=spark,
            frame=result,
            entity_df=entity_df,
            entities=entities,
            timestamp_column=timestamp_column,
            keys=keys,
            feature_refs=feature_refs,
            full_feature_names=full_feature_names,
            config=config,
            on_demand_feature_views=OnDemandFeatureView.get_requested_odfvs(feature_refs, project, registry),
        )

    @staticmethod
    def write_logged_features(
        config: RepoConfig,
        data: pyarrow.Table | Path,
        source: LoggingSource,
        logging_config: LoggingConfig,
        registry: BaseRegistry,
    ) -> None:
        # SparkOfflineStore has no feature logging: Parquet files, without Spark (jobs.offline_store.feature_logs)
        feature_logs.write_logged_features(config, data, source, logging_config, registry)


class FraudRetrievalJob(SparkRetrievalJob):
    def __init__(
        self,
        *,
        spark_session: SparkSession,
        frame: DataFrame,
        entity_df: Any,
        entities: DataFrame,
        timestamp_column: str,
        keys: list[str],
        feature_refs: list[str],
        full_feature_names: bool,
        config: RepoConfig,
        on_demand_feature_views: list[OnDemandFeatureView],
    ):
        super().__init__(
            spark_session=spark_session,
            query="",
            full_feature_names=full_feature_names,
            config=config,
            on_demand_feature_views=on_demand_feature_views,
        )
        self._frame = frame
        self._entity_df = entity_df
        self._entities = entities
        self._timestamp_column = timestamp_column
        self._keys = keys
        self._feature_refs = feature_refs

    def to_spark_df(self) -> DataFrame:
        return self._frame

    def _to_arrow_internal(self, timeout: int | None = None) -> pyarrow.Table:
        return self._frame.toArrow()

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        frame = self._to_arrow_internal(timeout).to_pandas()
        for name in frame.columns:
            if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
                frame[name] = frame[name].dt.tz_convert("UTC")
        return frame

    @cached_property
    def _metadata_value(self) -> RetrievalMetadata:
        if isinstance(self._entity_df, pd.DataFrame):
            instants = pd.to_datetime(self._entity_df[self._timestamp_column], utc=True)
            low, high = instants.min().to_pydatetime(), instants.max().to_pydatetime()
        else:
            bounds = self._entities.agg(
                F.min(self._timestamp_column).alias("low"), F.max(self._timestamp_column).alias("high")
            ).first()
            low, high = (_as_utc(bounds["low"]), _as_utc(bounds["high"])) if bounds else (None, None)
        return RetrievalMetadata(
            features=self._feature_refs, keys=self._keys, min_event_timestamp=low, max_event_timestamp=high
        )

    @property
    def metadata(self) -> RetrievalMetadata | None:
        """Computed when asked (a Spark job for Spark entity rows), not at every retrieval."""
        return self._metadata_value


def spark_session(store_config: FraudSparkOfflineStoreConfig) -> SparkSession:
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    from jobs.session import build_session

    spark = _job_spark_config(store_config.jobs_env)
    return build_session(dataclasses.replace(spark, conf={**spark.conf, **(store_config.spark_conf or {})}))


def entity_frame(spark: SparkSession, entity_df: pd.DataFrame | str | DataFrame) -> DataFrame:
    """Entity rows as a Spark DataFrame; pandas timestamps without a zone are UTC, as in Feast."""
    if isinstance(entity_df, DataFrame):
        return entity_df
    if isinstance(entity_df, str):
        return spark.sql(entity_df)
    if isinstance(entity_df, pd.DataFrame):
        frame = entity_df.copy()
        for name in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[name]):
                frame[name] = pd.to_datetime(frame[name], utc=True)
        if DEFAULT_TIMESTAMP_COLUMN in frame.columns and not pd.api.types.is_datetime64_any_dtype(
            frame[DEFAULT_TIMESTAMP_COLUMN]
        ):
            frame[DEFAULT_TIMESTAMP_COLUMN] = pd.to_datetime(frame[DEFAULT_TIMESTAMP_COLUMN], utc=True)
        return spark.createDataFrame(frame)
    raise BadInputError(f"entity_df must be a pandas DataFrame, a Spark DataFrame or SQL, got {type(entity_df)}")


def infer_timestamp_column(schema: T.StructType) -> str:
    """`event_timestamp` if present, else the only timestamp column (Feast's rule)."""
    if DEFAULT_TIMESTAMP_COLUMN in schema.names:
        return DEFAULT_TIMESTAMP_COLUMN
    candidates = [f.name for f in schema.fields if isinstance(f.dataType, T.TimestampType)]
    if len(candidates) != 1:
        raise BadInputError(
            f"entity rows need a column {DEFAULT_TIMESTAMP_COLUMN} or exactly one timestamp column, got {candidates}"
        )
    return candidates[0]


def _job_spark_config(env: str) -> Any:
    from jobs.config import load_config

    return load_config(env=env).spark


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC)
