"""`python -m jobs demo` (`make demo`): the whole pipeline end to end on generated sample data.

1. generate sample raw data (with a few bad rows of each kind, which end up in quarantine);
2. compute both feature tables over the whole period (write-audit-publish on);
3. validate every table it wrote with its Great Expectations suite, and say where the Data Docs are;
4. `feast apply`, then a training set for the generated labels through the Feast SDK;
5. materialize into the embedded DynamoDB and run the guide's inference.py against it;
6. monitor freshness and training-serving skew against it (both recorded in the checks history);
7. per-day drift from the stored profiles and the HTML monitoring report, whose path it prints.

The sample ids follow the guide (user_001, merch_100, ...), so the guide's scripts find real rows.
Every step is the same code a scheduler runs; a failing step stops the demo with its exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from typing import Any

from jobs import cli, delta_io, features_job, generate_job, monitor_job, validate_job
from jobs.config import Config
from jobs.errors import JobError
from jobs.tables import FEATURE_TABLES, RAW_TABLES, USER_FEATURES, names

START = dt.date(2026, 1, 1)
DAYS = 90
TABLES = ",".join(names((*RAW_TABLES, *FEATURE_TABLES)))


def build_parser(command: str = "demo") -> argparse.ArgumentParser:
    parser = cli.command_parser(command, "Run the whole pipeline end to end on generated sample data.")
    parser.add_argument("--transactions", default="200k", help="sample transactions to generate (default 200k)")
    return parser


def step(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def run_job(module: Any, argv: list[str]) -> None:
    code = module.main(argv)
    if code != 0:
        raise _StepFailed(f"{module.__name__} {' '.join(argv)} exited {code}", code)


class _StepFailed(JobError):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    from jobs.feast_repo import apply_repo
    from jobs.materialize_job import materialize
    from jobs.offline_store.demo import print_training_set
    from jobs.online_store.demo import run_inference_script
    from jobs.online_store.embedded import online_endpoint

    where = ["--config", args.config] if args.config else ["--env", args.env or "local"]
    where += [f"--set={override}" for override in args.overrides]
    end = START + dt.timedelta(days=DAYS - 1)
    days = ["--start", START.isoformat(), "--end", end.isoformat()]

    step("1. generate sample data")
    run_job(
        generate_job,
        [
            *where,
            "--users",
            "999",
            "--merchants",
            "400",
            "--days",
            str(DAYS),
            "--start-date",
            START.isoformat(),
            "--transactions",
            args.transactions,
            "--bad-rows",
            "3",
        ],
    )
    step("2. feature tables (bad rows are quarantined; each batch is validated before it is published)")
    run_job(features_job, [*where, *days])
    _print_rows(spark, config)
    step("3. validate every table written")
    run_job(validate_job, [*where, *days, "--tables", TABLES])
    print(f"Data Docs: {config.quality.results_path}/data_docs/index.html")
    start_instant = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC)
    end_instant = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    with online_endpoint(config) as url:
        step("4. feast apply + a training set for the generated labels through the Feast SDK")
        apply_repo(config, url)
        print_training_set(spark, config)
        window = f"{start_instant:%Y-%m-%d}..{end_instant:%Y-%m-%d}"
        step(f"5. materialize {window} into the online store, then the guide's inference.py")
        materialized = materialize(spark, config, url, start=start_instant, end=end_instant)
        print(run_inference_script(config, url), end="", flush=True)
        step("6. monitor: freshness and training-serving skew (recorded for the report)")
        served_by = ["--set", f"online_store.endpoint={url}"]
        checked_at = (end_instant + dt.timedelta(hours=1)).isoformat()
        run_job(monitor_job, [*where, "freshness", "--run-date", end.isoformat(), "--now", checked_at, *served_by])
        # What inference.py just served (logged by Feast's feature logging) against the point-in-time join.
        run_job(monitor_job, [*where, "skew"])
    step("7. the monitoring report (profiles stored by the features job, drift per day, the checks above)")
    report_days = ["--start", (end - dt.timedelta(days=29)).isoformat(), "--end", end.isoformat()]
    run_job(monitor_job, [*where, "drift", "--daily", "--tables", USER_FEATURES.name, *report_days, "--report-only"])
    run_job(monitor_job, [*where, "report", *report_days])
    return {"steps": 7, "materialize": materialized}


def _print_rows(spark: Any, config: Config) -> None:
    for feature_table in FEATURE_TABLES:
        table: Any = delta_io.read(spark, feature_table.location(config))
        print(f"{feature_table.name}: {table.count()} rows")
        print(table.orderBy("event_timestamp", ascending=False).limit(3).toPandas().to_string(index=False))


def main(argv: Sequence[str] | None = None, *, command: str = "demo") -> int:
    return cli.run_command(command, build_parser(command), argv, run)
