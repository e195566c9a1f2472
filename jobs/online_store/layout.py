"""What the Spark side and the executors need to know about one feature view, read once from Feast.

A `ViewLayout` is a small frozen dataclass (it is pickled to every Python worker), so the workers
never import Feast. `layout_from_feature_view` runs on the driver and uses Feast's own table naming.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jobs.errors import BadInputError
from jobs.online_store.encoding import FEATURE_TYPES, JOIN_KEY_TYPES


@dataclasses.dataclass(frozen=True)
class SourceRef:
    """Where a view's rows live: a Delta/Parquet path, a catalog table or a query."""

    kind: str  # "path" | "table" | "query"
    ref: str
    file_format: str  # "delta", "parquet", ... (for kind == "path")


@dataclasses.dataclass(frozen=True)
class ViewLayout:
    name: str
    table_name: str
    join_keys: tuple[tuple[str, str], ...]  # (join key, Feast value type name), sorted by join key
    features: tuple[tuple[str, str], ...]  # (feature name, Feast value type name), in view order
    ttl_seconds: int  # 0: no TTL, as in Feast
    timestamp_field: str
    created_timestamp_column: str | None
    source: SourceRef
    field_mapping: tuple[tuple[str, str], ...] = ()  # (source column, feature or key name)

    @property
    def join_key_names(self) -> list[str]:
        return [name for name, _ in self.join_keys]

    @property
    def feature_names(self) -> list[str]:
        return [name for name, _ in self.features]


def layout_from_feature_view(feature_view: Any, repo_config: Any) -> ViewLayout:
    """Describe a registered Feast FeatureView; the table name comes from Feast's own template logic."""
    from feast.infra.online_stores.dynamodb import _get_table_name

    join_keys = tuple(sorted((f.name, f.dtype.to_value_type().name) for f in feature_view.entity_columns))
    features = tuple((f.name, f.dtype.to_value_type().name) for f in feature_view.features)
    for name, value_type in join_keys:
        if value_type not in JOIN_KEY_TYPES:
            raise BadInputError(f"feature view {feature_view.name}: join key {name} has unsupported type {value_type}")
    for name, value_type in features:
        if value_type not in FEATURE_TYPES:
            raise BadInputError(f"feature view {feature_view.name}: feature {name} has unsupported type {value_type}")
    source = feature_view.batch_source
    ttl = feature_view.ttl
    return ViewLayout(
        name=feature_view.name,
        table_name=_get_table_name(repo_config.online_store, repo_config, feature_view),
        join_keys=join_keys,
        features=features,
        ttl_seconds=int(ttl.total_seconds()) if ttl else 0,
        timestamp_field=source.timestamp_field,
        created_timestamp_column=source.created_timestamp_column or None,
        source=_source_ref(feature_view.name, source),
        field_mapping=tuple(sorted((source.field_mapping or {}).items())),
    )


def _source_ref(view: str, source: Any) -> SourceRef:
    table = getattr(source, "table", None)
    if table:
        return SourceRef("table", table, "")
    query = getattr(source, "query", None)
    if query:
        return SourceRef("query", query, "")
    path = getattr(source, "path", None)
    if path:
        table_format = getattr(source, "table_format", None)
        file_format = getattr(source, "file_format", None)
        fmt = "delta" if type(table_format).__name__ == "DeltaFormat" else str(file_format or "parquet")
        return SourceRef("path", path, fmt)
    raise BadInputError(f"feature view {view}: its batch source {type(source).__name__} names no table, query or path")
