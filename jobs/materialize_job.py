"""`python -m jobs materialize --start-time T1 --end-time T2` and `python -m jobs materialize-incremental --end-time T`.

The semantics of `feast materialize` / `feast materialize-incremental`, executed by Spark: for each
online feature view, the latest row per entity with event_timestamp in [start, end] (ties: latest
created_timestamp), however old, written as Feast's own DynamoDB items from the executors: the same
items Feast's engine writes. Incremental runs start where the registry says the last run ended (or
at now - TTL). Each view's interval is recorded in Feast's registry as soon as that view is written,
as Feast does; a failure leaves the views written before it recorded and the rest for a rerun.

Never older over newer: every run reads the stored event_ts of the keys it writes and skips an item
older than the stored one, so neither a backfill nor a rerun after a half-written failed run rolls a
served value back. A window ending before what the registry holds for a view (a backfill), or
`--guard-newer`, also makes each write conditional, against writers running at the same time.
With `online_store.endpoint: embedded` the job runs dynalite on loopback for its own duration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
from collections.abc import Sequence
from typing import Any

from jobs.cli import INSTANT, INSTANT_HELP, add_option_with_alias, command_parser, parse_timestamp, run_command
from jobs.config import Config
from jobs.errors import BadInputError, ConfigError, InfrastructureError
from jobs.feast_repo import feature_store
from jobs.online_store.capacity import WritePlan, plan_writes
from jobs.online_store.embedded import online_endpoint
from jobs.online_store.layout import layout_from_feature_view
from jobs.online_store.materialize import (
    build_online_items,
    check_keys_not_null,
    check_required_columns,
    read_view_rows,
    write_online_items,
)
from jobs.online_store.registry import feature_views, record_materialization
from jobs.online_store.tables import dynamodb_client, ensure_table
from jobs.online_store.writer import CHECKED, CONDITIONAL, WriterSettings

log = logging.getLogger("jobs.materialize")

TTL_ATTRIBUTE = "expires_at"
INCREMENTAL = "materialize-incremental"
NO_TTL_LOOKBACK = dt.timedelta(weeks=52)  # Feast's start for a view with neither TTL nor history


def build_parser(command: str) -> argparse.ArgumentParser:
    incremental = command == INCREMENTAL
    parser = command_parser(
        command,
        "Write the latest feature values "
        + ("since the last materialization" if incremental else "of a window")
        + " into the online store (Feast's DynamoDB items).",
    )
    instant: dict[str, Any] = {"type": parse_timestamp, "metavar": INSTANT}
    if not incremental:
        add_option_with_alias(
            parser,
            "--start-time",
            "--start",
            dest="start",
            required=True,
            help=f"window start; {INSTANT_HELP}",
            **instant,
        )
    add_option_with_alias(
        parser,
        "--end-time",
        "--end",
        dest="end",
        required=True,
        help=f"window end, inclusive; {INSTANT_HELP}",
        **instant,
    )
    parser.add_argument(
        "--feature-views",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated feature views (default: every online view in the registry)",
    )
    parser.add_argument(
        "--guard-newer",
        action="store_true",
        help="conditional writes for every view (when other writers may write newer values at the same time)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, command: str = "materialize") -> int:
    return run_command(
        command, build_parser(command), argv, functools.partial(run, command=command), validate_args=_validate
    )


def _validate(args: argparse.Namespace, config: Config) -> None:
    start = getattr(args, "start", None)
    if start is not None and start > args.end:
        raise BadInputError(f"--start-time {start.isoformat()} is after --end-time {args.end.isoformat()}")
    if args.feature_views == []:
        raise BadInputError("--feature-views names no view")


def run(spark: Any, config: Config, args: argparse.Namespace, *, command: str) -> dict[str, Any]:
    with online_endpoint(config) as url:
        return materialize(
            spark,
            config,
            url,
            start=getattr(args, "start", None),
            end=args.end,
            view_names=args.feature_views,
            guard_newer=args.guard_newer,
        )


def materialize(
    spark: Any,
    config: Config,
    url: str | None,
    *,
    start: dt.datetime | None,
    end: dt.datetime,
    view_names: Sequence[str] | None = None,
    guard_newer: bool = False,
) -> dict[str, Any]:
    """Materialize into the online store at `url` (None: AWS); `start=None` means incremental.

    Naive datetimes are read as UTC, as `feast materialize` does."""
    end = _as_utc(end)
    start = _as_utc(start) if start is not None else None
    timezone = spark.conf.get("spark.sql.session.timeZone")
    if timezone != "UTC":
        raise ConfigError(f"spark.sql.session.timeZone must be UTC for Feast's event_ts format, got {timezone}")
    store = feature_store(config, url)
    views = feature_views(store, view_names)
    plan = plan_writes(
        write_rate_cap=config.online_store.write_rate_cap,
        max_in_flight_per_partition=config.online_store.max_in_flight_per_partition,
        task_slots=spark.sparkContext.defaultParallelism,
    )
    log.info("write plan: %s (cap %d items/s)", plan, config.online_store.write_rate_cap)
    client = dynamodb_client(url, region=config.online_store.region)
    results: dict[str, Any] = {}
    recorded = 0
    for view in views:
        view_start = start if start is not None else _incremental_start(view)
        if view_start >= end:
            results[view.name] = {"skipped": f"already materialized up to {view_start.isoformat()}"}
            continue
        mode = write_mode(view.most_recent_end_time, end, guard_newer=guard_newer)
        try:
            metrics = _materialize_view(spark, config, url, client, view, store.config, view_start, end, plan, mode)
        except InfrastructureError as err:
            done = ", ".join(name for name, result in results.items() if "skipped" not in result) or "none"
            raise InfrastructureError(f"{err} (views written and recorded before it: {done})") from err
        metrics["registry_interval_added"] = _record(store, view.name, view_start, end)
        recorded += metrics["registry_interval_added"]
        log.info("materialized %s: %s", view.name, json.dumps(metrics, sort_keys=True))
        results[view.name] = metrics
    return {
        "end": end.isoformat(),
        "start": start.isoformat() if start else None,
        "endpoint": url or f"aws:{config.online_store.region}",
        "write_plan": {
            "partitions": plan.partitions,
            "in_flight_per_partition": plan.in_flight_per_partition,
            "items_per_s_per_partition": round(plan.items_per_second_per_partition, 1),
        },
        "registry_intervals_added": recorded,
        "views": results,
    }


def write_mode(last_end: dt.datetime | None, end: dt.datetime, *, guard_newer: bool) -> str:
    """CONDITIONAL for a backfill under a recorded end (the scheduled runs may write meanwhile) or with
    --guard-newer; CHECKED otherwise, because a run that failed half-way may have left newer items
    the registry does not know about."""
    if guard_newer or (last_end is not None and end < last_end):
        return CONDITIONAL
    return CHECKED


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _incremental_start(view: Any) -> dt.datetime:
    if view.most_recent_end_time is not None:
        return view.most_recent_end_time
    now = dt.datetime.now(dt.UTC)
    if view.ttl and view.ttl.total_seconds() > 0:
        return now - view.ttl
    return now - NO_TTL_LOOKBACK


def _materialize_view(
    spark: Any,
    config: Config,
    url: str | None,
    client: Any,
    view: Any,
    feast_config: Any,
    start: dt.datetime,
    end: dt.datetime,
    plan: WritePlan,
    mode: str,
) -> dict[str, Any]:
    layout = layout_from_feature_view(view, feast_config)
    ttl_attribute = TTL_ATTRIBUTE if config.online_store.ttl_attribute_enabled else None
    _online_call(url, lambda: ensure_table(client, layout.table_name, ttl_attribute=ttl_attribute))
    rows = read_view_rows(spark, layout)
    source_name = f"{layout.source.ref} (view {layout.name})"
    check_required_columns(rows, layout=layout, source_name=source_name)
    check_keys_not_null(rows, layout=layout, start=start, end=end, source_name=source_name)
    items = build_online_items(rows, layout=layout, start=start, end=end, partitions=plan.partitions)
    settings = WriterSettings(
        endpoint_url=url,
        region=config.online_store.region,
        table_name=layout.table_name,
        in_flight=plan.in_flight_per_partition,
        items_per_second=plan.items_per_second_per_partition,
        write_mode=mode,
        ttl_attribute=ttl_attribute,
        retry_max_seconds=config.online_store.retry_max_seconds,
    )
    metrics = write_online_items(items, layout=layout, settings=settings)
    metrics.update(start=start.isoformat(), end=end.isoformat())
    return metrics


def _online_call(url: str | None, call: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except (BotoCoreError, ClientError) as err:
        raise InfrastructureError(
            f"online store {url or 'AWS DynamoDB'} unavailable ({type(err).__name__}: {err}); rerun when it is back"
        ) from err


def _record(store: Any, name: str, start: dt.datetime, end: dt.datetime) -> int:
    try:
        return int(record_materialization(store, name, start, end))
    except OSError as err:
        raise InfrastructureError(
            f"{name} was written but recording it in the Feast registry failed: {err}; a rerun rewrites it"
        ) from err
