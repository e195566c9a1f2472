"""`./spark-submit.sh` runs the same commands as `python -m jobs`, in a fresh spark-submit JVM."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SHORT_LIVED_JVM_OPTIONS, write_job_config
from factories import EDGE_CASE_CHARGEBACKS, EDGE_CASE_TRANSACTIONS, chargebacks, transactions
from jobs.config import load_config

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent


def test_features_through_spark_submit(spark, tmp_path):
    job_config_file = write_job_config(tmp_path, audit_feature_writes=False)
    config = load_config(config_file=str(job_config_file))
    transactions(spark, EDGE_CASE_TRANSACTIONS).write.format("delta").partitionBy("ingest_date").save(
        config.tables.raw_transactions
    )
    chargebacks(spark, EDGE_CASE_CHARGEBACKS).write.format("delta").partitionBy("ingest_date").save(
        config.tables.raw_chargebacks
    )
    done = subprocess.run(
        # the edge cases land on a few days only: compute over the holes
        [str(REPO / "spark-submit.sh"), "features", "--config", str(job_config_file), "--run-date", "2026-03-20"]
        + ["--allow-missing-days"],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_SUBMIT_OPTS_EXTRA": f"--driver-java-options {SHORT_LIVED_JVM_OPTIONS}",
        },
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    # spark-submit interleaves the JVM's shutdown log with the driver's output: take the JSON line.
    result = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    assert result["status"] == "ok"
    # 12 rows; read: not t08 (landed 02-01, before 03-17 - 29 days) nor t04 (landed 03-21, after the
    # run date); used: one copy of t06 is a duplicate.
    assert (result["inputs"]["transactions"]["read"], result["inputs"]["transactions"]["used"]) == (10, 9)
    users = spark.read.format("delta").load(config.tables.user_features)
    u2 = users.filter("user_id = 'u2'").collect()
    assert [(r.snapshot_date.isoformat(), r.transaction_count_7d) for r in u2] == [("2026-03-17", 0)]  # quiet row


def test_bad_command_line_through_spark_submit_exits_2():
    done = subprocess.run(
        [str(REPO / "spark-submit.sh"), "features", "--run-date", "not-a-date"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "not a date" in done.stdout + done.stderr  # spark-submit merges the driver's stderr into stdout


def test_help_lists_the_commands_from_the_packaged_environment(tmp_path):
    """The archive holds no pyspark: the commands' help must get Spark's, as a submitted job does."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(REPO / "spark-submit.sh"), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "FRAUD_ENV_KEEP_DAYS" in done.stdout
    for command in ["generate", "features", "validate", "training-set", "materialize", "monitor"]:
        assert command in done.stdout.split("usage:", 1)[1]


def test_driver_environments_unused_for_a_week_are_deleted(tmp_path):
    """Each archive build unpacks to its own ~830 MB folder; a week unused, it goes (not the current one)."""
    archive = (REPO / "dist" / "environment.tar.gz").stat()
    cache = tmp_path / "cache"
    current = cache / f"env-{archive.st_size}-{int(archive.st_mtime)}"
    (current / "bin").mkdir(parents=True)
    # A stand-in interpreter, so that `--help` needs no unpacking and no Spark.
    (current / "bin" / "python").write_text('#!/bin/sh\necho "stand-in python $*"\n')
    (current / "bin" / "python").chmod(0o755)
    ages_days = {current: 30, cache / "env-1-old": 8, cache / "env-2-recent": 6, cache / ".unpack.halfdone": 2}
    for folder, days in ages_days.items():
        folder.mkdir(parents=True, exist_ok=True)
        then = time.time() - days * 86400
        os.utime(folder, (then, then))

    done = subprocess.run(
        [str(REPO / "spark-submit.sh"), "--help"],
        env={**os.environ, "FRAUD_ENV_CACHE": str(cache)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"stand-in python {REPO / 'dist' / 'run_job.py'} --help" in done.stdout
    assert "FRAUD_ENV_KEEP_DAYS" in done.stdout  # the help names the setting
    assert sorted(p.name for p in cache.iterdir()) == sorted([current.name, "env-2-recent"])
    assert time.time() - current.stat().st_mtime < 600  # used now, so kept another week


@pytest.mark.parametrize("keep_days", ["7d", "abc", "-1", "1.5"])
def test_a_retention_that_is_not_a_whole_number_of_days_deletes_nothing(tmp_path, keep_days):
    """In shell arithmetic `abc` is 0 (delete every other build) and `7d` an error halfway through."""
    cache = tmp_path / "cache"
    (cache / "env-1-old").mkdir(parents=True)
    then = time.time() - 30 * 86400
    os.utime(cache / "env-1-old", (then, then))
    done = subprocess.run(
        [str(REPO / "spark-submit.sh"), "--help"],
        env={**os.environ, "FRAUD_ENV_CACHE": str(cache), "FRAUD_ENV_KEEP_DAYS": keep_days},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"FRAUD_ENV_KEEP_DAYS must be a whole number of days, not '{keep_days}'" in done.stderr
    assert [p.name for p in cache.iterdir()] == ["env-1-old"]
