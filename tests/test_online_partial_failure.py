"""A failed run followed by a backfill: no served value may go back in time.

The failures are real: a loopback proxy in front of dynalite (tests/online_support.FaultProxy) throttles
every BatchWriteItem into the merchant table, or every one after the first, until the writer's retry
bound runs out and the job exits 3. Then an older window is materialized. What Feast serves is read
through Feast's own get_online_features (values and event timestamps) and from the raw items.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from feast import FeatureStore
from online_support import FaultProxy, make_repo, merchant_row, user_row

from jobs.aws_credentials import EMBEDDED_CREDENTIALS
from jobs.feast_repo import apply_repo
from jobs.materialize_job import main
from jobs.online_store.embedded import embedded_dynamodb
from jobs.online_store.tables import dynamodb_client

pytestmark = pytest.mark.integration

USER_TABLE = "fraud_detection.user_transaction_features"
MERCHANT_TABLE = "fraud_detection.merchant_risk_features"
START = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
BACKFILL_END = dt.datetime(2026, 2, 7, tzinfo=dt.UTC)
END = dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
SERVED_END, SERVED_BACKFILL_END = int(END.timestamp()), int(BACKFILL_END.timestamp())
USERS = [f"user_{i:03d}" for i in range(60)]
# Each user: a row on 02-07 (count 7) and a newer one on 02-10 (count 10).
ROWS = [
    user_row(user, day.replace(tzinfo=None), day.day, float(day.day), float(day.day), 1, None)
    for user in USERS
    for day in (BACKFILL_END, END)
]
MERCHANTS = [merchant_row(f"merch_{i}", END.replace(tzinfo=None), 3, 9.5, 0.1, 0.2) for i in range(5)]
BOTH_VIEWS = "user_transaction_features,merchant_risk_features"


@pytest.fixture()
def online(spark, tmp_path, monkeypatch):
    repo = make_repo(tmp_path)
    repo.write(spark, "user_transaction_features", ROWS)
    repo.write(spark, "merchant_risk_features", MERCHANTS)
    with embedded_dynamodb() as url:
        monkeypatch.setenv("FRAUD_DYNAMODB_ENDPOINT", url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", EMBEDDED_CREDENTIALS["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", EMBEDDED_CREDENTIALS["aws_secret_access_key"])
        apply_repo(repo.config(url), url)
        yield repo, url


def _job(args: list[str], overrides: list[str], capsys) -> tuple[int, dict]:
    code = main([*args, *[a for o in overrides for a in ("--set", o)]], command="materialize")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return code, json.loads(lines[-1])


def _window(end: dt.datetime, views: str) -> list[str]:
    return ["--start", START.isoformat(), "--end", end.isoformat(), "--feature-views", views]


def _stored_event_ts(url: str) -> dict[str, str]:
    client = dynamodb_client(url, region="us-east-1")
    pages = client.get_paginator("scan").paginate(TableName=USER_TABLE, ConsistentRead=True)
    return {item["entity_id"]["S"]: item["event_ts"]["S"] for page in pages for item in page["Items"]}


def _served(repo) -> dict[str, tuple[int | None, int | None]]:
    """(transaction_count_7d, its event time in epoch seconds) per user, as Feast serves them."""
    store = FeatureStore(repo_path=str(repo.repo_path))
    response = store.get_online_features(
        features=["user_transaction_features:transaction_count_7d"], entity_rows=[{"user_id": u} for u in USERS]
    ).to_dict(include_event_timestamps=True)
    served = zip(response["transaction_count_7d"], response["transaction_count_7d__ts"], strict=True)
    return dict(zip(USERS, served, strict=True))


def _intervals(repo, view: str) -> list[tuple[dt.datetime, dt.datetime]]:
    return FeatureStore(repo_path=str(repo.repo_path)).get_feature_view(view).materialization_intervals


def test_view_written_before_a_failure_is_recorded_and_a_backfill_keeps_it(online, capsys):
    repo, url = online
    proxy = FaultProxy(url, throttled_tables=frozenset({MERCHANT_TABLE}))
    try:
        failing = [*repo.overrides(proxy.url), "online_store.retry_max_seconds=1"]
        code, result = _job(_window(END, BOTH_VIEWS), failing, capsys)
    finally:
        proxy.close()
    assert code == 3, result
    assert "merchant_risk_features" in result["error"]
    # The user view was written in full before the merchant view failed: recorded, as Feast records it.
    assert _intervals(repo, "user_transaction_features") == [(START, END)]
    assert _intervals(repo, "merchant_risk_features") == []
    assert set(_served(repo).values()) == {(10, SERVED_END)}

    code, result = _job(_window(BACKFILL_END, "user_transaction_features"), repo.overrides(url), capsys)
    assert code == 0, result
    view = result["views"]["user_transaction_features"]
    assert (view["items"], view["skipped_stale"]) == (0, len(USERS))
    assert set(_served(repo).values()) == {(10, SERVED_END)}
    assert set(_stored_event_ts(url).values()) == {"2026-02-10 00:00:00+00:00"}


def test_a_view_left_half_written_is_never_rolled_back_by_a_backfill(online, capsys):
    repo, url = online
    # The first BatchWriteItem lands, every later one is throttled: the user view is half written.
    proxy = FaultProxy(url, accept_writes=1)
    try:
        failing = [*repo.overrides(proxy.url), "online_store.retry_max_seconds=1"]
        code, result = _job(_window(END, "user_transaction_features"), failing, capsys)
    finally:
        proxy.close()
    assert code == 3, result
    assert _intervals(repo, "user_transaction_features") == []
    newer = _stored_event_ts(url)
    assert 0 < len(newer) < len(USERS)
    assert set(newer.values()) == {"2026-02-10 00:00:00+00:00"}

    # Nothing in the registry says newer items exist, yet the backfill must not roll those back.
    code, result = _job(_window(BACKFILL_END, "user_transaction_features"), repo.overrides(url), capsys)
    assert code == 0, result
    view = result["views"]["user_transaction_features"]
    assert (view["items"], view["skipped_stale"]) == (len(USERS) - len(newer), len(newer))
    after = _stored_event_ts(url)
    assert {key: after[key] for key in newer} == newer
    served = _served(repo)
    assert sorted(served.values()).count((10, SERVED_END)) == len(newer)
    assert sorted(served.values()).count((7, SERVED_BACKFILL_END)) == len(USERS) - len(newer)
