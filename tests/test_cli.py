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


# Every option taking a day or an instant, per command line, written out by hand from the README.
DATE_OPTIONS = {
    ("features",): ["--run-date", "--start", "--end"],
    ("validate",): ["--run-date", "--start", "--end"],
    ("generate",): ["--start-date"],
    ("deploy",): ["--run-date"],
    ("monitor", "freshness"): ["--run-date"],
    ("monitor", "drift"): ["--baseline-start", "--baseline-end", "--start", "--end"],
    ("monitor", "profile"): ["--start", "--end"],
    ("monitor", "report"): ["--start", "--end"],
    ("monitor", "skew"): ["--start", "--end"],
}
INSTANT_OPTIONS = {
    ("materialize",): ["--start-time", "--end-time"],
    ("materialize-incremental",): ["--end-time"],
    ("monitor", "freshness"): ["--now"],
}


def help_text(capsys, words):
    code = entry.main([*words, "--help"])
    assert code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines


@pytest.mark.parametrize("words", sorted(set(DATE_OPTIONS) | set(INSTANT_OPTIONS)), ids=" ".join)
def test_help_shows_the_format_of_every_day_and_instant(capsys, words):
    text = help_text(capsys, words)
    for option in DATE_OPTIONS.get(words, []):
        assert f"{option} YYYY-MM-DD " in text, option
    for option in INSTANT_OPTIONS.get(words, []):
        assert f"{option} YYYY-MM-DDTHH:MM:SSZ " in text, option
        assert "ISO-8601 instant with its zone (Z or +HH:MM; none means UTC)" in text
    for placeholder in ("RUN_DATE", " START ", " END ", "START_DATE", " NOW ", "AS_OF", "BASELINE_"):
        assert placeholder not in text


def test_every_command_is_covered_by_the_help_and_bad_command_line_cases():
    assert set(entry.COMMANDS) == {w[0] for w in BAD_COMMAND_LINES}


BAD_COMMAND_LINES = [
    ("demo", "--transactions"),
    ("generate", "--users", "many"),
    ("features", "--run-date", "2026-03-02", "--tables"),
    ("validate", "--run-date", "2026-03-02"),
    ("validate", "--tables", "user_transaction_features", "--table", "merchant_risk_features"),
    ("apply", "--bogus"),
    ("training-set", "--feature-service", "a", "--features", "b"),
    ("materialize", "--start-time", "2026-03-01", "--end-time", "tomorrow"),
    (
        "materialize",
        "--start-time",
        "2026-03-01T00:00:00Z",
        "--start",
        "2026-03-01T00:00:00Z",
        "--end-time",
        "2026-03-02",
    ),
    ("materialize-incremental",),
    ("monitor",),
    ("monitor", "drift", "--tables", "user_transaction_features", "--start", "2026-03-01"),
    ("monitor", "skew", "--start", "noon"),
    ("deploy", "aws", "--run-date", "2026-03-12"),
    ("check-deployment", "--partitions", "two"),
]


@pytest.mark.parametrize("argv", BAD_COMMAND_LINES, ids=" ".join)
def test_every_command_answers_a_bad_command_line_with_exit_2_and_one_json_line(capsys, argv):
    code = entry.main(list(argv))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    line = json.loads(lines[0])
    assert (code, line["exit_code"], line["status"], line["command"]) == (2, 2, "failed", argv[0])
    assert line["error"].startswith("bad command line: ")


def test_the_old_spellings_still_parse_as_the_new_ones(caplog):
    from jobs import materialize_job, validate_job

    parser = materialize_job.build_parser("materialize")
    new = parser.parse_args(["--start-time", "2026-03-01T00:00:00+09:00", "--end-time", "2026-03-02"])
    old = parser.parse_args(["--start", "2026-03-01T00:00:00+09:00", "--end", "2026-03-02"])
    assert (old.start, old.end) == (new.start, new.end)
    assert new.start == dt.datetime(2026, 2, 28, 15, tzinfo=dt.UTC) and new.end == dt.datetime(
        2026, 3, 2, tzinfo=dt.UTC
    )
    assert "--start is deprecated, use --start-time" in caplog.text
    tables = "user_transaction_features,merchant_risk_features"
    assert validate_job.build_parser().parse_args(["--table", tables]).tables == tables
    assert "--table is deprecated, use --tables" in caplog.text
    assert "--table " not in validate_job.build_parser().format_help()


MONITOR_DRIFT = ("drift", "--baseline-start", "2026-03-01", "--baseline-end", "2026-03-03")
MONITOR_DRIFT += ("--start", "2026-03-07", "--end", "2026-03-09")
MONITOR_PROFILE = ("profile", "--start", "2026-03-01", "--end", "2026-03-03")


@pytest.mark.parametrize("check", [MONITOR_DRIFT, MONITOR_PROFILE], ids=lambda check: check[0])
def test_monitor_reads_tables_as_the_other_commands_do_and_table_as_a_hidden_alias(caplog, capsys, check):
    from jobs import monitor_job

    parser = monitor_job.build_parser("monitor")
    tables = "merchant_risk_features,user_transaction_features"
    assert parser.parse_args([*check, "--tables", tables]).tables == tables
    assert "deprecated" not in caplog.text
    assert parser.parse_args([*check, "--table", tables]).tables == tables
    assert "--table is deprecated, use --tables" in caplog.text
    with pytest.raises(SystemExit):
        parser.parse_args([check[0], "--help"])
    shown = capsys.readouterr().out
    assert "--tables TABLE,..." in shown and "--table " not in shown


UNKNOWN_TABLE = "--tables: unknown feature table(s) ['users']; known: user_transaction_features, merchant_risk_features"


@pytest.mark.parametrize(
    "argv",
    [
        ("features", "--run-date", "2026-03-02", "--tables", "user_transaction_features,users"),
        ("monitor", *MONITOR_DRIFT, "--tables", "user_transaction_features,users"),
        ("monitor", *MONITOR_DRIFT, "--table", "users"),
        ("monitor", *MONITOR_PROFILE, "--tables", "users,merchant_risk_features"),
    ],
    ids=" ".join,
)
def test_an_unknown_table_exits_2_naming_the_option_it_and_the_known_tables(capsys, argv):
    code = entry.main(list(argv))
    line = last_json_line(capsys)
    assert (code, line["exit_code"], line["error"]) == (2, 2, UNKNOWN_TABLE)
