"""End to end: Delta feature tables -> `python -m jobs materialize` -> Feast reads the values back.

The online values are compared with a brute-force pandas oracle of the latest rows (tests/online_support.py),
through Feast's own get_online_features and through the guide's inference.py, unchanged apart from
repo_path, run as a separate process.
"""

from __future__ import annotations

import ast
import datetime as dt
import json

import pytest
from feast import FeatureStore
from online_support import FEATURES, KEY, day, make_repo, materialized, merchant_row, user_row

from jobs.feast_repo import apply_repo
from jobs.materialize_job import main, materialize
from jobs.online_store.demo import run_inference_script
from jobs.online_store.embedded import embedded_dynamodb, online_endpoint
from jobs.online_store.encoding import entity_id
from jobs.online_store.tables import dynamodb_client

pytestmark = pytest.mark.integration

START, END = day(1), day(12)
USERS = [
    user_row("user_001", day(5), 3, 10.5, 20.0, 2, 3600.0),
    user_row("user_001", day(11), 23, 45000.5, 90000.0, 8, 120.25, created=day(11, hour=1)),
    user_row("user_001", day(11), 24, 1.5, 2.0, 9, 60.0, created=day(11, hour=3)),  # same event, created later
    user_row("user_002", day(9), 4, 12.25, 30.0, 3, 7200.0),
    user_row("user_002", day(10), 0, None, None, 0, None),  # quiet-window zero row
    user_row("user_003", day(2), 7, 5.0, 9.0, 1, None),  # older than END - 7 days: written all the same, as Feast does
    user_row("user_004", day(12), 2, 8.0, 8.0, 1, 10.0),  # exactly END: included
    user_row("user_004", day(13), 99, 99.0, 99.0, 9, 9.0),  # after END: excluded
    user_row("user_005", day(5), 1, 3.5, 3.5, 1, None),
]
MERCHANTS = [
    merchant_row("merch_100", day(3), 40, 55.5, 0.05, 0.0625),
    merchant_row("merch_100", day(11), 0, None, 0.0, 0.01),  # quiet-window zero row
    merchant_row("merch_200", day(1, month=2), 10, 7.5, 0.5, 0.25),  # before START
    merchant_row("merch_300", day(8), 12, 99.75, 0.125, 0.03125),
]
VIEWS = {"user_transaction_features": USERS, "merchant_risk_features": MERCHANTS}


@pytest.fixture(scope="module")
def online(spark, tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("online_repo"))
    for view, rows in VIEWS.items():
        repo.write(spark, view, rows)
    with embedded_dynamodb() as url:
        apply_repo(repo.config(url), url)
        yield repo, url


@pytest.fixture()
def aws_env(monkeypatch, online):
    _, url = online
    monkeypatch.setenv("FRAUD_DYNAMODB_ENDPOINT", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "embedded-dynalite")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "embedded-dynalite")


def materialize_and_serve(spark, config, *, start: dt.datetime, end: dt.datetime) -> dict:
    """The demo's steps 4-5 alone: apply, materialize and the guide's inference.py, on the run's endpoint."""
    with online_endpoint(config) as url:
        apply_repo(config, url)
        result = materialize(spark, config, url, start=start, end=end)
        output = run_inference_script(config, url)
    return {"materialize": result, "inference_output": output}


def _run(command: str, args: list[str], repo, url, capsys) -> tuple[int, dict]:
    code = main([*args, *repo.cli_overrides(url)], command=command)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return code, json.loads(lines[-1])


def _online_values(repo, view: str, keys: list[str]) -> dict[str, dict]:
    store = FeatureStore(repo_path=str(repo.repo_path))
    refs = [f"{view}:{f}" for f in FEATURES[view]]
    got = store.get_online_features(features=refs, entity_rows=[{KEY[view]: k} for k in keys]).to_dict()
    return {k: {f: got[f][i] for f in FEATURES[view]} for i, k in enumerate(keys)}


def _expected(view: str, keys: list[str], start=START, end=END) -> dict[str, dict]:
    latest = materialized(VIEWS[view], view, start=start, end=end)
    return {k: latest.get(k, dict.fromkeys(FEATURES[view])) for k in keys}


def test_materialize_serves_the_latest_rows(online, aws_env, capsys):
    repo, url = online
    code, result = _run("materialize", ["--start", START.isoformat(), "--end", END.isoformat()], repo, url, capsys)
    assert code == 0, result
    users = result["views"]["user_transaction_features"]
    assert (users["items"], users["skipped_stale"], users["write_mode"]) == (5, 0, "checked")
    assert result["views"]["merchant_risk_features"]["items"] == 2
    for view, rows in VIEWS.items():
        keys = sorted({r[0] for r in rows})
        assert _online_values(repo, view, keys) == _expected(view, keys)
    # The zero rows are served as zeros, a row older than the TTL as it is, a row before START not at all.
    assert _online_values(repo, "user_transaction_features", ["user_002"])["user_002"]["transaction_count_7d"] == 0
    assert _online_values(repo, "user_transaction_features", ["user_003"])["user_003"]["transaction_count_7d"] == 7
    assert _online_values(repo, "merchant_risk_features", ["merch_200"])["merch_200"]["risk_score"] is None
    store = FeatureStore(repo_path=str(repo.repo_path))
    for view in VIEWS:
        intervals = store.get_feature_view(view).materialization_intervals
        assert intervals == [(START.replace(tzinfo=dt.UTC), END.replace(tzinfo=dt.UTC))]


def test_guide_inference_script_prints_the_latest_values(online):
    repo, url = online
    printed = ast.literal_eval(run_inference_script(repo.config(url), url).strip().splitlines()[-1])
    user = _expected("user_transaction_features", ["user_001"])["user_001"]
    merchant = _expected("merchant_risk_features", ["merch_100"])["merch_100"]
    assert printed == {
        "user_id": ["user_001"],
        "merchant_id": ["merch_100"],
        "transaction_count_7d": [user["transaction_count_7d"]],
        "transaction_amount_avg_7d": [user["transaction_amount_avg_7d"]],
        "unique_merchants_7d": [user["unique_merchants_7d"]],
        "chargeback_rate_30d": [merchant["chargeback_rate_30d"]],
        "risk_score": [merchant["risk_score"]],
    }


def test_incremental_starts_where_the_registry_ended(online, aws_env, capsys):
    repo, url = online
    later = day(14)
    code, result = _run(
        "materialize-incremental",
        ["--end", later.isoformat(), "--feature-views", "user_transaction_features"],
        repo,
        url,
        capsys,
    )
    assert code == 0, result
    view = result["views"]["user_transaction_features"]
    assert view["start"] == END.replace(tzinfo=dt.UTC).isoformat()
    # The window [END, later] holds user_004's rows of the 12th and 13th: one item, the 13th's.
    assert view["items"] == 1
    keys = ["user_001", "user_004"]
    expected = _expected("user_transaction_features", keys)
    expected["user_004"] = _expected("user_transaction_features", ["user_004"], start=END, end=later)["user_004"]
    assert _online_values(repo, "user_transaction_features", keys) == expected
    code, again = _run("materialize-incremental", ["--end", later.isoformat()], repo, url, capsys)
    assert code == 0
    assert "skipped" in again["views"]["user_transaction_features"]
    store = FeatureStore(repo_path=str(repo.repo_path))
    assert len(store.get_feature_view("user_transaction_features").materialization_intervals) == 2


def test_ttl_attribute_and_a_rerun_of_the_same_window(online, aws_env, capsys):
    repo, url = online
    args = ["--start", START.isoformat(), "--end", END.isoformat(), "--feature-views", "merchant_risk_features"]
    args += ["--set", "online_store.ttl_attribute_enabled=true"]
    code, result = _run("materialize", args, repo, url, capsys)
    assert code == 0, result
    # The same window again: same items, and the registry keeps one interval for it.
    assert result["registry_intervals_added"] == 0
    client = dynamodb_client(url, region="us-east-1")
    item = client.get_item(
        TableName="fraud_detection.merchant_risk_features",
        Key={"entity_id": {"S": entity_id([("merchant_id", "STRING", "merch_300")])}},
    )["Item"]
    assert int(item["expires_at"]["N"]) == int((day(8) + dt.timedelta(days=30)).replace(tzinfo=dt.UTC).timestamp())
    keys = ["merch_100", "merch_300"]
    assert _online_values(repo, "merchant_risk_features", keys) == _expected("merchant_risk_features", keys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-03-12", "--end", "2026-03-01"], "is after --end"),
        (["--start", "2026-03-01", "--end", "2026-03-12", "--feature-views", "nope"], "unknown feature view nope"),
    ],
)
def test_bad_arguments_exit_2(online, capsys, args, message):
    repo, url = online
    code, result = _run("materialize", args, repo, url, capsys)
    assert code == 2
    assert message in result["error"]


def test_demo_hook_uses_the_embedded_server_and_prints_the_guide_output(online, spark, capsys):
    repo, _ = online
    result = materialize_and_serve(spark, repo.config("embedded"), start=START, end=END)
    printed = ast.literal_eval(result["inference_output"].strip().splitlines()[-1])
    assert printed["transaction_count_7d"] == [
        _expected("user_transaction_features", ["user_001"])["user_001"]["transaction_count_7d"]
    ]
    assert printed["risk_score"] == [_expected("merchant_risk_features", ["merch_100"])["merch_100"]["risk_score"]]
    assert result["materialize"]["endpoint"].startswith("http://127.0.0.1:")
