"""`python -m jobs training-set`: a point-in-time correct training set, written to Delta.

    python -m jobs training-set --entities data/raw/labels --feature-service fraud_detection_v2 \
        --output data/training_sets/fraud_v2
    python -m jobs training-set --entities labels.csv --features user_transaction_features:transaction_count_7d
    python -m jobs training-set --as-of-versions data/training_sets/fraud_v2 --output data/training_sets/again
    ./spark-submit.sh training-set --env emr --entities s3://fraud-lake/bronze/fraud_labels \
        --feature-service fraud_detection_v2

Entity rows come from a Delta table (a path or a catalog table name), or a Parquet or CSV path
(format from `--entities-format`, else a Delta table, else the `.csv` suffix, else Parquet) and need the
views' join keys and a timestamp column. `--output`, `--as-of-versions` and `tables.training_sets` take
a path or a name as well; a `tables.training_sets` name is a schema (`catalog.schema`), the set its
table `<schema>.<name>`.
Feature views and services come from the Feast registry of `feast.repo_path` /
`feast.registry` (run `feast apply` first), so the rows equal the Feast SDK's for the same request.

With `--filter-by-created-timestamp` (Feast's `filter_by_created_timestamp=True`) a row only uses
feature rows created at or before its own timestamp: what a model could have seen then, not later
backfills. Views without a created timestamp column are unaffected, as in Feast.

The output commit's `userMetadata` records what defines the set: the feature refs and, for every
view, its output columns, join keys, source columns, TTL and created-time filtering, its table and
that table's Delta version; the entity rows' Delta version, or for Parquet/CSV entity rows (which
have no version) their row count and an order-independent hash of their contents.

With `quality.audit_training_sets` (on in every conf/ file) the set is first staged and checked
with the training-set suite (one row per entity row, keys, labels, the FEATURES.md ranges of the
requested features): a failing set exits 1, the output is left as it
was, and the staged set stays under `tables.staging` for inspection.

`--as-of-versions EARLIER_OUTPUT` rebuilds from that record alone, not today's registry: the same
views, keys, TTLs and features, their tables at the recorded versions (Delta time travel) and the
same entity rows, so the rebuilt set equals the earlier one even after the feature tables were
rewritten or the service or a view's TTL changed. Parquet/CSV entity rows whose contents no longer
hash as recorded are refused (exit 2). `--feature-service`/`--features` given again ask a new request
(today's definitions) at the recorded table versions; `--entities` given again, other entity rows.

Bad input (unknown service, view or feature, empty feature list, missing entity or timestamp
column, timestamp of the wrong type) fails with exit code 2 before Spark runs any job.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from feast import FeatureStore
from feast.errors import FeastObjectNotFoundException
from feast.utils import _get_feature_views_to_use, _get_features
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.cli import command_parser, run_command
from jobs.config import Config
from jobs.errors import BadInputError
from jobs.feast_repo import feature_store
from jobs.offline_store.pit_join import DEFAULT_HOT_KEY_ROWS, build_point_in_time_join, summarize_entities
from jobs.offline_store.requests import (
    DEFAULT_TIMESTAMP_COLUMN,
    ViewRequest,
    build_view_joins,
    is_delta,
    resolve_requests,
    source_id,
    validate_entity_columns,
    view_join_from_record,
    view_record,
)
from jobs.quality.wap import stage_and_audit_training_set

METADATA_KEY = "fraud_training_set"
ENTITY_FORMATS = ("delta", "parquet", "csv")


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "training-set",
        "Build a point-in-time correct training set into Delta. With quality.audit_training_sets (on in"
        " conf/) it is staged and checked with the training-set suite first, and published only if it"
        " passes (exit 1 otherwise, the staged set kept under tables.staging).",
    )
    parser.add_argument(
        "--entities", metavar="PATH", help="entity rows (labels): a Delta table (path or name), Parquet or CSV path"
    )
    parser.add_argument("--entities-format", choices=ENTITY_FORMATS, help="format of --entities (default: detected)")
    parser.add_argument("--timestamp-column", help=f"entity rows' instant column (default {DEFAULT_TIMESTAMP_COLUMN})")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--feature-service", metavar="NAME", help="a Feast feature service, e.g. fraud_detection_v2")
    which.add_argument("--features", metavar="VIEW:FEATURE,...", help="comma-separated feature references")
    parser.add_argument("--full-feature-names", action="store_true", default=None, help="name outputs view__feature")
    parser.add_argument(
        "--filter-by-created-timestamp",
        action="store_true",
        default=None,
        help="use only feature rows created at or before each entity row's timestamp (Feast's flag)",
    )
    parser.add_argument(
        "--output", metavar="PATH", help="Delta output, path or table name (default <tables.training_sets>/<name>)"
    )
    parser.add_argument("--as-of-versions", metavar="EARLIER_OUTPUT", help="rebuild at the versions it recorded")
    parser.add_argument(
        "--time-bucket-days", type=int, default=30, help="hot-key time buckets of the join; 0 turns them off"
    )
    parser.add_argument(
        "--hot-key-rows",
        type=int,
        default=DEFAULT_HOT_KEY_ROWS,
        help=f"rows from which a key is hot and gets time buckets (default {DEFAULT_HOT_KEY_ROWS}; 0: every key)",
    )
    return parser


def main(argv: list[str] | None = None, *, command: str = "training-set") -> int:
    return run_command(command, build_parser(), argv, run, validate_args=validate_args)


def validate_args(args: argparse.Namespace, config: Config) -> None:
    """Checks that need no Spark: the request itself and the Feast registry."""
    if args.time_bucket_days < 0:
        raise BadInputError(f"--time-bucket-days must be >= 0, got {args.time_bucket_days}")
    if args.hot_key_rows < 0:
        raise BadInputError(f"--hot-key-rows must be >= 0, got {args.hot_key_rows}")
    if not args.as_of_versions:
        if not args.entities:
            raise BadInputError("--entities is required (or --as-of-versions of an earlier output)")
        if args.feature_service is None and args.features is None:
            raise BadInputError("give --feature-service NAME or --features view:feature,...")
        resolve_feature_request(feature_store(config), args.feature_service, args.features)


def run(spark: SparkSession, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    earlier = recorded_request(spark, args.as_of_versions) if args.as_of_versions else {}
    entities_path = args.entities or earlier["entities"]["path"]
    entities_format = args.entities_format or (
        earlier["entities"]["format"] if not args.entities and earlier else detect_format(spark, entities_path)
    )
    refs_given = args.feature_service is not None or args.features is not None
    from_record = bool(earlier) and not refs_given
    full_names = bool(args.full_feature_names if args.full_feature_names is not None else earlier.get("full_names"))
    filter_created = bool(
        args.filter_by_created_timestamp
        if args.filter_by_created_timestamp is not None
        else earlier.get("filter_by_created_timestamp")
    )
    timestamp_column = args.timestamp_column or earlier.get("timestamp_column") or DEFAULT_TIMESTAMP_COLUMN
    if from_record:
        service, refs, views = earlier.get("feature_service"), earlier["feature_refs"], recorded_views(earlier, args)
        join_keys = [k for v in views for k in v["join_keys"]]
        outputs = [c for v in views for c in v["output_columns"]]
        tables = [v["table"] for v in views]
    else:
        features = args.features if refs_given else None
        service = args.feature_service
        refs, requests = resolve_feature_request(feature_store(config), service, features)
        join_keys = [k for r in requests for k in r.join_keys()]
        outputs = [c for r in requests for c in r.output_columns(full_feature_names=full_names)]
        tables = [source_id(r.source) for r in requests]
    name = service or "training_set"
    output = args.output or delta_io.child(config.tables.training_sets, name)

    recorded_entities = (earlier.get("entities") or {}) if earlier and not args.entities else {}
    entity_version = recorded_entities.get("version")
    entity_rows = read_entities(spark, entities_path, entities_format, timestamp_column, version=entity_version)
    validate_entity_columns(
        entity_rows.schema,
        join_keys=join_keys,
        output_columns=outputs,
        timestamp_column=timestamp_column,
        source_name=entities_path,
    )
    if earlier:
        versions = earlier.get("tables") or {}
    else:
        versions = {source_id(r.source): current_version(spark, r.source) for r in requests}
    missing = [t for t in dict.fromkeys(tables) if t not in versions]
    if missing:
        raise BadInputError(f"{args.as_of_versions} recorded no version for table(s) {', '.join(missing)}")
    if entities_format == "delta" and entity_version is None:
        entity_version = int(delta_io.latest_commit(spark, entities_path)["version"])
        entity_rows = read_entities(spark, entities_path, entities_format, timestamp_column, version=entity_version)
    fingerprint = None
    if entities_format != "delta":
        fingerprint = entity_fingerprint(entity_rows)
        if recorded_entities and fingerprint != recorded_entities.get("fingerprint"):
            raise BadInputError(
                f"entity rows {entities_path} changed since {args.as_of_versions} was built: they hash to "
                f"{fingerprint}, the build recorded {recorded_entities.get('fingerprint')}"
                " (rows:sum-xxhash64:sum-murmur3); restore them, or give --entities to build from other rows"
            )

    if from_record:
        joins = [view_join_from_record(spark, v, version=versions[v["table"]]) for v in views]
        if args.filter_by_created_timestamp:
            joins = [
                dataclasses.replace(j, filter_by_created_timestamp=j.created_timestamp_field is not None) for j in joins
            ]
    else:
        joins = build_view_joins(
            spark,
            requests,
            full_feature_names=full_names,
            versions=versions,
            filter_by_created_timestamp=filter_created,
        )
    entities = summarize_entities(entity_rows, joins, timestamp_column)
    training_set = build_point_in_time_join(
        entity_rows,
        joins,
        timestamp_column=timestamp_column,
        bucket_seconds=args.time_bucket_days * 86_400 or None,
        hot_key_rows=args.hot_key_rows,
        entity_summary=entities,
    )
    run_id = f"training-set-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    audited = None
    if config.quality.audit_training_sets:
        audited = stage_and_audit_training_set(
            spark,
            config,
            batch=training_set,
            name=name,
            output=output,
            expected_rows=entities.rows,
            run_id=run_id,
        )
        training_set = delta_io.read(spark, audited.staging_path)
    metadata = {
        METADATA_KEY: {
            "entities": {
                "path": entities_path,
                "format": entities_format,
                "version": entity_version,
                "fingerprint": fingerprint,
            },
            "feature_service": service,
            "feature_refs": refs,
            "full_names": full_names,
            "filter_by_created_timestamp": filter_created,
            "timestamp_column": timestamp_column,
            "views": [view_record(j, t) for j, t in zip(joins, tables, strict=True)],
            "tables": {t: versions[t] for t in tables},
            "feast_project": config.feast.project,
        }
    }
    delta_io.overwrite(training_set, output, overwrite_schema=True, user_metadata=json.dumps(metadata, sort_keys=True))
    written = delta_io.latest_commit(spark, output)
    if audited is not None:
        delta_io.remove(spark, audited.staging_path)
    return {
        "output": output,
        "output_version": written["version"],
        "rows": int(written["operationMetrics"].get("numOutputRows", -1)),
        "feature_refs": refs,
        "table_versions": versions,
        "entity_version": entity_version,
        "entity_fingerprint": fingerprint,
        **(audited.details() if audited is not None else {}),
    }


def resolve_feature_request(
    store: FeatureStore, service: str | None, features: str | None
) -> tuple[list[str], list[ViewRequest]]:
    """The refs and views of a request as the Feast SDK resolves them: a service's projections keep
    their aliases (`with_name`), join-key maps (`with_join_key_map`) and feature subsets."""
    try:
        if service is not None:
            feature_service = store.get_feature_service(service)
            refs = _get_features(store.registry, store.project, feature_service)
            projected, _ = _get_feature_views_to_use(store.registry, store.project, feature_service)
            views = {v.projection.name_to_use(): v for v in projected}
        else:
            refs = [r for r in (features or "").split(",") if r.strip()]
            views = {v.name: v for v in store.list_feature_views()}
    except FeastObjectNotFoundException as err:
        raise BadInputError(str(err)) from err
    except FileNotFoundError as err:
        raise BadInputError(f"{err} (run `feast apply` in {store.repo_path})") from err
    return refs, resolve_requests(views, refs)


def recorded_views(earlier: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    views = earlier.get("views")
    if not views:
        raise BadInputError(
            f"--as-of-versions {args.as_of_versions} records no view definitions (built by an older version of"
            " this job), so it cannot be rebuilt without today's registry; give --feature-service or --features"
            " again to build that request at its recorded table versions"
        )
    return list(views)


def entity_fingerprint(entity_rows: DataFrame) -> str:
    """`rows:sum of xxhash64:sum of murmur3` over the rows as read: independent of row order and
    file layout, different when a row is added, removed or changed (one aggregate, nothing collected
    but the three numbers)."""
    columns = [
        F.to_json(F.col(f.name)) if "map<" in f.dataType.simpleString() else F.col(f.name)
        for f in entity_rows.schema.fields
    ]
    row = entity_rows.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.xxhash64(*columns).cast("decimal(38,0)")).alias("xx"),
        F.sum(F.hash(*columns).cast("decimal(38,0)")).alias("murmur"),
    ).first()
    assert row is not None  # a global aggregate has exactly one row
    return f"{row['rows']}:{row['xx'] or 0}:{row['murmur'] or 0}"


def detect_format(spark: SparkSession, path: str) -> str:
    if delta_io.exists(spark, path):
        return "delta"
    return "csv" if path.rstrip("/").lower().endswith(".csv") else "parquet"


def read_entities(
    spark: SparkSession, path: str, entities_format: str, timestamp_column: str, *, version: int | None
) -> DataFrame:
    reader = spark.read.format(entities_format)
    if entities_format == "csv":
        # Every CSV column is a string; the timestamp column is parsed as an ISO instant in UTC below.
        reader = reader.option("header", "true").option("inferSchema", "false")
    try:
        frame = delta_io.read(spark, path, version=version) if entities_format == "delta" else reader.load(path)
    except AnalysisException as err:
        raise BadInputError(f"entity rows {path}: cannot be read as {entities_format}: {err}") from err
    if entities_format == "csv" and timestamp_column in frame.columns:
        frame = frame.withColumn(timestamp_column, F.to_timestamp(F.col(timestamp_column)))
    return frame


def current_version(spark: SparkSession, source: Any) -> int:
    if not is_delta(source):
        raise BadInputError(f"source {source.name} is not Delta: its version cannot be recorded")
    return int(delta_io.latest_commit(spark, source_id(source))["version"])


def recorded_request(spark: SparkSession, earlier_output: str) -> dict[str, Any]:
    if not delta_io.exists(spark, earlier_output):
        raise BadInputError(f"--as-of-versions {earlier_output} is not a Delta table")
    commits = (
        delta_io.delta_table(spark, earlier_output)
        .history()
        .filter(F.col("userMetadata").contains(METADATA_KEY))
        .orderBy(F.col("version").desc())
        .select("userMetadata")
        .first()
    )
    if commits is None:
        raise BadInputError(f"--as-of-versions {earlier_output} was not written by the training-set job")
    return json.loads(commits["userMetadata"])[METADATA_KEY]
