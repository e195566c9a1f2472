"""`python -m jobs validate`: exit codes, GE JSON and Data Docs written, the one-screen summary."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from dq_support import day, ts

from jobs import validate_job
from jobs.quality.docs_assets import CDN_FILES
from jobs.schemas import USER_TRANSACTION_FEATURES

pytestmark = pytest.mark.integration


def feature_row(user, snapshot, count=2):
    event = ts(f"{snapshot}T00:00:00") + dt.timedelta(days=1)
    computed = event + dt.timedelta(hours=2)
    return (user, event, computed, count, 15.0, 20.0, max(min(count, 2), 0), 60.0, day(snapshot))


@pytest.fixture(scope="module")
def feature_table(spark, tmp_path_factory):
    """Six users on 2026-03-09; on 2026-03-10 two users, one with a negative count."""
    path = str(tmp_path_factory.mktemp("validate_job") / "user_features")
    rows = [feature_row(f"u{i}", "2026-03-09") for i in range(6)]
    rows += [feature_row(f"u{i}", "2026-03-10") for i in range(6)]
    rows += [feature_row("u0", "2026-03-11"), feature_row("u1", "2026-03-11", count=-3)]
    spark.createDataFrame(rows, USER_TRANSACTION_FEATURES).write.format("delta").partitionBy("snapshot_date").save(path)
    return path


def run_validate(capsys, table_path, results_path, *args):
    code = validate_job.main(
        [
            "--tables",
            "user_transaction_features",
            *args,
            "--set",
            f"tables.user_features={table_path}",
            "--set",
            f"quality.results_path={results_path}",
            "--set",
            "quality.row_count_band_min_rows=0",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    return code, out[:-1], json.loads(out[-1])


def test_clean_partitions_exit_0_with_results_and_data_docs(spark, capsys, feature_table, tmp_path):
    code, summary, line = run_validate(capsys, feature_table, tmp_path, "--start", "2026-03-09", "--end", "2026-03-10")
    assert (code, line["status"], line["failed_expectations"]) == (0, "ok", [])
    assert summary[0] == "suite user_transaction_features: PASSED (28/28 expectations met)"
    assert line["previous_partition_rows"] == 6
    stored = list((tmp_path / "validations" / "user_transaction_features").rglob("*.json"))
    assert len(stored) == 1
    assert json.loads(stored[0].read_text())["success"] is True
    page = line["data_docs"].removeprefix("file://")
    assert page.startswith(str(tmp_path / "data_docs"))
    assert "user_transaction_features" in Path(page).read_text()
    assert (tmp_path / "data_docs" / "index.html").is_file()


def test_defects_exit_1_naming_each_failed_expectation(spark, capsys, feature_table, tmp_path):
    code, summary, line = run_validate(capsys, feature_table, tmp_path, "--run-date", "2026-03-11")
    assert (code, line["status"], line["exit_code"]) == (1, "failed", 1)
    assert summary[0] == "suite user_transaction_features: FAILED (25/28 expectations met)"
    assert sorted(summary[1:4]) == [
        "  FAILED expect_column_pair_values_a_to_be_greater_than_b(transaction_count_7d, unique_merchants_7d):"
        " observed 1 unexpected of 2 rows (50.00%)",
        "  FAILED expect_column_values_to_be_between(transaction_count_7d): observed 1 unexpected of 2 rows (50.00%)",
        "  FAILED expect_table_row_count_to_be_between(): observed 2",
    ]
    assert "table user_transaction_features" in line["error"] and "transaction_count_7d" in line["error"]
    assert len(line["failed_expectations"]) == 3
    stored = list((tmp_path / "validations").rglob("*.json"))
    assert [json.loads(p.read_text())["success"] for p in stored] == [False]


def test_a_run_renders_only_its_own_pages_and_the_index(spark, capsys, feature_table, tmp_path):
    """GE's UpdateDataDocsAction renders the run's result page, its suite's page and the index; the pages
    of earlier runs stay as they were written (no rebuild of every stored result)."""
    _, _, first = run_validate(capsys, feature_table, tmp_path, "--run-date", "2026-03-10")
    site = tmp_path / "data_docs"
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in site.rglob("*.html")}
    code, _, second = run_validate(capsys, feature_table, tmp_path, "--run-date", "2026-03-11")
    assert (code, first["success"], second["success"]) == (1, True, False)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in site.rglob("*.html")}
    first_page, second_page = (Path(line["data_docs"].removeprefix("file://")) for line in (first, second))
    suite_page = site / "expectations" / "user_transaction_features.html"
    assert set(after) == {*before, second_page} and set(before) == {first_page, suite_page, site / "index.html"}
    rewritten = {p.relative_to(site) for p in before if after[p] != before[p]}
    assert rewritten == {Path("index.html"), suite_page.relative_to(site)}
    index = (site / "index.html").read_text()
    assert all(Path(p).relative_to(site).as_posix() in index for p in (first_page, second_page))
    html = after[second_page][1].decode()
    assert "static/vendor/" in html and not [url for url in CDN_FILES if url in html]


@pytest.mark.parametrize(
    "args",
    [
        ["--run-date", "2026-03-10", "--start", "2026-03-09"],
        ["--start", "2026-03-10", "--end", "2026-03-09"],
        [],
    ],
)
def test_bad_arguments_exit_2(capsys, feature_table, tmp_path, args):
    code, _, line = run_validate(capsys, feature_table, tmp_path, *args)
    assert (code, line["status"]) == (2, "failed")


def test_missing_table_exits_2(spark, capsys, tmp_path):
    code, _, line = run_validate(capsys, str(tmp_path / "nothing"), tmp_path, "--run-date", "2026-03-10")
    assert (code, line["exit_code"]) == (2, 2)
    assert "user_transaction_features" in line["error"]


def test_training_set_row_count_must_equal_the_entity_rows(spark, capsys, tmp_path):
    entities = str(tmp_path / "labels")
    training = str(tmp_path / "training_set")
    rows = [("u1", "m1", ts("2026-03-10T10:00:00"), 0, 3), ("u2", "m1", ts("2026-03-10T11:00:00"), 1, None)]
    columns = "user_id string, merchant_id string, event_timestamp timestamp, label int, transaction_count_7d long"
    spark.createDataFrame(rows, columns).write.format("delta").save(training)
    spark.createDataFrame(
        [r[:4] for r in rows * 2], "user_id string, merchant_id string, event_timestamp timestamp, label int"
    ).write.format("delta").save(entities)
    code = validate_job.main(
        [
            "--tables",
            "training_sets",
            "--path",
            training,
            "--entities",
            entities,
            "--set",
            f"quality.results_path={tmp_path}",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 1
    assert "  FAILED expect_table_row_count_to_equal(): observed 2" in out
