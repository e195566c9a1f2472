"""`./spark-submit.sh` runs the same commands as `python -m jobs`, in a fresh spark-submit JVM."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import write_job_config
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
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
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
