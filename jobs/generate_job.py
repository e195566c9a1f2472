"""`python -m jobs generate`: deterministic sample raw data (transactions, chargebacks, labels).

Everything is built with Spark from id ranges (see jobs.sample_data), so a seed gives the same
tables whatever the partitioning, and 100M+ transactions need no more driver memory than 1,000.
Each table is replaced by one atomic Delta overwrite; the result line gives row counts, Delta
versions and how many bad rows of each kind were injected.

    python -m jobs generate --users 2000 --merchants 200 --days 90 --transactions 200000 --bad-rows 5
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from jobs import delta_io
from jobs.cli import DATE, command_parser, parse_date, run_command
from jobs.config import Config
from jobs.errors import BadInputError
from jobs.sample_data.bad_rows import build_bad_chargebacks, build_bad_transactions
from jobs.sample_data.chargebacks import build_chargebacks
from jobs.sample_data.labels import build_labels
from jobs.sample_data.params import CHARGEBACK_BAD_KINDS, TRANSACTION_BAD_KINDS, SampleDataParams
from jobs.sample_data.transactions import build_generated_transactions, select_raw_transactions
from jobs.schemas import INGEST_DATE
from jobs.tables import LABELS, RAW_CHARGEBACKS, RAW_TRANSACTIONS

COMMAND = "generate"


def count(text: str) -> int:
    """A whole number, with an optional k/M/B suffix: 16M, 250k, 1_000_000."""
    multipliers = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
    cleaned = text.strip().lower()
    factor = multipliers.get(cleaned[-1:], 1)
    digits = cleaned[:-1] if factor != 1 else cleaned
    try:
        return int(digits) * factor
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from err


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(COMMAND, __doc__.split("\n\n")[0])
    parser.add_argument("--users", type=count, default=2_000, help="number of users (default 2000)")
    parser.add_argument("--merchants", type=count, default=200, help="number of merchants (default 200)")
    parser.add_argument("--days", type=count, default=90, help="days of events, from --start-date (default 90)")
    parser.add_argument(
        "--transactions", type=count, default=200_000, help="good transactions, e.g. 16M (default 200k)"
    )
    parser.add_argument(
        "--start-date",
        type=parse_date,
        metavar=DATE,
        default=dt.date(2026, 1, 1),
        help="first event day (default 2026-01-01)",
    )
    parser.add_argument("--seed", type=count, default=42, help="seed; same seed, same tables (default 42)")
    parser.add_argument(
        "--bad-rows",
        type=count,
        default=0,
        metavar="N",
        help="inject N rows breaking each raw-row rule: " + ", ".join(TRANSACTION_BAD_KINDS + CHARGEBACK_BAD_KINDS),
    )
    parser.add_argument(
        "--partitions",
        type=count,
        default=0,
        help="partitions of the id range (default 0: one per million transactions, at least the core count)",
    )
    return parser


def params_from(args: argparse.Namespace) -> SampleDataParams:
    return SampleDataParams(
        users=args.users,
        merchants=args.merchants,
        days=args.days,
        transactions=args.transactions,
        start_date=args.start_date,
        seed=args.seed,
        bad_rows=args.bad_rows,
    )


def validate_args(args: argparse.Namespace, config: Config) -> None:
    problems = params_from(args).problems()
    if args.partitions < 0:
        problems.append(f"--partitions must be 0 (automatic) or more, got {args.partitions}")
    if problems:
        raise BadInputError("; ".join(problems))


def build_tables(spark: SparkSession, params: SampleDataParams, *, partitions: int) -> dict[str, DataFrame]:
    """The three tables as DataFrames (nothing runs until they are written)."""
    ids = spark.range(0, params.transactions, numPartitions=partitions)
    generated = build_generated_transactions(ids, params=params)
    transactions = select_raw_transactions(generated)
    chargebacks = build_chargebacks(generated, params=params)
    if params.bad_rows:
        transactions = transactions.unionByName(
            build_bad_transactions(spark.range(0, params.bad_transaction_rows, numPartitions=1), params=params)
        )
        chargebacks = chargebacks.unionByName(
            build_bad_chargebacks(spark.range(0, params.bad_chargeback_rows, numPartitions=1), params=params)
        )
    return {
        RAW_TRANSACTIONS.name: transactions,
        # Chargebacks are ~1% of the rows but land over 40+ days: one shuffle by landing day keeps
        # them to a few files per day instead of one per id-range partition and day.
        RAW_CHARGEBACKS.name: chargebacks.repartition(INGEST_DATE),
        LABELS.name: build_labels(generated, params=params),
    }


def overwrite_delta(df: DataFrame, path: str, *, partition_by: Sequence[str]) -> dict[str, Any]:
    """Replace the whole table in one commit (readers see the old or the new data, never a mix)."""
    delta_io.overwrite(df, path, partition_by=partition_by, overwrite_schema=True)
    # The commit's own metrics give the row count without scanning the table again.
    commit = delta_io.latest_commit(df.sparkSession, path)
    return {"path": path, "rows": int(commit["operationMetrics"]["numOutputRows"]), "version": commit["version"]}


def generate(spark: SparkSession, config: Config, params: SampleDataParams, *, partitions: int = 0) -> dict[str, Any]:
    partitions = partitions or params.partitions(spark.sparkContext.defaultParallelism)
    tables = build_tables(spark, params, partitions=partitions)
    outputs = {table.name: table for table in (RAW_TRANSACTIONS, RAW_CHARGEBACKS, LABELS)}
    written = {
        name: overwrite_delta(df, outputs[name].location(config), partition_by=outputs[name].partition_columns)
        for name, df in tables.items()
    }
    return {
        "tables": written,
        "bad_rows": {kind: params.bad_rows for kind in TRANSACTION_BAD_KINDS + CHARGEBACK_BAD_KINDS},
        "first_day": params.start_date.isoformat(),
        "last_day": params.end_date.isoformat(),
        "seed": params.seed,
        "fraud_users": params.fraud_users,
        "risky_merchants": params.risky_merchants,
    }


def run(spark: SparkSession, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    return generate(spark, config, params_from(args), partitions=args.partitions)


def main(argv: Sequence[str] | None = None, *, command: str = COMMAND) -> int:
    return run_command(command, build_parser(), argv, run, validate_args=validate_args)


if __name__ == "__main__":
    raise SystemExit(main())
