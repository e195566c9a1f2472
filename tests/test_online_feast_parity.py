"""The materializer writes exactly the items Feast's own engine writes for the same rows and windows.

The oracle is Feast itself: `FeatureStore.materialize` / `materialize_incremental` with Feast's local
engine and its stock Spark offline store, over the same Delta tables, into a second project
(`feast_reference.*` tables) on the same dynalite. Every item of both projects' tables is read raw
(boto3 scan) and compared byte for byte. The rows are adversarial at the TTL edge: entities whose only
rows in a window are older than the view's TTL, and a user whose busy week is followed by a quiet-window
zero row that falls outside `end - TTL` of the incremental run that must write it.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from feast import FeatureStore
from feast.repo_config import RepoConfig
from online_support import FEATURES, KEY, make_repo, merchant_row, user_row

from conftest import feast_regex_setting_restored
from jobs.aws_credentials import EMBEDDED_CREDENTIALS
from jobs.feast_repo import apply_repo
from jobs.materialize_job import main
from jobs.online_store.embedded import embedded_dynamodb
from jobs.online_store.tables import dynamodb_client

pytestmark = pytest.mark.integration

REFERENCE = "feast_reference"
OURS = "fraud_detection"
VIEWS = ("user_transaction_features", "merchant_risk_features")
START = dt.datetime(2026, 1, 1)
FIRST_END = dt.datetime(2026, 2, 6)  # first window [START, FIRST_END]
LATER_END = dt.datetime(2026, 3, 1)  # then incremental [FIRST_END, LATER_END]; users' END - TTL = 02-22


def d(month: int, day_: int, hour: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day_, hour, 0, 0, micro)


USERS = [
    # Busy day, then a week later a quiet-window zero row: the incremental run must write the zero.
    user_row("u_quiet", d(2, 4), 5, 40.0, 95.5, 3, 1800.0),
    user_row("u_quiet", d(2, 11), 0, None, None, 0, None),
    # Only rows older than END - TTL in each window.
    user_row("u_old_first", d(1, 10), 2, 3.25, 4.0, 1, 12.0),
    user_row("u_old_later", d(2, 8), 7, 8.5, 9.0, 2, 33.0),
    user_row("u_old_later", d(2, 9), 6, 7.5, 8.0, 2, None),
    # Same event time: the later created_timestamp wins.
    user_row("u_tie", d(2, 20), 1, 1.0, 1.0, 1, None, created=d(2, 20, 5)),
    user_row("u_tie", d(2, 20), 2, 2.0, 2.0, 2, 2.0, created=d(2, 20, 9)),
    user_row("u_tie", d(2, 20), 3, 3.0, 3.0, 3, 3.0, created=d(2, 20, 7)),
    # Bounds: exactly the first end (in both windows), exactly the later end, and after it.
    user_row("u_edges", d(2, 6), 11, 1.5, 2.5, 1, None),
    user_row("u_edges", d(3, 1), 12, 2.5, 3.5, 2, 60.0),
    user_row("u_edges", d(3, 1, 1), 99, 99.0, 99.0, 9, 9.0),
    user_row("u_future", d(3, 2), 4, 4.0, 4.0, 4, 4.0),
    # Fractional seconds in Feast's event_ts string.
    user_row("u_micro", d(2, 25, 10, 345678), 8, 0.1, 0.2, 3, 0.3),
]
MERCHANTS = [
    merchant_row("m_old_first", d(1, 2), 10, 7.5, 0.5, 0.25),  # older than FIRST_END - 30 days
    merchant_row("m_quiet", d(1, 20), 40, 55.5, 0.05, 0.0625),
    merchant_row("m_quiet", d(2, 27), 0, None, 0.0, 0.01),
    merchant_row("m_tie", d(2, 14), 1, 1.0, 0.1, 0.1, created=d(2, 14, 3)),
    merchant_row("m_tie", d(2, 14), 2, 2.0, 0.2, 0.2, created=d(2, 14, 4)),
]


def _random_rows() -> tuple[list[tuple], list[tuple]]:
    """Entities with 1-4 rows anywhere from 12-25 to 03-03, distinct created times (no exact ties)."""
    rng = random.Random(13)
    users, merchants = [], []
    for i in range(40):
        for _ in range(rng.randint(1, 4)):
            event = dt.datetime(2025, 12, 25) + dt.timedelta(hours=rng.randint(0, 68 * 24))
            created = event + dt.timedelta(minutes=rng.randint(1, 10**6))
            count = rng.randint(0, 30)
            amount = None if count == 0 else round(rng.uniform(0, 500), 3)
            users.append(user_row(f"r_user_{i:02d}", event, count, amount, amount, count % 5, None, created=created))
            if i % 2 == 0:
                merchants.append(
                    merchant_row(f"r_merch_{i:02d}", event, count, amount, rng.random(), rng.random(), created=created)
                )
    return users, merchants


@pytest.fixture(scope="module")
def stores(spark, tmp_path_factory, monkeypatch_module):
    random_users, random_merchants = _random_rows()
    repo = make_repo(tmp_path_factory.mktemp("parity_repo"))
    repo.write(spark, "user_transaction_features", USERS + random_users)
    repo.write(spark, "merchant_risk_features", MERCHANTS + random_merchants)
    reference_registry = repo.root / "data" / "feast" / "reference.db"
    # Feast's Spark store below turns its regex setting on in the shared session; put back after.
    with feast_regex_setting_restored(), embedded_dynamodb() as url:
        monkeypatch_module.setenv("AWS_ACCESS_KEY_ID", EMBEDDED_CREDENTIALS["aws_access_key_id"])
        monkeypatch_module.setenv("AWS_SECRET_ACCESS_KEY", EMBEDDED_CREDENTIALS["aws_secret_access_key"])
        apply_repo(repo.config(url), url)
        apply_repo(repo.config(url, f"feast.project={REFERENCE}", f"feast.registry={reference_registry}"), url)
        reference = FeatureStore(
            config=RepoConfig(
                project=REFERENCE,
                provider="local",
                registry=str(reference_registry),
                offline_store={"type": "spark"},  # Feast's stock Spark offline store, not the project's
                online_store={
                    "type": "dynamodb",
                    "region": "us-east-1",
                    "endpoint_url": url,
                    "table_name_template": "{project}.{table_name}",
                },
                entity_key_serialization_version=3,
            )
        )
        yield repo, url, reference


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _ours(command: str, args: list[str], repo, url, capsys) -> dict:
    code = main([*args, *repo.cli_overrides(url)], command=command)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    assert code == 0, result
    return result


def _items(url: str, project: str, view: str) -> dict[str, dict]:
    client = dynamodb_client(url, region="us-east-1")
    items = {}
    for page in client.get_paginator("scan").paginate(TableName=f"{project}.{view}", ConsistentRead=True):
        items.update({item["entity_id"]["S"]: item for item in page["Items"]})
    return items


def _assert_same_items(url: str) -> None:
    for view in VIEWS:
        ours, feast = _items(url, OURS, view), _items(url, REFERENCE, view)
        assert sorted(ours) == sorted(feast), view
        different = [key for key in feast if ours[key] != feast[key]]
        assert different == [], (view, [(ours[k], feast[k]) for k in different[:3]])


def _served(url: str, repo, view: str, keys: list[str]) -> dict[str, dict]:
    store = FeatureStore(repo_path=str(repo.repo_path))
    refs = [f"{view}:{f}" for f in FEATURES[view]]
    got = store.get_online_features(features=refs, entity_rows=[{KEY[view]: k} for k in keys]).to_dict()
    return {k: {f: got[f][i] for f in FEATURES[view]} for i, k in enumerate(keys)}


def test_first_window_then_incremental_write_what_feast_writes(stores, capsys, monkeypatch):
    repo, url, reference = stores
    monkeypatch.setenv("FRAUD_DYNAMODB_ENDPOINT", url)

    reference.materialize(START, FIRST_END)
    _ours("materialize", ["--start", START.isoformat(), "--end", FIRST_END.isoformat()], repo, url, capsys)
    _assert_same_items(url)
    # Older than FIRST_END - TTL, yet written by Feast and served.
    assert _served(url, repo, "user_transaction_features", ["u_old_first"])["u_old_first"]["transaction_count_7d"] == 2
    assert _served(url, repo, "merchant_risk_features", ["m_old_first"])["m_old_first"]["total_transactions_30d"] == 10

    reference.materialize_incremental(LATER_END)
    result = _ours("materialize-incremental", ["--end", LATER_END.isoformat()], repo, url, capsys)
    assert {v["start"] for v in result["views"].values()} == {FIRST_END.replace(tzinfo=dt.UTC).isoformat()}
    _assert_same_items(url)
    served = _served(url, repo, "user_transaction_features", ["u_quiet", "u_old_later", "u_tie", "u_edges"])
    # The user who went quiet serves the zero row, not the busy week before it.
    assert served["u_quiet"]["transaction_count_7d"] == 0
    assert served["u_old_later"]["transaction_count_7d"] == 6
    assert served["u_tie"]["transaction_count_7d"] == 2
    assert served["u_edges"]["transaction_count_7d"] == 12
