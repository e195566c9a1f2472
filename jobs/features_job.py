"""`python -m jobs features`: compute user_transaction_features and merchant_risk_features.

Two modes: `--start/--end` backfills snapshot days; `--run-date D` recomputes D and the configured
late-arrival lookback before it. Either way the job reads only the raw landing days its windows
need, checks every row against FEATURES.md (bad rows go to the quarantine table, and
`read = used + quarantined` is reported per table), and replaces exactly the computed days of each
feature table in one Delta commit per table. Once a `--start/--end --rebuild-state` backfill has
built the stored state (silver tables and daily tiles), `--run-date` runs from it instead
(jobs/features/stateful.py): it reads only the new landing days.

Work done once: the raw transactions are scanned once, ranked by transaction_id (the one shuffle
of full rows), and cached; quarantine, counts and both feature tables read that cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from jobs import cli, delta_io
from jobs.config import Config
from jobs.errors import BadInputError, JobError
from jobs.features import raw_rules, stateful
from jobs.features.inputs import filter_landed_between, read_raw
from jobs.features.merchant_features import build_merchant_risk_features
from jobs.features.publish import replace_partitions
from jobs.features.quarantine import replace_quarantine, select_quarantine_rows
from jobs.features.raw_rules import rule_counts
from jobs.features.readiness import RawInput, check_inputs_ready
from jobs.features.run_range import DateRange
from jobs.features.user_features import build_user_transaction_features
from jobs.monitoring.history import profile_days
from jobs.quality.wap import publish_audited, stage_and_audit
from jobs.schemas import RAW_CHARGEBACKS, RAW_TRANSACTIONS
from jobs.tables import FEATURE_TABLES, MERCHANT_FEATURES, USER_FEATURES, feature_table_names

log = logging.getLogger(__name__)

USER_TABLE = USER_FEATURES.name
MERCHANT_TABLE = MERCHANT_FEATURES.name


def build_parser(command: str = "features") -> argparse.ArgumentParser:
    parser = cli.command_parser(command, __doc__.split("\n\n")[0].split(": ", 1)[1])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--run-date", type=cli.parse_date, metavar=cli.DATE, help="recompute this day and the late-arrival lookback"
    )
    mode.add_argument(
        "--start", type=cli.parse_date, metavar=cli.DATE, help="first snapshot day of a backfill (with --end)"
    )
    parser.add_argument(
        "--end", type=cli.parse_date, metavar=cli.DATE, help="last snapshot day of a backfill, inclusive"
    )
    parser.add_argument(
        "--rebuild-state",
        action="store_true",
        help="with --start/--end: also rebuild the stored state (silver tables, daily tiles) from the landing days "
        "read; from then on --run-date runs from that state (jobs/features/stateful.py)",
    )
    parser.add_argument(
        "--allow-missing-days",
        action="store_true",
        help="compute even when a landing day read is missing or empty (a deliberate backfill over holes); "
        "the holes are reported in the JSON line. Without it such a run exits 5 (not ready, retry later)",
    )
    parser.add_argument(
        "--tables",
        metavar="TABLE,...",
        default=f"{USER_TABLE},{MERCHANT_TABLE}",
        help=f"comma-separated feature tables to compute (default: both: {USER_TABLE},{MERCHANT_TABLE})",
    )
    return parser


def resolve_run_range(args: argparse.Namespace, config: Config) -> DateRange:
    if args.run_date is not None:
        if args.end is not None:
            raise BadInputError("--end goes with --start, not with --run-date")
        return DateRange.ending_on(args.run_date, lookback_days=config.features.late_arrival_lookback_days)
    if args.end is None:
        raise BadInputError("--start needs --end (the last snapshot day, inclusive)")
    if args.start > args.end:
        raise BadInputError(f"--start {args.start} is after --end {args.end}")
    return DateRange(args.start, args.end)


def selected_tables(args: argparse.Namespace) -> list[str]:
    return feature_table_names(args.tables)


def validate_args(args: argparse.Namespace, config: Config) -> None:
    resolve_run_range(args, config)
    selected_tables(args)
    if args.rebuild_state and args.run_date is not None:
        raise BadInputError("--rebuild-state goes with a --start/--end backfill, not with --run-date")


def run(spark: SparkSession, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    # A scheduled run goes from the stored state once a --rebuild-state backfill made it.
    if args.run_date is not None and stateful.state_exists(spark, config):
        return stateful.run_from_state(
            spark,
            config,
            run_date=args.run_date,
            tables=selected_tables(args),
            allow_missing_days=args.allow_missing_days,
            publish=publish_all,
        )
    return compute_features(
        spark,
        config,
        run_range=resolve_run_range(args, config),
        tables=selected_tables(args),
        allow_missing_days=args.allow_missing_days,
        rebuild_state=args.rebuild_state,
    )


def compute_features(
    spark: SparkSession,
    config: Config,
    *,
    run_range: DateRange,
    tables: Sequence[str] = (USER_TABLE, MERCHANT_TABLE),
    allow_missing_days: bool = False,
    rebuild_state: bool = False,
) -> dict[str, Any]:
    """Check the input is complete, read, check rows, quarantine, compute and publish; returns what the
    JSON line reports. Missing input raises NotReadyError before anything is written."""
    # Aware, so Spark stores this instant whatever the driver's time zone (a naive datetime would be
    # read as the process's local time).
    computed_at = dt.datetime.now(dt.UTC)
    run_id = f"features-{computed_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    windows = config.features
    widest = max(windows.user_window_days, windows.merchant_window_days)
    first_day, last_day = run_range.first_input_day(widest), run_range.end
    log.info(
        "run %s: snapshot days %s..%s, reading landing days %s..%s",
        run_id,
        run_range.start,
        run_range.end,
        first_day,
        last_day,
    )

    raw = {
        name: read_raw(spark, table=name, path=path, schema=schema)
        for name, path, schema in (
            ("transactions", config.tables.raw_transactions, RAW_TRANSACTIONS),
            ("chargebacks", config.tables.raw_chargebacks, RAW_CHARGEBACKS),
        )
    }
    landed = functools.partial(filter_landed_between, first_day=first_day, last_day=last_day)
    transactions, chargebacks = landed(raw["transactions"]), landed(raw["chargebacks"])
    inputs_checked = check_inputs_ready(
        spark,
        config.inputs,
        [
            RawInput("transactions", config.tables.raw_transactions, transactions, raw["transactions"], True),
            RawInput("chargebacks", config.tables.raw_chargebacks, chargebacks, raw["chargebacks"], False),
        ],
        first_day=first_day,
        last_day=last_day,
        allow_missing_days=allow_missing_days,
    )
    checked_transactions = transactions.transform(
        raw_rules.with_transaction_rule, reference_instant=run_range.reference_instant
    ).persist(StorageLevel.MEMORY_AND_DISK)
    used_transactions = raw_rules.filter_used(checked_transactions)
    checked_chargebacks = chargebacks.transform(
        raw_rules.with_chargeback_rule, used_transactions=used_transactions
    ).persist(StorageLevel.MEMORY_AND_DISK)
    report: dict[str, Any] = {
        "run_id": run_id,
        "start": run_range.start.isoformat(),
        "end": run_range.end.isoformat(),
        "inputs_checked": inputs_checked,
    }
    try:
        input_counts = {
            "transactions": rule_counts(checked_transactions),
            "chargebacks": rule_counts(checked_chargebacks),
        }
        report["inputs"] = input_counts
        report["quarantine"] = quarantine_rejected(
            config,
            run_id=run_id,
            quarantined_at=computed_at,
            rejected={"transactions": checked_transactions, "chargebacks": checked_chargebacks},
            counts=input_counts,
            landing_days=(first_day, last_day),
        )
        first_chargebacks = raw_rules.first_chargeback_per_transaction(raw_rules.filter_used(checked_chargebacks))
        batches = {
            USER_TABLE: lambda: build_user_transaction_features(
                used_transactions, run_range=run_range, window_days=windows.user_window_days, computed_at=computed_at
            ),
            MERCHANT_TABLE: lambda: build_merchant_risk_features(
                used_transactions.join(first_chargebacks, on="transaction_id", how="left"),
                run_range=run_range,
                window_days=windows.merchant_window_days,
                computed_at=computed_at,
            ),
        }
        paths = {table.name: table.location(config) for table in FEATURE_TABLES}
        report["tables"] = publish_all(
            spark,
            config,
            batches={t: batches[t] for t in tables},
            paths=paths,
            run_ranges={t: run_range for t in tables},
            run_id=run_id,
        )
        profile_started = time.monotonic()
        profiled = profile_days(
            spark, config, days={t: (run_range.start, run_range.end) for t in tables}, run_id=run_id
        )
        report["profiles"] = {
            "table": config.monitoring.profiles_table,
            "written": profiled,
            "duration_s": round(time.monotonic() - profile_started, 3),
        }
        if rebuild_state:
            report["state"] = stateful.rebuild_state(
                spark,
                config,
                used_transactions=used_transactions,
                chargebacks=chargebacks,
                landing_days=(first_day, last_day),
                run_id=run_id,
                processed_at=computed_at,
            )
    except JobError as err:
        # A run failing at the audit has already read, counted and quarantined: its JSON line says so.
        err.details = {**report, **getattr(err, "details", {})}  # type: ignore[attr-defined]
        raise
    finally:
        checked_chargebacks.unpersist()
        checked_transactions.unpersist()
    return report


def publish_all(
    spark: SparkSession,
    config: Config,
    *,
    batches: dict[str, Any],
    paths: dict[str, str],
    run_ranges: dict[str, DateRange],
    run_id: str,
    side_by_side: bool = False,
) -> dict[str, Any]:
    """One Delta commit per table, replacing its days of `run_ranges`. With write-audit-publish every
    batch is staged and audited first, one after the other, before any is published, so a failing suite
    leaves every table at its previous version.

    `side_by_side` runs the tables' commits at the same time (delta_io.concurrently): for a run from
    state's few snapshot days. A backfill's publish stays one table after the other: there it was
    slower side by side (benchmarks/RESULTS.md, "Independent commits side by side")."""
    write_all = delta_io.concurrently if side_by_side else delta_io.one_after_another

    def summary(table: str) -> dict[str, Any]:
        return delta_commit_summary(spark, paths[table])

    if not config.quality.audit_feature_writes:

        def replace(table: str) -> dict[str, Any]:
            replace_partitions(batches[table](), path=paths[table], run_range=run_ranges[table])
            return summary(table)

        return dict(zip(batches, write_all(*(functools.partial(replace, t) for t in batches)), strict=True))
    audited = {
        table: stage_and_audit(
            spark, config, table=table, batch=build(), path=paths[table], run_range=run_ranges[table], run_id=run_id
        )
        for table, build in batches.items()
    }

    def publish(table: str) -> dict[str, Any]:
        publish_audited(spark, audited[table], path=paths[table], run_range=run_ranges[table])
        return {**summary(table), **audited[table].details()}

    return dict(zip(audited, write_all(*(functools.partial(publish, t) for t in audited)), strict=True))


def quarantine_rejected(
    config: Config,
    *,
    run_id: str,
    quarantined_at: dt.datetime,
    rejected: dict[str, DataFrame],
    counts: dict[str, dict[str, Any]],
    landing_days: tuple[dt.date, dt.date],
) -> dict[str, Any]:
    """Log every broken rule and replace the quarantine rows of the landing days read (even with no
    rejects, so a verdict an earlier run filed for those days is not left behind)."""
    raw_rules.log_rejects(counts, run_id=run_id)
    parts = [
        select_quarantine_rows(
            raw_rules.filter_quarantined(rejected[name]),
            source_table=name,
            run_id=run_id,
            quarantined_at=quarantined_at,
        )
        for name in rejected
    ]
    first_day, last_day = landing_days
    replace_quarantine(
        functools.reduce(DataFrame.unionByName, parts),
        path=config.tables.quarantine,
        first_day=first_day,
        last_day=last_day,
    )
    return {"path": config.tables.quarantine, "rows": sum(c["quarantined"] for c in counts.values())}


def delta_commit_summary(spark: SparkSession, path: str) -> dict[str, Any]:
    """The Delta version just committed and the rows it wrote, from the table's own history."""
    last = delta_io.latest_commit(spark, path)
    metrics = last["operationMetrics"] or {}
    return {"path": path, "delta_version": last["version"], "rows_written": int(metrics.get("numOutputRows", 0))}


def main(argv: Sequence[str] | None = None, *, command: str = "features") -> int:
    return cli.run_command(command, build_parser(command), argv, run, validate_args=validate_args)
