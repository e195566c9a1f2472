"""End to end: `python -m jobs monitor freshness|drift` on tiny Delta tables, a real Feast registry
and dynalite, and the guide's scripts (feature_freshness.py, skew_detection.calculate_psi).

Oracles: dates and hours computed here, PSI with numpy's histogram. `monitor skew` (served values
against the point-in-time join) is tested in tests/test_monitor_skew_served.py.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from online_support import NOW, days_ago, make_repo, merchant_row, user_row

from jobs.aws_credentials import client_environment
from jobs.feast_repo import apply_repo
from jobs.materialize_job import main as materialize_main
from jobs.monitor_job import main
from jobs.online_store.embedded import embedded_dynamodb

pytestmark = pytest.mark.integration

USERS = [
    user_row("user_001", days_ago(3), 3, 10.5, 20.0, 2, 3600.0),
    user_row("user_001", days_ago(1), 5, 12.25, 40.0, 3, 120.5),
    user_row("user_002", days_ago(2), 1, 7.0, 7.0, 1, None),
    user_row("user_003", days_ago(9), 4, 3.0, 5.0, 2, 60.0),  # older than the 7-day TTL: not served
    user_row("user_004", days_ago(0), 0, None, None, 0, None),  # quiet-window zero row
]
MERCHANTS = [
    merchant_row("merch_100", days_ago(2), 40, 55.5, 0.05, 0.0625),
    merchant_row("merch_300", days_ago(5), 12, 99.75, 0.125, 0.03125),
]


def _run(args: list[str], repo, url, capsys) -> tuple[int, dict, list[str]]:
    code = main([*args, *repo.cli_overrides(url)])
    out = capsys.readouterr().out.splitlines()
    return code, json.loads([line for line in out if line.startswith("{")][-1]), out


@pytest.fixture(scope="module")
def online(spark, tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("monitor_repo"))
    repo.write(spark, "user_transaction_features", USERS)
    repo.write(spark, "merchant_risk_features", MERCHANTS)
    with embedded_dynamodb() as url:
        apply_repo(repo.config(url), url)
        yield repo, url


def test_freshness_before_and_after_materializing(online, capsys):
    repo, url = online
    run_date = NOW.date()
    code, result, out = _run(["freshness", "--run-date", run_date.isoformat()], repo, url, capsys)
    # Tables hold yesterday's snapshot (days_ago(0)): fresh with lag 1; views never materialized.
    assert (code, result["check"]) == (1, "freshness"), result
    assert result["tables"]["user_transaction_features"] == {
        "newest_snapshot": (run_date - dt.timedelta(days=1)).isoformat(),
        "fresh": True,
    }
    assert result["tables"]["merchant_risk_features"]["fresh"] is False  # newest snapshot 3 days ago
    assert "WARNING: user_transaction_features has never been materialized" in out

    end = NOW.replace(tzinfo=dt.UTC)
    start = end - dt.timedelta(days=30)
    code = materialize_main(
        ["--start", start.isoformat(), "--end", end.isoformat(), *repo.cli_overrides(url)], command="materialize"
    )
    capsys.readouterr()
    assert code == 0

    # The merchant table stays stale until the lag allows three days.
    args = ["freshness", "--run-date", run_date.isoformat(), "--set", "quality.freshness_max_lag_days=3"]
    code, result, out = _run(args, repo, url, capsys)
    assert code == 0, result
    assert f"OK: user_transaction_features last materialized at {end}" in out
    assert result["views"]["merchant_risk_features"] == {"last_materialized": end.isoformat(), "stale": False}

    later = end + dt.timedelta(hours=24, seconds=1)
    code, result, out = _run([*args, "--now", later.isoformat()], repo, url, capsys)
    assert code == 1
    assert f"ALERT: user_transaction_features is stale by {later - end}" in out
    code, _, _ = _run([*args, "--now", (end + dt.timedelta(hours=24)).isoformat()], repo, url, capsys)
    assert code == 0

    # The guide's script, as a user runs it, against the same registry.
    printed = subprocess.run(
        [sys.executable, str(repo.repo_path / "examples" / "feature_freshness.py")],
        cwd=repo.root,
        env=client_environment(url),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.splitlines()
    assert sorted(printed) == [
        f"OK: merchant_risk_features last materialized at {end}",
        f"OK: user_transaction_features last materialized at {end}",
    ]


def _drift_rows(shift: float) -> list[tuple]:
    """Days 1-3: baseline values; days 4-6 the same values; days 7-9 amounts times `shift`."""
    values = [(1, 2.0), (2, 3.5), (3, 7.25), (4, 9.0), (2, 11.0), (5, 20.0), (1, None), (6, 4.0)]
    rows = []
    for day in range(1, 10):
        factor = shift if day >= 7 else 1.0
        event = dt.datetime(2026, 3, day + 1)
        for i, (count, amount) in enumerate(values):
            scaled = None if amount is None else amount * factor
            rows.append(user_row(f"user_{i}", event, count, scaled, scaled, min(count, 3), 60.0 * count))
    return rows


def _steady_merchant_rows() -> list[tuple]:
    """Days 1-9: the same merchant values every day (nothing can drift)."""
    values = [(40, 55.5, 0.05, 0.0625), (12, 99.75, 0.125, 0.03125), (7, 20.0, 0.0, 0.0), (3, 8.5, 0.5, 0.25)]
    return [
        merchant_row(f"merch_{i}", dt.datetime(2026, 3, day + 1), *value)
        for day in range(1, 10)
        for i, value in enumerate(values)
    ]


@pytest.fixture(scope="module")
def drift_repo(spark, tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("drift_repo"))
    rows = _drift_rows(3.0)
    repo.write(spark, "user_transaction_features", rows)
    repo.write(spark, "merchant_risk_features", _steady_merchant_rows())
    return repo, rows


def _drift(repo, capsys, *extra: str) -> tuple[int, dict, list[str]]:
    args = ["drift", "--tables", "user_transaction_features", "--baseline-start", "2026-03-01"]
    args += ["--baseline-end", "2026-03-03", *extra]
    return _run(args, repo, "embedded", capsys)


def test_drift_same_distribution_exits_0(drift_repo, capsys):
    repo, _ = drift_repo
    code, result, _ = _drift(repo, capsys, "--start", "2026-03-04", "--end", "2026-03-06")
    assert code == 0, result
    assert result["alerts"] == 0
    for feature in result["features"].values():
        assert (feature["psi"], feature["ks_statistic"], feature["ks_p_value"]) == (0.0, 0.0, 1.0)


def test_drift_shifted_distribution_exits_1_with_the_guides_psi(drift_repo, capsys):
    repo, rows = drift_repo
    code, result, out = _drift(repo, capsys, "--start", "2026-03-07", "--end", "2026-03-09")
    assert code == 1, result
    frame = pd.DataFrame(rows, columns=["key", "event", "created", "count", "avg", "max", "unique", "gap", "day"])
    base = frame[frame.day <= dt.date(2026, 3, 3)]["avg"].dropna().astype("float32").astype("float64")
    cur = frame[frame.day >= dt.date(2026, 3, 7)]["avg"].dropna().astype("float32").astype("float64")
    breakpoints = np.linspace(min(base.min(), cur.min()), max(base.max(), cur.max()), 11)
    e = np.clip(np.histogram(base, breakpoints)[0] / len(base), 0.001, None)
    a = np.clip(np.histogram(cur, breakpoints)[0] / len(cur), 0.001, None)
    avg = result["features"]["transaction_amount_avg_7d"]
    assert avg["psi"] == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-12)
    assert avg["current"]["mean"] == pytest.approx(cur.mean())
    assert any(alert.startswith("Mean drift detected") for alert in avg["alerts"])
    assert any(line.startswith("ALERT: user_transaction_features.transaction_amount_avg_7d:") for line in out)
    # Counts did not move.
    assert result["features"]["transaction_count_7d"]["alerts"] == []

    # The guide's calculate_psi (feature_defs/examples/skew_detection.py) on the same values.
    spec = importlib.util.spec_from_file_location("skew_detection", repo.repo_path / "examples" / "skew_detection.py")
    guide = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guide)
    for column, feature in (("avg", "transaction_amount_avg_7d"), ("count", "transaction_count_7d")):
        values = frame[column].astype("float32").astype("float64")
        expected = guide.calculate_psi(
            values[frame.day <= dt.date(2026, 3, 3)].dropna(), values[frame.day >= dt.date(2026, 3, 7)].dropna()
        )
        assert result["features"][feature]["psi"] == pytest.approx(float(expected), rel=1e-12)

    code, result, _ = _drift(repo, capsys, "--start", "2026-03-07", "--end", "2026-03-09", "--report-only")
    assert code == 0 and result["alerts"] > 0


def test_drift_over_several_tables_reports_each_and_exits_1_when_one_drifted(drift_repo, capsys):
    repo, _ = drift_repo
    tables = "user_transaction_features,merchant_risk_features"  # the drifted table first: the next is still checked
    args = ["--baseline-start", "2026-03-01", "--baseline-end", "2026-03-03", "--start", "2026-03-07"]
    code, result, out = _run(["drift", "--tables", tables, *args, "--end", "2026-03-09"], repo, "embedded", capsys)
    assert code == 1, result
    assert sorted(result["tables"]) == ["merchant_risk_features", "user_transaction_features"]
    merchants = result["tables"]["merchant_risk_features"]
    assert merchants["alerts"] == 0
    assert {f: (r["psi"], r["ks_p_value"]) for f, r in merchants["features"].items()} == {
        f: (0.0, 1.0) for f in ("total_transactions_30d", "avg_transaction_amount", "chargeback_rate_30d", "risk_score")
    }
    assert sorted(line for line in out if line.startswith("OK: merchant_risk_features.")) == sorted(
        f"OK: merchant_risk_features.{f} psi=0 ks_p_value=1" for f in merchants["features"]
    )
    users = result["tables"]["user_transaction_features"]
    assert users["alerts"] > 0 and any(
        a.startswith("Mean drift detected") for a in users["features"]["transaction_amount_avg_7d"]["alerts"]
    )
    assert any(line.startswith("ALERT: user_transaction_features.transaction_amount_avg_7d:") for line in out)
    assert "table user_transaction_features: drift alerts on" in result["error"]
    assert "merchant_risk_features" not in result["error"]

    code, result, _ = _run(
        ["drift", "--tables", tables, *args, "--end", "2026-03-09", "--report-only"], repo, "embedded", capsys
    )
    assert code == 0 and result["tables"]["user_transaction_features"]["alerts"] == users["alerts"]


def test_profile_takes_tables_and_the_old_table_spelling(spark, drift_repo, capsys, caplog):
    repo, _ = drift_repo
    days = ["--start", "2026-03-02", "--end", "2026-03-03"]
    code, result, _ = _run(["profile", "--table", "merchant_risk_features", *days], repo, "embedded", capsys)
    assert code == 0, result
    assert "--table is deprecated, use --tables" in caplog.text
    assert [p["table"] for p in result["profiles"]] == ["merchant_risk_features"]
    both = "user_transaction_features,merchant_risk_features"
    code, result, _ = _run(["profile", "--tables", both, *days], repo, "embedded", capsys)
    assert code == 0, result
    assert [p["table"] for p in result["profiles"]] == both.split(",")


def test_drift_bad_input_exits_2(drift_repo, capsys):
    repo, _ = drift_repo
    code, result, _ = _drift(repo, capsys, "--start", "2026-04-01", "--end", "2026-04-02")
    assert code == 2
    assert "no rows in the current snapshot days 2026-04-01..2026-04-02" in result["error"]
    code, result, _ = _drift(repo, capsys, "--start", "2026-03-09", "--end", "2026-03-07")
    assert code == 2 and "is after --end" in result["error"]
    missing = repo.root / "no_such_table"
    args = ["drift", "--tables", "user_transaction_features", "--baseline-start", "2026-03-01", "--baseline-end"]
    args += ["2026-03-03", "--start", "2026-03-07", "--end", "2026-03-09", *repo.cli_overrides("embedded")]
    code = main([*args, "--set", f"tables.user_features={missing}"])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 2
    assert (
        result["error"] == f"table user_transaction_features: no Delta table at {missing} (run the features job first)"
    )
