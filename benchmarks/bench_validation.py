"""Benchmark: validating a feature batch (both suites) against the feature job it gates.

Uses the raw data `bench_features.py` generates (benchmarks/out/n<size>/raw, generated here when
missing, with the same code and parameters) and writes its own outputs under
benchmarks/out/validation/n<size>/. In ONE Spark session built from conf/local.yaml, for the daily
run (`--run-date` = the last day: that day plus the late-arrival lookback) and a 30-day backfill:

  job         `compute_features` with write-audit-publish off (compute + one Delta commit per table);
  validation  both tables' suites on the batch just published, as WAP runs them (freshness, the
              row-count band from the previous partition, every range, key and timestamp check);
  audited     `compute_features` with write-audit-publish on (stage, validate, publish from staging).

Prints validation/job (the target is < 0.25) and audited/job, and writes
benchmarks/out/validation/bench_validation_n<size>.json.

    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python benchmarks/bench_validation.py --sizes 1M
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_features import config_for, ensure_generated, machine, params_for  # noqa: E402

from jobs.config import Config, load_config  # noqa: E402
from jobs.features.run_range import DateRange  # noqa: E402
from jobs.features_job import compute_features  # noqa: E402
from jobs.generate_job import count  # noqa: E402
from jobs.quality.tables import filter_partitions, previous_partition_count  # noqa: E402
from jobs.quality.validation import suite_params, validate_table  # noqa: E402
from jobs.schemas import SNAPSHOT_DATE  # noqa: E402
from jobs.session import build_session  # noqa: E402

OUT = REPO / "benchmarks" / "out"


def outputs_under(config: Config, root: Path, *, audit: bool) -> Config:
    """Raw tables from the shared generated data; features, staging and results in our own folder."""
    tables = dataclasses.replace(
        config.tables,
        quarantine=str(root / "quarantine"),
        user_features=str(root / "features" / "user_transaction_features"),
        merchant_features=str(root / "features" / "merchant_risk_features"),
        staging=str(root / "staging"),
    )
    quality = dataclasses.replace(config.quality, results_path=str(root / "quality"), audit_feature_writes=audit)
    return dataclasses.replace(config, tables=tables, quality=quality)


def validate_published(spark, config: Config, run_range: DateRange) -> list[bool]:
    """What WAP's audit does for each table, on the published batch instead of the staged one."""
    verdicts = []
    for table, path in (
        ("user_transaction_features", config.tables.user_features),
        ("merchant_risk_features", config.tables.merchant_features),
    ):
        published = spark.read.format("delta").load(path)
        batch = filter_partitions(published, partition_column=SNAPSHOT_DATE, start=run_range.start, end=run_range.end)
        previous = previous_partition_count(batch, partition_column=SNAPSHOT_DATE, before=run_range.end)
        params = suite_params(config.quality, run_date=run_range.end, previous_row_count=previous)
        outcome = validate_table(
            batch, table=table, params=params, results_path=config.quality.results_path, batch_name="bench"
        )
        verdicts.append(outcome.success)
    return verdicts


def timed(fn, *args, **kwargs) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - started, out


def measure(spark, plain: Config, audited: Config, run_range: DateRange, repeats: int) -> dict[str, Any]:
    job_s = min(timed(compute_features, spark, plain, run_range=run_range)[0] for _ in range(repeats))
    validation = [timed(validate_published, spark, plain, run_range) for _ in range(repeats)]
    validation_s = min(s for s, _ in validation)
    audited_s = min(timed(compute_features, spark, audited, run_range=run_range)[0] for _ in range(repeats))
    return {
        "days": (run_range.end - run_range.start).days + 1,
        "job_s": round(job_s, 1),
        "validation_s": round(validation_s, 1),
        "validation_over_job": round(validation_s / job_s, 3),
        "audited_job_s": round(audited_s, 1),
        "audited_over_job": round(audited_s / job_s, 3),
        "suites_passed": all(validation[0][1]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M", help="comma-separated transaction counts (k/M suffixes)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", default="daily,backfill_30d", help="which runs to measure (daily, backfill_30d)")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each measurement; the best is kept")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    base = load_config(env="local", overrides=["spark.conf.spark.ui.showConsoleProgress=false"])
    spark = build_session(base.spark)
    spark.sparkContext.setLogLevel("ERROR")
    report: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv), "runs": []}
    print(json.dumps(report["machine"]), flush=True)
    (OUT / "validation").mkdir(parents=True, exist_ok=True)
    warmed = False
    for size in [count(s) for s in args.sizes.split(",")]:
        params = params_for(size, args.days)
        generated_root = OUT / f"n{size}"
        ensure_generated(spark, config_for(base, generated_root), params, generated_root)
        root = OUT / "validation" / f"n{size}"
        plain = outputs_under(config_for(base, generated_root), root, audit=False)
        audited = outputs_under(config_for(base, generated_root), root, audit=True)
        daily = DateRange.ending_on(params.end_date, lookback_days=base.features.late_arrival_lookback_days)
        backfill = DateRange(params.end_date - dt.timedelta(days=29), params.end_date)
        if not warmed:  # JIT, GE imports and Delta log caches: the first run of a session pays for them
            compute_features(spark, audited, run_range=daily)
            warmed = True
        runs = {"daily": daily, "backfill_30d": backfill}
        for name, run_range in ((name, runs[name]) for name in args.runs.split(",")):
            row = {"transactions": size, "run": name, **measure(spark, plain, audited, run_range, args.repeats)}
            row["load_average_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
            report["runs"].append(row)
            print(json.dumps(row), flush=True)
            (OUT / "validation" / f"bench_validation_n{size}.json").write_text(json.dumps(report, indent=2))

    print("\n| transactions | run | days | job s | validation s | validation/job | job with WAP s | WAP/job |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in report["runs"]:
        print(
            f"| {r['transactions']:,} | {r['run']} | {r['days']} | {r['job_s']} | {r['validation_s']} "
            f"| {r['validation_over_job']} | {r['audited_job_s']} | {r['audited_over_job']} |"
        )
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
