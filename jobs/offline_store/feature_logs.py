"""Feast's feature logging for our offline store: `FeatureStore.write_logged_features` lands here.

Feast's SparkOfflineStore has no `write_logged_features` (its LoggingDestination is left
unimplemented), so a FeatureService with `logging_config=LoggingConfig(FileLoggingDestination(path))`
could not log through it. This writes what Feast's file offline store writes, without Spark (the
serving process must not start a JVM): the log rows, cast to the schema Feast derives from the
service (`FeatureServiceLoggingSource.get_schema`: join keys, `<view>__<feature>`, its `__timestamp`
and `__status`, `__log_timestamp`, `__log_date`, `__request_id`), as one Parquet file per call under
the destination path (local folder or any URI pyarrow opens, e.g. s3://). The file is written under
a hidden name and renamed, so a reader (Spark and pyarrow skip names starting with `.`) never sees
half a file; a call appends, as Feast's contract says.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from jobs.errors import BadInputError


def write_logged_features(
    config: Any, data: pa.Table | Path, source: Any, logging_config: Any, registry: Any
) -> str | None:
    """Append `data` (an Arrow table or a folder of Parquet files) under the logging destination;
    returns the file written (None when there were no rows)."""
    from feast.infra.offline_stores.file_source import FileLoggingDestination

    destination = logging_config.destination
    if not isinstance(destination, FileLoggingDestination):
        raise BadInputError(f"feature logging here writes a FileLoggingDestination, got {type(destination).__name__}")
    if destination.partition_by:
        raise BadInputError(
            f"FileLoggingDestination(partition_by={destination.partition_by}) is not supported: "
            "the logs are read by __log_date, leave partition_by empty"
        )
    table = pq.read_table(data) if isinstance(data, Path) else data
    if table.num_rows == 0:
        return None
    schema = source.get_schema(registry)
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise BadInputError(f"logged features lack column(s) {', '.join(missing)} of the service's log schema")
    rows = table.select(schema.names).cast(schema)
    filesystem, folder = fs.FileSystem.from_uri(_as_uri(destination.path))
    filesystem.create_dir(folder, recursive=True)
    name = f"log-{uuid.uuid4().hex}.parquet"
    hidden, final = f"{folder}/.{name}.tmp", f"{folder}/{name}"
    pq.write_table(rows, hidden, filesystem=filesystem)
    filesystem.move(hidden, final)
    return final


def _as_uri(path: str) -> str:
    return path if "://" in path else str(Path(path).resolve())
