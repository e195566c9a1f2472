"""`python -m jobs apply`: the Feast sources must find both feature tables in one folder."""

from __future__ import annotations

import json

import pytest

from jobs.apply_job import main
from jobs.config import load_config
from jobs.feast_repo import feature_tables_folder


def test_the_folder_of_both_feature_tables_is_what_the_sources_read():
    config = load_config(
        env="local",
        overrides=[
            "tables.user_features=s3://lake/gold/user_transaction_features",
            "tables.merchant_features=s3://lake/gold/merchant_risk_features/",
        ],
    )
    assert feature_tables_folder(config) == "s3://lake/gold"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["tables.user_features=/a/users"], "tables.user_features must end in /user_transaction_features"),
        (
            ["tables.user_features=/a/user_transaction_features", "tables.merchant_features=/b/merchant_risk_features"],
            "must share a folder",
        ),
    ],
)
def test_tables_the_sources_cannot_find_exit_2_before_anything_runs(overrides, message, capsys):
    argv = [arg for o in overrides for arg in ("--set", o)]
    assert main(argv) == 2
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert message in result["error"]
