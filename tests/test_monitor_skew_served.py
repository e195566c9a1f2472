"""`python -m jobs monitor skew` on what was served: materialize into dynalite, serve through the real
Feast SDK (the guide's inference.py and jobs.online_store.serving), log with Feast's feature logging,
then compare the logged values with the point-in-time join at each request's time.

Oracles: what Feast should serve and what the join should give are computed in pandas from the rows
written (tests/online_support: `materialized`, `oracle`); the mismatches are known by construction
(the one online item rewritten with an older row, the one user whose only row is older than the TTL).
Each test logs to its own folder (the feature service is re-applied with it), so runs do not mix.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from online_support import FEATURES, NOW, TTL, days_ago, make_repo, materialized, merchant_row, oracle, user_row

from jobs.aws_credentials import EMBEDDED_CREDENTIALS
from jobs.feast_repo import apply_repo, feature_store
from jobs.materialize_job import main as materialize_main
from jobs.monitor_job import main
from jobs.online_store.demo import run_inference_script
from jobs.online_store.embedded import embedded_dynamodb
from jobs.online_store.serving import get_online_features_logged

pytestmark = pytest.mark.integration

SERVICE = "fraud_detection_v2"
USERS = [
    user_row("user_001", days_ago(3), 3, 10.5, 20.0, 2, 3600.0),
    user_row("user_001", days_ago(1), 5, 12.25, 40.0, 3, 120.5),
    user_row("user_002", days_ago(2), 1, 7.1, 7.3, 1, None),
    user_row("user_003", days_ago(9), 4, 3.3, 5.0, 2, 60.0),  # older than the 7-day TTL at any request today
]
MERCHANTS = [
    merchant_row("merch_100", days_ago(2), 40, 55.5, 0.05, 0.0625),
    merchant_row("merch_300", days_ago(5), 12, 99.75, 0.125, 0.03125),
]
ROWS = {"user_transaction_features": USERS, "merchant_risk_features": MERCHANTS}
KEYS = {"user_transaction_features": "user_id", "merchant_risk_features": "merchant_id"}
EPOCH = dt.datetime(2000, 1, 1)


@pytest.fixture(scope="module")
def online(spark, tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("skew_repo"))
    repo.write(spark, "user_transaction_features", USERS)
    repo.write(spark, "merchant_risk_features", MERCHANTS)
    with embedded_dynamodb() as url:
        apply_repo(repo.config(url), url)
        end = NOW.replace(tzinfo=dt.UTC)
        window = ["--start", (end - dt.timedelta(days=30)).isoformat(), "--end", end.isoformat()]
        assert materialize_main([*window, *repo.cli_overrides(url)], command="materialize") == 0
        yield repo, url


@pytest.fixture
def served_log(online, tmp_path, monkeypatch):
    """This test's log folder, registered as the service's logging destination; Feast's client signs
    its DynamoDB calls with the loopback server's credentials."""
    repo, url = online
    for name, value in (
        ("AWS_ACCESS_KEY_ID", EMBEDDED_CREDENTIALS["aws_access_key_id"]),
        ("AWS_SECRET_ACCESS_KEY", EMBEDDED_CREDENTIALS["aws_secret_access_key"]),
    ):
        monkeypatch.setenv(name, value)
    log = tmp_path / "served_features"
    apply_repo(repo.config(url, f"monitoring.served_log={log}"), url)
    return log


def _store(online, log: Path):
    repo, url = online
    return feature_store(repo.config(url, f"monitoring.served_log={log}"), url)


def _skew(online, log: Path, capsys, *extra: str) -> tuple[int, dict, list[str]]:
    repo, url = online
    day = dt.datetime.now(dt.UTC).date()
    args = ["skew", "--start", (day - dt.timedelta(days=1)).isoformat(), "--end", day.isoformat(), *extra]
    code = main([*args, *repo.cli_overrides(url), "--set", f"monitoring.served_log={log}"])
    out = capsys.readouterr().out.splitlines()
    return code, json.loads([line for line in out if line.startswith("{")][-1]), out


def _logged(log: Path) -> pd.DataFrame:
    return pd.read_parquet(log).sort_values(["__log_timestamp", "user_id"]).reset_index(drop=True)


def _expected_offline(view: str, key: str, at: dt.datetime) -> dict | None:
    """The point-in-time row of `key` at `at` (pandas oracle: latest row in [at - TTL, at])."""
    return oracle(ROWS[view], view, start=EPOCH, end=at).get(key)


def _value(logged):
    """A logged value as Feast serves it (pandas reads a null as NaN)."""
    if logged is None or (isinstance(logged, float) and np.isnan(logged)):
        return None
    return logged.item() if isinstance(logged, np.generic) else logged


def _as_float32(value):
    return None if value is None else float(np.float32(value))


def _counts(result: dict) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(c["view"], c["feature"]): (c["rows"], c["skew"], c["ttl"]) for c in result["features"]}


def test_no_change_gives_zero_mismatches(online, served_log, capsys):
    repo, url = online
    # The guide's inference.py, as a user runs it (a separate process), then one more request in-process.
    run_inference_script(repo.config(url, f"monitoring.served_log={served_log}"), url)
    get_online_features_logged(
        _store(online, served_log), SERVICE, [{"user_id": "user_002", "merchant_id": "merch_300"}]
    )

    logged = _logged(served_log)
    assert list(logged["user_id"]) == ["user_001", "user_002"]
    assert list(logged["merchant_id"]) == ["merch_100", "merch_300"]
    # What was served is what the point-in-time join gives at the request time (the pandas oracle).
    for _, row in logged.iterrows():
        at = row["__log_timestamp"].tz_convert("UTC").tz_localize(None).to_pydatetime()
        for view, key_column in KEYS.items():
            expected = _expected_offline(view, row[key_column], at)
            assert expected is not None
            for feature in FEATURES[view]:
                assert _value(row[f"{view}__{feature}"]) == expected[feature], (view, feature)
                assert row[f"{view}__{feature}__status"] == 1  # FieldStatus.PRESENT

    code, result, out = _skew(online, served_log, capsys)
    assert code == 0, result
    assert (result["requests"], result["mismatches"], result["ttl_differences"]) == (2, 0, 0)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert _counts(result) == {(v, f): (2, 0, 0) for v in FEATURES for f in FEATURES[v]}
    assert {c["day"] for c in result["features"]} == {today}
    assert result["alerts"] == [] and result["examples"] == []
    assert (
        f"OK: skew user_transaction_features.transaction_amount_avg_7d on {today}: 0 of 2 served values differ" in out
    )


def test_a_stale_online_item_is_found_and_named(spark, online, served_log, capsys):
    repo, url = online
    store = _store(online, served_log)
    stale = USERS[0]  # user_001's older row: a materialization that fell behind
    columns = ["user_id", "event_timestamp", "created_timestamp", *FEATURES["user_transaction_features"]]
    store.write_to_online_store("user_transaction_features", pd.DataFrame([stale[:-1]], columns=columns))
    try:
        get_online_features_logged(
            store,
            SERVICE,
            [{"user_id": "user_001", "merchant_id": "merch_100"}, {"user_id": "user_002", "merchant_id": "merch_300"}],
        )
        code, result, out = _skew(online, served_log, capsys)
        # The report shows the newest skew verdict with its alerts.
        report = repo.root / "report.html"
        day = dt.datetime.now(dt.UTC).date().isoformat()
        report_args = ["report", "--start", day, "--end", day, "--output", str(report), *repo.cli_overrides(url)]
        assert main(report_args) == 0
        capsys.readouterr()
    finally:
        fresh = materialized(USERS, "user_transaction_features", start=EPOCH, end=NOW)["user_001"]
        row = {"user_id": "user_001", "event_timestamp": USERS[1][1], "created_timestamp": USERS[1][2], **fresh}
        store.write_to_online_store("user_transaction_features", pd.DataFrame([row]))

    assert code == 1, result
    today = dt.datetime.now(dt.UTC).date().isoformat()
    users, merchants = FEATURES["user_transaction_features"], FEATURES["merchant_risk_features"]
    expected_counts = {("user_transaction_features", f): (2, 1, 0) for f in users}
    expected_counts |= {("merchant_risk_features", f): (2, 0, 0) for f in merchants}
    assert _counts(result) == expected_counts
    assert (result["mismatches"], result["ttl_differences"]) == (len(users), 0)

    requested_at = dt.datetime.fromisoformat(result["examples"][0]["requested_at"]).replace(tzinfo=None)
    offline = _expected_offline("user_transaction_features", "user_001", requested_at)
    stale_values = dict(zip(users, stale[3:8], strict=True))
    assert [(e["key"], e["feature"], e["kind"], e["served"], e["offline"]) for e in result["examples"]] == [
        ({"user_id": "user_001", "merchant_id": "merch_100"}, f, "skew", _as_float32(stale_values[f]), offline[f])
        for f in users
    ]
    assert offline != {f: _as_float32(stale_values[f]) for f in users}
    for f in users:
        assert (
            f"ALERT: skew user_transaction_features.{f} on {today}: 1 of 2 served values (50.00%) differ from the "
            "point-in-time join beyond tolerance 1e-06 (limit 0.00%)"
        ) in out
    assert not [line for line in out if line.startswith("ALERT") and "merchant_risk_features" in line]
    page = report.read_text()
    assert "Training-serving skew on served requests" in page
    assert "ALERT: skew user_transaction_features.transaction_count_7d" in page
    assert "merchant_id=merch_100, user_id=user_001" in page


def test_a_request_past_the_ttl_is_a_ttl_difference_not_skew(online, served_log, capsys):
    get_online_features_logged(
        _store(online, served_log), SERVICE, [{"user_id": "user_003", "merchant_id": "merch_100"}]
    )
    logged = _logged(served_log)
    at = logged["__log_timestamp"][0].tz_convert("UTC").tz_localize(None).to_pydatetime()
    # Feast serves the materialized item whatever its age; the join gives nothing past the TTL.
    served = materialized(USERS, "user_transaction_features", start=EPOCH, end=at)["user_003"]
    assert _expected_offline("user_transaction_features", "user_003", at) is None
    assert USERS[3][1] < at - TTL["user_transaction_features"]

    code, result, out = _skew(online, served_log, capsys)
    assert code == 0, result
    users, merchants = FEATURES["user_transaction_features"], FEATURES["merchant_risk_features"]
    expected_counts = {("user_transaction_features", f): (1, 0, 1) for f in users}
    expected_counts |= {("merchant_risk_features", f): (1, 0, 0) for f in merchants}
    assert _counts(result) == expected_counts
    assert (result["mismatches"], result["ttl_differences"], result["alerts"]) == (0, len(users), [])
    assert [(e["feature"], e["kind"], e["served"], e["offline"]) for e in result["examples"]] == [
        (f, "ttl", served[f], None) for f in users
    ]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (
        f"TTL: user_transaction_features.transaction_count_7d on {today}: 1 of 1 served values were older than "
        "the view's TTL (7 days, 0:00:00) at request time (served online, null in the join; not counted as skew)"
    ) in out
    assert not [line for line in out if line.startswith(("ALERT", "TTL: merchant"))]


def test_nothing_logged_yet_is_not_ready(online, served_log, capsys):
    code, result, out = _skew(online, served_log, capsys)
    assert code == 5, result
    assert f"no served features logged at {served_log}" in result["error"]
