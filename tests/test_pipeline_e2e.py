"""The whole chain on generated data: generate -> features -> materialize -> Feast serves exactly the
latest Delta rows (a pandas oracle over the feature tables), quiet-window zero rows included, and
entities whose latest row is older than the view's TTL too, as Feast's own materialize writes them."""

from __future__ import annotations

import datetime as dt

import pytest
from feast import FeatureStore
from online_support import FEATURES, KEY, make_repo, materialized, oracle

from jobs.feast_repo import apply_repo
from jobs.features.run_range import DateRange
from jobs.features_job import compute_features
from jobs.generate_job import generate
from jobs.materialize_job import materialize
from jobs.online_store.embedded import embedded_dynamodb
from jobs.sample_data.params import SampleDataParams

pytestmark = pytest.mark.integration

RUN = DateRange("2026-03-01", "2026-03-20")
START, END = dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 21)


def test_generated_data_is_served_as_the_latest_delta_rows(spark, tmp_path, monkeypatch):
    repo = make_repo(tmp_path)
    raw = [
        f"tables.raw_transactions={tmp_path / 'raw' / 'transactions'}",
        f"tables.raw_chargebacks={tmp_path / 'raw' / 'chargebacks'}",
        f"tables.labels={tmp_path / 'raw' / 'labels'}",
        f"tables.quarantine={tmp_path / 'quarantine'}",
        f"tables.staging={tmp_path / 'staging'}",
        "quality.audit_feature_writes=false",
    ]
    with embedded_dynamodb() as url:
        config = repo.config(url, *raw)
        params = SampleDataParams(
            users=400, merchants=8, days=20, transactions=1500, start_date=RUN.start, seed=11, bad_rows=1
        )
        generate(spark, config, params)
        compute_features(spark, config, run_range=RUN)
        apply_repo(config, url)
        materialize(spark, config, url, start=START.replace(tzinfo=dt.UTC), end=END.replace(tzinfo=dt.UTC))

        monkeypatch.setenv("FRAUD_DYNAMODB_ENDPOINT", url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "embedded-dynalite")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "embedded-dynalite")
        store = FeatureStore(repo_path=str(repo.repo_path))
        for view in ("user_transaction_features", "merchant_risk_features"):
            rows = [tuple(r) for r in spark.read.format("delta").load(repo.table_path(view)).collect()]
            expected = materialized(rows, view, start=START, end=END)
            keys = sorted({r[0] for r in rows})
            refs = [f"{view}:{f}" for f in FEATURES[view]]
            got = store.get_online_features(features=refs, entity_rows=[{KEY[view]: k} for k in keys]).to_dict()
            served = {k: {f: got[f][i] for f in FEATURES[view]} for i, k in enumerate(keys)}
            absent = dict.fromkeys(FEATURES[view])
            assert served == {k: expected.get(k, absent) for k in keys}, view
            if view == "user_transaction_features":
                within_ttl = oracle(rows, view, start=START, end=END)
                assert set(expected) - set(within_ttl), "some users' latest row should be older than the 7-day TTL"
        zero_rows = [
            k
            for k, v in oracle(
                [
                    tuple(r)
                    for r in spark.read.format("delta").load(repo.table_path("user_transaction_features")).collect()
                ],
                "user_transaction_features",
                start=START,
                end=END,
            ).items()
            if v["transaction_count_7d"] == 0
        ]
        assert zero_rows, "the generated data should leave some user on a quiet-window zero row"
