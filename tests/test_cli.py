"""Every failure ends in one JSON line and the exit code its type and error condition call for."""

import datetime as dt
import json
import sys

import pytest
from delta.tables import DeltaTable

from factories import chargebacks, transactions
from jobs import __main__ as entry
from jobs import features_job
from jobs.cli import classify
from jobs.schemas import USER_TRANSACTION_FEATURES


def last_json_line(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def truncate_latest_commit(table_path, *, keep_checksum):
    log = table_path / "_delta_log"
    latest = max(log.glob("*.json"))
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])
    if not keep_checksum:  # object stores keep no Hadoop .crc beside the file
        (log / f".{latest.name}.crc").unlink()
    return int(latest.stem)


@pytest.fixture
def raw_tables(spark, tmp_path):
    from conftest import write_job_config

    config_file = write_job_config(tmp_path, audit_feature_writes=False)
    tables = tmp_path / "tables"
    day1 = [("a1", "u1", "m1", 10.0, "2026-03-01 10:00:00")]
    day2 = [("a2", "u1", "m1", 12.0, "2026-03-02 10:00:00")]
    for rows in (day1, day2):
        transactions(spark, rows).write.format("delta").mode("append").partitionBy("ingest_date").save(
            str(tables / "raw_transactions")
        )
    chargebacks(spark, [("a1", "2026-03-02 11:00:00")]).write.format("delta").partitionBy("ingest_date").save(
        str(tables / "raw_chargebacks")
    )
    return config_file, tables


@pytest.mark.integration
@pytest.mark.parametrize("keep_checksum", [True, False], ids=["with-crc", "no-crc"])
def test_truncated_latest_raw_commit_exits_2_naming_table_and_version(raw_tables, capsys, keep_checksum):
    config_file, tables = raw_tables
    version = truncate_latest_commit(tables / "raw_transactions", keep_checksum=keep_checksum)
    code = features_job.main(["--config", str(config_file), "--start", "2026-03-02", "--end", "2026-03-02"])
    line = last_json_line(capsys)
    assert (code, line["exit_code"], line["status"]) == (2, 2, "failed")
    assert f"table transactions: version {version} of the Delta log" in line["error"]
    assert f"_delta_log/{version:020d}.json" in line["error"] and "\tat " not in line["error"]
    assert not (tables / "user_features").exists() and not (tables / "quarantine").exists()


@pytest.mark.integration
def test_truncated_latest_feature_commit_exits_2_naming_table_and_version(spark, raw_tables, capsys):
    config_file, tables = raw_tables
    features = tables / "user_features"
    for day in (1, 2):  # two earlier snapshots, outside the run's days
        at = dt.datetime(2026, 2, day + 1)
        row = ("u0", at, at, 1, 10.0, 10.0, 1, None, dt.date(2026, 2, day))
        spark.createDataFrame([row], USER_TRANSACTION_FEATURES).write.format("delta").mode("append").partitionBy(
            "snapshot_date"
        ).save(str(features))
    assert DeltaTable.forPath(spark, str(features)).history(1).first().version == 1
    version = truncate_latest_commit(features, keep_checksum=False)
    code = features_job.main(["--config", str(config_file), "--start", "2026-03-02", "--end", "2026-03-02"])
    line = last_json_line(capsys)
    assert (code, line["exit_code"]) == (2, 2), line
    assert f"Delta table {features}: version {version} of its log cannot be read" in line["error"]


def test_import_failure_at_start_up_prints_a_json_line_and_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "shipped_without_a_dependency.py").write_text("import a_module_the_artifact_lacks\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(entry.COMMANDS, "features", ("shipped_without_a_dependency", "features"))
    sys.modules.pop("shipped_without_a_dependency", None)
    code = entry.main(["features", "--run-date", "2026-03-02"])
    line = last_json_line(capsys)
    assert (code, line["exit_code"], line["status"], line["command"]) == (2, 2, "failed", "features")
    assert "cannot import shipped_without_a_dependency" in line["error"]
    assert "broken deployment" in line["error"] and "a_module_the_artifact_lacks" in line["error"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["features", "--run-date", "yesterday"], "not a date"),
        (["features"], "one of the arguments --run-date --start is required"),
        (["features", "--run-date", "2026-03-02", "--bogus"], "unrecognized arguments: --bogus"),
        (["featurs", "--run-date", "2026-03-02"], "unknown command 'featurs'"),
        ([], "no command given"),
    ],
)
def test_a_bad_command_line_prints_a_json_line_and_exits_2(capsys, argv, message):
    code = entry.main(argv)
    line = last_json_line(capsys)
    assert (code, line["exit_code"], line["status"]) == (2, 2, "failed")
    assert message in line["error"]


def test_classify_by_type(spark):
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException) as missing:
        spark.sql("SELECT * FROM no_such_table")
    assert classify(missing.value)[0] == 2
    assert classify(ModuleNotFoundError("No module named 'mmh3'"))[0] == 2
    assert classify(ConnectionRefusedError("dynamodb"))[0] == 3
    assert classify(KeyError("a bug"))[0] == 4
