"""`python -m jobs validate`: run a table's Great Expectations suite on chosen Delta partitions.

    python -m jobs validate --tables user_transaction_features --run-date 2026-03-10
    python -m jobs validate --tables raw_transactions --start 2026-03-01 --end 2026-03-10
    python -m jobs validate --tables training_sets --path data/training_sets/fraud_v2 --entities data/raw/labels
    python -m jobs validate --tables raw_transactions,user_transaction_features --run-date 2026-03-10

Partitioned tables (raw by ingest_date, features by snapshot_date) are read for the chosen days;
freshness is judged against the last day (`--run-date`, or `--end`) and the row count of that
day against the table's previous partition. Results go under `quality.results_path` as GE JSON
(validations/) and Data Docs HTML (data_docs/); a one-screen summary names each failed
expectation with its observed value. Exit 0 when the suite passes, 1 when it fails. Several
comma-separated tables share one Spark session; the JSON line then lists each under `tables`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from typing import Any

from pyspark.sql import SparkSession

from jobs import cli
from jobs.config import Config
from jobs.errors import BadInputError, DataQualityError
from jobs.quality.tables import TableSpec, filter_partitions, previous_partition_count, read_delta, table_spec
from jobs.quality.validation import Outcome, suite_params, validate_table

COMMAND = "validate"


def build_parser(command: str = COMMAND) -> argparse.ArgumentParser:
    parser = cli.command_parser(command, "Run a table's Great Expectations suite on chosen Delta partitions.")
    cli.add_option_with_alias(
        parser,
        "--tables",
        "--table",
        dest="tables",
        required=True,
        metavar="TABLE,...",
        help="comma-separated: raw_transactions, raw_chargebacks, user_transaction_features, merchant_risk_features, "
        "training_sets",
    )
    parser.add_argument("--run-date", type=cli.parse_date, metavar=cli.DATE, help="validate this one partition (day)")
    parser.add_argument("--start", type=cli.parse_date, metavar=cli.DATE, help="first partition day (with --end)")
    parser.add_argument(
        "--end", type=cli.parse_date, metavar=cli.DATE, help="last partition day, inclusive (freshness is judged on it)"
    )
    parser.add_argument("--path", help="Delta table to validate (default: the table's configured path)")
    parser.add_argument("--entities", help="training sets: the entity rows' Delta table (row count must equal it)")
    parser.add_argument("--expected-rows", type=int, help="training sets: the row count the set must have")
    return parser


def day_range(args: argparse.Namespace) -> tuple[dt.date, dt.date] | None:
    if args.run_date is not None:
        if args.start is not None or args.end is not None:
            raise BadInputError("give --run-date or --start/--end, not both")
        return args.run_date, args.run_date
    if (args.start is None) != (args.end is None):
        raise BadInputError("--start and --end go together")
    if args.start is None:
        return None
    if args.start > args.end:
        raise BadInputError(f"--start {args.start} is after --end {args.end}")
    return args.start, args.end


def table_names(args: argparse.Namespace) -> list[str]:
    names = [name.strip() for name in args.tables.split(",") if name.strip()]
    if not names:
        raise BadInputError("--tables names no table")
    if len(names) > 1 and args.path:
        raise BadInputError("--path goes with a single table in --tables")
    return names


def validate_args(args: argparse.Namespace, config: Config) -> None:
    for name in table_names(args):
        spec = table_spec(config, name, path=args.path)
        if spec.partition_column and day_range(args) is None:
            raise BadInputError(
                f"--tables {name} is partitioned by {spec.partition_column}: give --run-date or --start/--end"
            )


def run(spark: SparkSession, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    expected = args.expected_rows
    if args.entities:
        expected = read_delta(spark, TableSpec("entity rows (--entities)", args.entities, None)).count()
    results = [
        validate_one(spark, config, name, days=day_range(args), path=args.path, expected_rows=expected)
        for name in table_names(args)
    ]
    report([outcome for outcome, _ in results])
    if len(results) == 1:
        return results[0][1]
    return {"tables": {outcome.table: fields for outcome, fields in results}}


def validate_tables(
    spark: SparkSession, config: Config, tables: Sequence[str], *, start: dt.date, end: dt.date
) -> list[Outcome]:
    """For a pipeline (`make demo`): validate the days `[start, end]` of each table; raises on a failure."""
    outcomes = [validate_one(spark, config, name, days=(start, end))[0] for name in tables]
    report(outcomes)
    return outcomes


def validate_one(
    spark: SparkSession,
    config: Config,
    name: str,
    *,
    days: tuple[dt.date, dt.date] | None,
    path: str | None = None,
    expected_rows: int | None = None,
) -> tuple[Outcome, dict[str, Any]]:
    spec = table_spec(config, name, path=path)
    table = read_delta(spark, spec)
    previous = None
    run_date = None
    batch_name = "all"
    if spec.partition_column and days is not None:
        start, run_date = days
        previous = previous_partition_count(table, partition_column=spec.partition_column, before=run_date)
        table = filter_partitions(table, partition_column=spec.partition_column, start=start, end=run_date)
        batch_name = f"{start.isoformat()}..{run_date.isoformat()}"
    params = suite_params(
        config.quality, run_date=run_date, previous_row_count=previous, expected_row_count=expected_rows
    )
    outcome = validate_table(
        table, table=spec.name, params=params, results_path=config.quality.results_path, batch_name=batch_name
    )
    fields = {**outcome.details(), "path": spec.path, "batch": batch_name, "previous_partition_rows": previous}
    return outcome, fields


def report(outcomes: list[Outcome]) -> None:
    """Print each summary; any failed suite becomes exit code 1 with the failures in the JSON line."""
    for outcome in outcomes:
        print(outcome.summary(), flush=True)
    if outcomes and outcomes[-1].docs_index_url:
        print(f"Data Docs index: {outcomes[-1].docs_index_url}", flush=True)
    failed = [outcome for outcome in outcomes if not outcome.success]
    if failed:
        error = DataQualityError("; ".join(outcome.failure_message() for outcome in failed))
        details = [outcome.details() for outcome in failed]
        error.details = details[0] if len(outcomes) == 1 else {"failed_tables": details}  # type: ignore[attr-defined]
        raise error


def main(argv: Sequence[str] | None = None, *, command: str = COMMAND) -> int:
    return cli.run_command(command, build_parser(command), argv, run, validate_args=validate_args)
