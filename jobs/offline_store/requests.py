"""From a training-set request (entity schema, feature refs, Feast feature views) to `ViewJoin`s.

Everything here that validates works on names and schemas only, so bad input is reported before
Spark runs a job: unknown views or features, an empty feature list, missing entity or timestamp
columns, a timestamp column of the wrong type, output columns that collide with entity columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from feast import FeatureView
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from jobs import delta_io
from jobs.errors import BadInputError
from jobs.offline_store.pit_join import ViewJoin

DEFAULT_TIMESTAMP_COLUMN = "event_timestamp"


@dataclasses.dataclass(frozen=True)
class ViewRequest:
    """The features asked of one view, in the order asked."""

    view: FeatureView
    features: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.view.projection.name_to_use()

    @property
    def source(self) -> SparkSource:
        source = self.view.batch_source
        if not isinstance(source, SparkSource):
            raise BadInputError(f"feature view {self.view.name}: the offline store reads SparkSource, got {source!r}")
        return source

    def join_keys(self) -> tuple[str, ...]:
        """Entity-side column names (after the projection's join key map)."""
        return tuple(self.view.projection.join_key_map.get(c.name, c.name) for c in self.view.entity_columns)

    def output_columns(self, *, full_feature_names: bool) -> tuple[str, ...]:
        return tuple(f"{self.name}__{f}" if full_feature_names else f for f in self.features)


def parse_feature_refs(refs: Iterable[str]) -> list[tuple[str, str]]:
    parsed = []
    for ref in refs:
        view, sep, feature = ref.strip().partition(":")
        if not sep or not view or not feature or ":" in feature:
            raise BadInputError(f"feature reference {ref!r} is not of the form view:feature")
        parsed.append((view, feature))
    if not parsed:
        raise BadInputError("the feature list is empty: give a feature service or at least one view:feature")
    return parsed


def resolve_requests(views: Mapping[str, FeatureView], refs: Iterable[str]) -> list[ViewRequest]:
    """Group refs by view, in order of first mention; every view and feature must exist."""
    wanted: dict[str, list[str]] = {}
    for view_name, feature in parse_feature_refs(refs):
        wanted.setdefault(view_name, [])
        if feature not in wanted[view_name]:
            wanted[view_name].append(feature)
    unknown_views = sorted(set(wanted) - set(views))
    if unknown_views:
        raise BadInputError(f"unknown feature view(s) {', '.join(unknown_views)}; known: {', '.join(sorted(views))}")
    requests = []
    for view_name, features in wanted.items():
        view = views[view_name]
        known = [f.name for f in view.features]
        unknown = [f for f in features if f not in known]
        if unknown:
            raise BadInputError(
                f"feature view {view_name} has no feature(s) {', '.join(unknown)}; it has {', '.join(known)}"
            )
        requests.append(ViewRequest(view=view, features=tuple(features)))
    return requests


def validate_entity_schema(
    schema: T.StructType,
    requests: Sequence[ViewRequest],
    *,
    timestamp_column: str,
    full_feature_names: bool,
    source_name: str,
) -> None:
    """Raise `BadInputError` naming the table and column when the entity rows cannot be joined."""
    validate_entity_columns(
        schema,
        join_keys=[k for r in requests for k in r.join_keys()],
        output_columns=[c for r in requests for c in r.output_columns(full_feature_names=full_feature_names)],
        timestamp_column=timestamp_column,
        source_name=source_name,
    )


def validate_entity_columns(
    schema: T.StructType,
    *,
    join_keys: Sequence[str],
    output_columns: Sequence[str],
    timestamp_column: str,
    source_name: str,
) -> None:
    columns = {f.name: f.dataType for f in schema.fields}
    needed = [timestamp_column, *dict.fromkeys(join_keys)]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise BadInputError(
            f"entity rows {source_name}: missing column(s) {', '.join(missing)} "
            f"(has {', '.join(columns) or 'no columns'})"
        )
    if not isinstance(columns[timestamp_column], T.TimestampType):
        raise BadInputError(
            f"entity rows {source_name}: column {timestamp_column} must be a timestamp (UTC instant), "
            f"got {columns[timestamp_column].simpleString()}"
        )
    outputs = list(output_columns)
    clashes = sorted({c for c in outputs if c in columns or outputs.count(c) > 1})
    if clashes:
        raise BadInputError(
            f"entity rows {source_name}: output column(s) {', '.join(clashes)} collide with entity columns or each "
            "other; use full feature names"
        )


def source_id(source: SparkSource) -> str:
    """What identifies a view's table in recorded versions: its path or catalog table name."""
    if source.path:
        return source.path
    if source.table:
        return source.table
    raise BadInputError(f"source {source.name} is a query; only path or table sources can be read at a version")


def is_delta(source: SparkSource) -> bool:
    table_format = source.table_format
    return (table_format is not None and table_format.format_type.value == "delta") or source.file_format == "delta"


def read_source(spark: SparkSession, source: SparkSource, *, version: int | None = None) -> DataFrame:
    """A view's source rows, at a Delta version when one is given."""
    if not isinstance(source, SparkSource):
        raise BadInputError(f"source {source.name} is a {type(source).__name__}; the offline store reads SparkSource")
    reader = spark.read
    if version is not None:
        if not is_delta(source):
            raise BadInputError(f"source {source.name} is not a Delta table; it cannot be read at version {version}")
        reader = reader.option("versionAsOf", version)
    if source.table:
        return reader.table(source.table)
    if source.query:
        return spark.sql(source.query)
    if source.table_format is not None:
        reader = reader.format(source.table_format.format_type.value)
        for key, value in source.table_format.properties.items():
            reader = reader.option(key, value)
    else:
        reader = reader.format(source.file_format)
    return reader.load(source.path)


def build_view_joins(
    spark: SparkSession,
    requests: Sequence[ViewRequest],
    *,
    full_feature_names: bool,
    versions: Mapping[str, int] | None = None,
    filter_by_created_timestamp: bool = False,
) -> list[ViewJoin]:
    """One `ViewJoin` per request; `versions` maps `source_id` to the Delta version to read.
    `filter_by_created_timestamp` applies to the views whose source has a created timestamp column
    (Feast leaves the others unaffected)."""
    joins = []
    for request in requests:
        view, source = request.view, request.source
        version = versions.get(source_id(source)) if versions is not None else None
        to_source = {feature: column for column, feature in (source.field_mapping or {}).items()}
        created = (
            to_source.get(source.created_timestamp_column, source.created_timestamp_column)
            if source.created_timestamp_column
            else None
        )
        joins.append(
            ViewJoin(
                name=request.name,
                source=read_source(spark, source, version=version),
                join_keys=request.join_keys(),
                source_join_keys=tuple(to_source.get(c.name, c.name) for c in view.entity_columns),
                features=tuple(to_source.get(f, f) for f in request.features),
                output_columns=request.output_columns(full_feature_names=full_feature_names),
                timestamp_field=to_source.get(source.timestamp_field, source.timestamp_field),
                created_timestamp_field=created,
                ttl_seconds=int(view.ttl.total_seconds()) if view.ttl else 0,
                filter_by_created_timestamp=filter_by_created_timestamp and created is not None,
            )
        )
    return joins


def view_record(join: ViewJoin, table: str) -> dict[str, Any]:
    """What defines one view's part of a training set, as plain data for the output's commit
    metadata, so a rebuild needs no registry: `view_join_from_record` reads it back."""
    return {
        "name": join.name,
        "table": table,
        "join_keys": list(join.join_keys),
        "source_join_keys": list(join.source_join_keys),
        "features": list(join.features),
        "output_columns": list(join.output_columns),
        "timestamp_field": join.timestamp_field,
        "created_timestamp_field": join.created_timestamp_field,
        "ttl_seconds": join.ttl_seconds,
        "filter_by_created_timestamp": join.filter_by_created_timestamp,
    }


def view_join_from_record(spark: SparkSession, record: Mapping[str, Any], *, version: int) -> ViewJoin:
    """The `ViewJoin` a `view_record` describes, reading its Delta table at `version`."""
    return ViewJoin(
        name=record["name"],
        source=delta_io.read(spark, record["table"], version=version),
        join_keys=tuple(record["join_keys"]),
        source_join_keys=tuple(record["source_join_keys"]),
        features=tuple(record["features"]),
        output_columns=tuple(record["output_columns"]),
        timestamp_field=record["timestamp_field"],
        created_timestamp_field=record["created_timestamp_field"],
        ttl_seconds=int(record["ttl_seconds"]),
        filter_by_created_timestamp=bool(record["filter_by_created_timestamp"]),
    )
