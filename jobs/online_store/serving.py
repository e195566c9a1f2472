"""Serve a feature service through Feast and log what was served (Feast's feature logging).

`get_online_features_logged(store, "fraud_detection_v2", entity_rows)` is
`store.get_online_features(features=<the service>, entity_rows=...)` plus one log row per entity
row, in the shape Feast's logging defines for the service (`FeatureServiceLoggingSource`): the join
keys, per feature its value, the event timestamp of the online item it came from and Feast's
`FieldStatus`, the request time (`__log_timestamp`, taken before the read: the instant the model
asked), its day and a request id; written with `FeatureStore.write_logged_features` to the
service's `logging_config` destination. Feast's Python SDK logs nothing by itself (only its Go
feature server does), hence this helper on the guide's inference path. `monitor skew` joins those
rows back to the offline store at the request time.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa


def get_online_features_logged(
    store: Any, service_name: str, entity_rows: Sequence[Mapping[str, Any]], *, request_id: str | None = None
) -> Any:
    """Feast's OnlineResponse for the service's features; the request is logged unless sampled out."""
    from feast.feature_logging import (
        LOG_DATE_FIELD,
        LOG_TIMESTAMP_FIELD,
        REQUEST_ID_FIELD,
        FeatureServiceLoggingSource,
    )

    service = store.get_feature_service(service_name)
    requested_at = dt.datetime.now(dt.UTC)
    response = store.get_online_features(features=service, entity_rows=list(entity_rows))
    logging = service.logging_config
    if logging is None or random.random() >= logging.sample_rate:
        return response
    schema = FeatureServiceLoggingSource(service, store.project).get_schema(store.registry)
    served = _served_columns(response)
    rows = len(entity_rows)
    columns: dict[str, list[Any]] = {}
    for projection in service.feature_view_projections:
        for feature in projection.features:
            values, timestamps, statuses = served[feature.name]
            column = f"{projection.name_to_use()}__{feature.name}"
            columns[column] = values
            columns[f"{column}__timestamp"] = timestamps
            columns[f"{column}__status"] = statuses
    system: dict[str, list[Any]] = {
        LOG_TIMESTAMP_FIELD: [requested_at] * rows,
        LOG_DATE_FIELD: [requested_at.date()] * rows,
        REQUEST_ID_FIELD: [request_id or uuid.uuid4().hex] * rows,
    }
    for field in schema:
        if field.name in system:
            columns[field.name] = system[field.name]
        elif field.name not in columns:  # a join key
            columns[field.name] = [row.get(field.name) for row in entity_rows]
    store.write_logged_features(logs=pa.Table.from_pydict(columns, schema=schema), source=service)
    return response


def _served_columns(response: Any) -> dict[str, tuple[list[Any], list[dt.datetime | None], list[int]]]:
    """Per served feature name: the values as Feast returns them, the items' event times (None when
    nothing was found) and the FieldStatus of each row."""
    values = response.to_dict()
    served = {}
    for name, vector in zip(response.proto.metadata.feature_names.val, response.proto.results, strict=True):
        timestamps = [
            ts.ToDatetime(tzinfo=dt.UTC) if ts.seconds or ts.nanos else None for ts in vector.event_timestamps
        ]
        served[name] = (values[name], timestamps, [int(s) for s in vector.statuses])
    return served
