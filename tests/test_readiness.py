"""Input completeness before `features` computes: exit 5 naming the days, nothing written, and the override."""

import datetime as dt
import json

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from factories import chargebacks, transactions
from jobs.features.readiness import unready_days
from jobs.features_job import main

RUN_DATE = "2026-03-10"
DAYS = [dt.date(2026, 3, d) for d in range(1, 11)]
D = dt.date.fromisoformat


def test_unready_days_rules():
    days = {D("2026-03-01") + dt.timedelta(days=i): 5 for i in range(10)}
    rules = dict(first_day=D("2026-02-20"), last_day=D("2026-03-10"), every_day_has_rows=True, marker=None)
    # the table's history starts inside the days read: the days before it are not holes
    assert unready_days(days, history_start=D("2026-03-01"), min_rows_last_day=1, marker_found=False, **rules) == {}
    assert unready_days(days, history_start=None, min_rows_last_day=1, marker_found=False, **rules) == {
        f"2026-02-{d}": "no rows" for d in range(20, 29)
    }
    holey = {day: n for day, n in days.items() if day != D("2026-03-04")}
    assert unready_days(holey, history_start=D("2026-03-01"), min_rows_last_day=5, marker_found=False, **rules) == {
        "2026-03-04": "no rows"
    }
    assert unready_days(days, history_start=D("2026-03-01"), min_rows_last_day=6, marker_found=False, **rules) == {
        "2026-03-10": "5 rows, fewer than inputs.min_rows_run_date=6"
    }
    marked = {**rules, "marker": "_SUCCESS"}
    assert unready_days(days, history_start=D("2026-03-01"), min_rows_last_day=1, marker_found=True, **marked) == {}
    assert unready_days({}, history_start=None, min_rows_last_day=1, marker_found=False, **marked)["2026-03-10"] == (
        "no rows; no _SUCCESS marker"
    )
    # a table whose days may be empty (chargebacks) is judged by its marker alone
    sparse = {**marked, "every_day_has_rows": False}
    assert unready_days({}, history_start=None, min_rows_last_day=1, marker_found=True, **sparse) == {}
    assert unready_days({}, history_start=None, min_rows_last_day=1, marker_found=False, **sparse) == {
        "2026-03-10": "no _SUCCESS marker"
    }


def txn_rows(days, *, per_day=3):
    """u1 buys once a day at noon; m-users fill the day; every row lands the day it happened."""
    rows = []
    for day in days:
        rows.append((f"u1-{day}", "u1", "m1", 10.0, f"{day} 12:00:00"))
        rows.extend((f"x{i}-{day}", f"u{i + 2}", "m2", 5.0, f"{day} 09:00:00") for i in range(per_day - 1))
    return rows


def delta_versions(spark, root):
    """Every Delta table the job writes under the run's folder, and its latest version."""
    return {
        str(log.parent): DeltaTable.forPath(spark, str(log.parent)).history(1).first().version
        for log in sorted(root.rglob("_delta_log"))
        if "transactions" not in log.parent.name and "chargebacks" not in log.parent.name
    }


@pytest.fixture(scope="module")
def setup(spark, tmp_path_factory):
    from conftest import write_job_config

    root = tmp_path_factory.mktemp("readiness")
    config_file = write_job_config(root, audit_feature_writes=False)
    tables = root / "tables"
    bad = ("bad", "u9", "m1", -1.0, "2026-03-09 10:00:00")  # quarantined: every run writes the quarantine
    transactions(spark, [*txn_rows(DAYS), bad]).write.format("delta").partitionBy("ingest_date").save(
        str(tables / "raw_transactions")
    )
    chargebacks(spark, [("u1-2026-03-02", "2026-03-03 10:00:00")]).write.format("delta").partitionBy(
        "ingest_date"
    ).save(str(tables / "raw_chargebacks"))
    for table in ("raw_transactions", "raw_chargebacks"):
        marker = tables / table / f"ingest_date={RUN_DATE}" / "_SUCCESS"
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
    return {"root": root, "config_file": config_file, "tables": tables}


def run(setup, capsys, *extra):
    argv = ["--config", str(setup["config_file"]), "--run-date", RUN_DATE, "--set", "inputs.completion_marker=_SUCCESS"]
    code = main([*argv, *extra])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.integration
def test_not_ready_exits_5_naming_the_days_and_writes_nothing(spark, setup, capsys):
    tables = setup["tables"]
    # complete input (the run date marked by both tables) computes; history starts on 03-01
    code, result = run(setup, capsys)
    assert code == 0, result
    assert result["inputs_checked"]["days_before_first_landing_day"] == {"transactions": 24}
    before = delta_versions(spark, tables)
    assert {p.rsplit("/", 1)[1] for p in before} >= {"user_features", "merchant_features", "quarantine"}

    def assert_not_ready(expected, *extra):
        code, result = run(setup, capsys, *extra)
        assert (code, result["status"], result["exit_code"]) == (5, "failed", 5), result
        assert result["not_ready"] == expected
        for table, days in expected.items():
            assert all(f"{table}: " in result["error"] and day in result["error"] for day in days)
        assert delta_versions(spark, tables) == before

    # upstream has not marked the run date's chargebacks complete (a day with no chargebacks is normal)
    marker = tables / "raw_chargebacks" / f"ingest_date={RUN_DATE}" / "_SUCCESS"
    marker.unlink()
    assert_not_ready({"chargebacks": {RUN_DATE: "no _SUCCESS marker"}})
    marker.touch()
    # too few rows on the run date
    assert_not_ready(
        {"transactions": {RUN_DATE: "3 rows, fewer than inputs.min_rows_run_date=4"}},
        "--set",
        "inputs.min_rows_run_date=4",
    )
    # a landing day that never arrived
    holey = tables / "holey_transactions"
    raw = spark.read.format("delta").load(str(tables / "raw_transactions"))
    raw.filter(F.col("ingest_date") != "2026-03-07").write.format("delta").partitionBy("ingest_date").save(str(holey))
    (holey / f"ingest_date={RUN_DATE}" / "_SUCCESS").touch()
    assert_not_ready({"transactions": {"2026-03-07": "no rows"}}, "--set", f"tables.raw_transactions={holey}")
    # a landing day that is empty (its load was rolled back)
    DeltaTable.forPath(spark, str(tables / "raw_transactions")).delete(F.col("ingest_date") == "2026-03-05")
    assert_not_ready({"transactions": {"2026-03-05": "no rows"}})

    # a deliberate backfill over the hole computes, reports it, and counts what exists
    code, result = run(setup, capsys, "--allow-missing-days")
    assert code == 0, result
    assert result["inputs_checked"]["computed_over_holes"] == {"transactions": {"2026-03-05": "no rows"}}
    after = delta_versions(spark, tables)
    assert after == {path: version + 1 for path, version in before.items()}
    count = (
        spark.read.format("delta")
        .load(str(tables / "user_features"))
        .filter((F.col("user_id") == "u1") & (F.col("snapshot_date") == RUN_DATE))
        .first()["transaction_count_7d"]
    )
    window = [day for day in DAYS if day >= D(RUN_DATE) - dt.timedelta(days=6) and day != D("2026-03-05")]
    assert count == len(window) == 6
