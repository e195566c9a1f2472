"""The daily pipeline as Airflow templates: the same commands as `jobs.deploy.pipeline.daily_pipeline`, with
`{{ ds }}` as the run date (tests/test_airflow_dag.py renders both and compares them)."""

from __future__ import annotations

import datetime as dt

RUN_DATE = "{{ ds }}"
SNAPSHOT_END = "{{ macros.ds_add(ds, 1) }}T00:00:00"  # snapshot day D carries event_timestamp D+1 00:00
FEATURE_TABLES = "user_transaction_features,merchant_risk_features"

# One Airflow task per command, each depending on the one before; a rerun of any of them is idempotent.
DAG_DEFAULTS = {
    "owner": "fraud-features",
    # Retries happen only for exit codes 3 and 5 (and failures outside the job): fraud_operators fails
    # the task for good on the others.
    "retries": 3,
    "retry_delay": dt.timedelta(minutes=10),
    "retry_exponential_backoff": True,
}
# Each platform's DAG: once a day, no catch-up of the days before it was deployed, one run at a time.
DAILY_SCHEDULE = {
    "schedule": "@daily",
    "start_date": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DAG_DEFAULTS,
}


def daily_commands(env: str) -> dict[str, list[str]]:
    where = ["--env", env]
    return {
        "features": ["features", *where, "--run-date", RUN_DATE],
        "validate": ["validate", *where, "--tables", FEATURE_TABLES, "--run-date", RUN_DATE],
        "materialize_incremental": ["materialize-incremental", *where, "--end-time", SNAPSHOT_END],
        "monitor_freshness": ["monitor", "freshness", *where, "--run-date", RUN_DATE],
    }
