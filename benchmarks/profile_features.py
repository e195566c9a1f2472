"""Where the feature job's time goes: its pieces timed one by one, in one Spark session.

Uses the data `bench_features.py` generates (benchmarks/out/n<size>/, generated when missing). For a
90-day backfill, each piece is computed into the `noop` sink (or written to a scratch Delta table
under benchmarks/out/profile/) after an untimed warm-up, then the whole `compute_features` is timed;
for a daily run (`--run-date` = the last day), the job's own steps are timed inside one run.

    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python benchmarks/profile_features.py --size 4M
    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python benchmarks/profile_features.py --size 16M --only daily
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_features import OUT, benchmark_session, config_for, ensure_generated, floor, machine, params_for  # noqa: E402
from pyspark import StorageLevel  # noqa: E402
from pyspark.sql import DataFrame  # noqa: E402

import jobs.features_job as features_job  # noqa: E402
from jobs.features import raw_rules  # noqa: E402
from jobs.features.inputs import read_landed_between  # noqa: E402
from jobs.features.merchant_features import build_merchant_risk_features  # noqa: E402
from jobs.features.run_range import DateRange  # noqa: E402
from jobs.features.user_features import build_user_transaction_features  # noqa: E402
from jobs.generate_job import count  # noqa: E402
from jobs.schemas import RAW_CHARGEBACKS, RAW_TRANSACTIONS, SNAPSHOT_DATE  # noqa: E402

SCRATCH = OUT / "profile"


def timed(timings: dict[str, float], name: str, action: Callable[[], Any]) -> None:
    started = time.perf_counter()
    action()
    timings[name] = round(time.perf_counter() - started, 1)
    print(f"{name}: {timings[name]} s", flush=True)


def noop(df: DataFrame) -> Callable[[], None]:
    return lambda: df.write.format("noop").mode("overwrite").save()


def delta(df: DataFrame, name: str) -> Callable[[], None]:
    path = SCRATCH / name
    shutil.rmtree(path, ignore_errors=True)
    return lambda: df.write.format("delta").mode("overwrite").partitionBy(SNAPSHOT_DATE).save(str(path))


def profile_backfill(spark, config, run_range: DateRange) -> dict[str, float]:
    timings: dict[str, float] = {}
    widest = max(config.features.user_window_days, config.features.merchant_window_days)
    first, last = run_range.first_input_day(widest), run_range.end
    floor(spark, config, first, last)  # warm-up
    timed(timings, "floor", lambda: floor(spark, config, first, last))
    txns = read_landed_between(
        spark, table="t", path=config.tables.raw_transactions, schema=RAW_TRANSACTIONS, first_day=first, last_day=last
    )
    cbs = read_landed_between(
        spark, table="c", path=config.tables.raw_chargebacks, schema=RAW_CHARGEBACKS, first_day=first, last_day=last
    )
    timed(timings, "read transactions", noop(txns))
    checked = txns.transform(raw_rules.with_transaction_rule, reference_instant=run_range.reference_instant)
    timed(timings, "rules + duplicate ranking", noop(checked))
    checked = checked.persist(StorageLevel.MEMORY_AND_DISK)
    timed(timings, "rules + duplicate ranking, cached", checked.count)
    used = raw_rules.filter_used(checked)
    checked_cbs = cbs.transform(raw_rules.with_chargeback_rule, used_transactions=used).persist()
    timed(timings, "chargeback check, cached", checked_cbs.count)
    first_cbs = raw_rules.first_chargeback_per_transaction(raw_rules.filter_used(checked_cbs))
    users = build_user_transaction_features(used, run_range=run_range, window_days=config.features.user_window_days)
    merchants = build_merchant_risk_features(
        used.join(first_cbs, on="transaction_id", how="left"),
        run_range=run_range,
        window_days=config.features.merchant_window_days,
    )
    timed(timings, "user_transaction_features (noop)", noop(users))
    timed(timings, "user_transaction_features (Delta)", delta(users, "users"))
    timed(timings, "merchant_risk_features (noop)", noop(merchants))
    timed(timings, "merchant_risk_features (Delta)", delta(merchants, "merchants"))
    checked.unpersist()
    checked_cbs.unpersist()
    timed(timings, "compute_features", lambda: features_job.compute_features(spark, config, run_range=run_range))
    return timings


def profile_daily(spark, config, run_range: DateRange) -> dict[str, float]:
    """Times the job's own steps inside one run by wrapping them (second run of the session)."""
    timings: dict[str, float] = {}
    for name in ("rule_counts", "quarantine_rejected", "replace_partitions", "delta_commit_summary"):
        step = getattr(features_job, name)

        def wrapped(*args, _step=step, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _step(*args, **kwargs)
            finally:
                key = f"{_name} #{sum(k.startswith(_name) for k in timings) + 1}"
                timings[key] = round(time.perf_counter() - started, 1)

        setattr(features_job, name, wrapped)
    features_job.compute_features(spark, config, run_range=run_range)  # warm-up
    timings.clear()
    run_daily = lambda: features_job.compute_features(spark, config, run_range=run_range)  # noqa: E731
    timed(timings, "compute_features (daily)", run_daily)
    for key, seconds in timings.items():
        print(f"  {key}: {seconds} s", flush=True)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="4M", help="transactions (k/M suffixes), as bench_features.py")
    parser.add_argument("--only", choices=["both", "backfill", "daily"], default="both")
    args = parser.parse_args()
    base, spark = benchmark_session()
    size = count(args.size)
    params = params_for(size, 90)
    config = config_for(base, OUT / f"n{size}")
    config = dataclasses.replace(config, quality=dataclasses.replace(config.quality, audit_feature_writes=False))
    ensure_generated(spark, config, params, OUT / f"n{size}")
    report: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv), "transactions": size}
    if args.only in ("both", "backfill"):
        report["backfill"] = profile_backfill(spark, config, DateRange(params.start_date, params.end_date))
    if args.only in ("both", "daily"):
        daily = DateRange.ending_on(params.end_date, lookback_days=config.features.late_arrival_lookback_days)
        report["daily"] = profile_daily(spark, config, daily)
    print(json.dumps(report), flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
