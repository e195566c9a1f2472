"""Two runs that overlap on one Delta table (a retried step next to a stuck attempt): Delta's conflict detection
lets one commit, the other fails with ConcurrentAppendException and exits 3 (retryable), and the table holds
exactly the winner's rows. On S3 the same needs S3DynamoDBLogStore (conf/emr.yaml); locally the file system's
atomic rename gives it."""

from __future__ import annotations

import json
import threading

import pytest
from pyspark.sql import functions as F

from jobs import cli
from jobs.errors import EXIT_INFRASTRUCTURE, EXIT_OK

pytestmark = pytest.mark.integration

DAY = "2026-03-12"


def publish_day(spark, path: str, rows: int) -> None:
    (
        spark.range(rows)
        .withColumn("day", F.lit(DAY))
        .write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"day = '{DAY}'")
        .save(path)
    )


def run_publish(spark, path: str, rows: int) -> int:
    """One run through the jobs' own command wrapper, which turns the failure into the documented exit code."""
    parser = cli.command_parser("overlap-probe", "publish one day")
    return cli.run_command(
        "overlap-probe", parser, ["--env", "local"], lambda _spark, _config, _args: publish_day(spark, path, rows) or {}
    )


def overlapping_runs(spark, path: str) -> dict[int, int]:
    codes: dict[int, int] = {}
    threads = [
        threading.Thread(target=lambda rows=rows: codes.__setitem__(rows, run_publish(spark, path, rows)))
        for rows in (1000, 2000)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_one_of_two_overlapping_runs_exits_3_and_the_table_holds_the_other(spark, tmp_path, capsys):
    path = str(tmp_path / "table")
    spark.range(100).withColumn("day", F.lit(DAY)).write.format("delta").partitionBy("day").save(path)
    for _ in range(8):  # the two runs start together; retry the pair until their commits actually overlap
        versions_before = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").count()
        codes = overlapping_runs(spark, path)
        if sorted(codes.values()) == [EXIT_OK, EXIT_INFRASTRUCTURE]:
            break
        assert set(codes.values()) == {EXIT_OK}, codes
    else:
        pytest.fail("the two runs never overlapped in 8 tries")
    winner = next(rows for rows, code in codes.items() if code == EXIT_OK)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    failed = [line for line in lines if line["status"] == "failed"]
    assert failed[-1]["exit_code"] == EXIT_INFRASTRUCTURE
    assert "ConcurrentAppendException" in failed[-1]["error"]
    table = spark.read.format("delta").load(path)
    assert spark.sql(f"DESCRIBE HISTORY delta.`{path}`").count() == versions_before + 1
    assert table.count() == winner
    assert table.select("id").distinct().count() == winner
    assert table.agg(F.max("id")).first()[0] == winner - 1
