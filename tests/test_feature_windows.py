"""A window setting that contradicts the feature names or the Feast TTLs is a configuration error (exit 2)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys

import pytest
from feast.repo_operations import parse_repo

from jobs import __main__ as entry
from jobs.config import REPO_ROOT, load_config
from jobs.errors import ConfigError
from jobs.feature_windows import view_ttl_days

REPO_MODULES = ("entities", "sources", "features", "services")


def feast_ttls(repo):
    """TTLs in days as Feast itself reads the repo (as `feast apply` does, from inside it)."""
    sys.path.append(str(repo))
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        return {v.name: v.ttl / dt.timedelta(days=1) for v in parse_repo(repo).feature_views}
    finally:
        os.chdir(cwd)
        sys.path.remove(str(repo))
        for name in REPO_MODULES:
            sys.modules.pop(name, None)


def repo_copy(tmp_path, old, new):
    repo = tmp_path / "feature_defs"
    shutil.copytree(REPO_ROOT / "feature_defs", repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    text = (repo / "features.py").read_text()
    assert old in text
    (repo / "features.py").write_text(text.replace(old, new))
    return repo


@pytest.mark.parametrize(
    ("setting", "value", "contradicted"),
    [
        ("features.user_window_days", 5, ["transaction_count_7d (7 days)", "unique_merchants_7d (7 days)"]),
        ("features.merchant_window_days", 7, ["total_transactions_30d (30 days)", "chargeback_rate_30d (30 days)"]),
    ],
)
def test_a_window_unlike_the_feature_names_is_rejected_at_load(setting, value, contradicted):
    with pytest.raises(ConfigError) as raised:
        load_config(env="local", overrides=[f"{setting}={value}"])
    message = str(raised.value)
    assert message.startswith(f"setting {setting}={value} contradicts ")
    assert all(name in message for name in contradicted), message
    assert "ttl (7 days)" in message if "user" in setting else "ttl (30 days)" in message
    assert raised.value.details["setting"] == setting and raised.value.details["value"] == value


def test_the_configured_windows_agree_with_names_and_ttls():
    config = load_config(env="local")
    assert (config.features.user_window_days, config.features.merchant_window_days) == (7, 30)


def test_a_feast_ttl_unlike_the_window_is_rejected(tmp_path):
    repo = repo_copy(tmp_path, "ttl=timedelta(days=30)", "ttl=timedelta(days=31)")
    with pytest.raises(ConfigError, match=r"features\.merchant_window_days=30 contradicts") as raised:
        load_config(env="local", overrides=[f"feast.repo_path={repo}"])
    assert raised.value.details["contradicts"] == ["Feast view merchant_risk_features ttl (31 days)"]


@pytest.mark.parametrize(
    "ttl",
    ["timedelta(days=7)", "timedelta(weeks=1)", "timedelta(7)", "timedelta(days=6, hours=24)", "timedelta(hours=36)"],
)
def test_the_ttls_read_from_source_are_feasts(tmp_path, ttl):
    repo = repo_copy(tmp_path, "ttl=timedelta(days=7)", f"ttl={ttl}")
    assert view_ttl_days(repo) == feast_ttls(repo)


def test_a_ttl_that_is_not_a_literal_is_named(tmp_path):
    repo = repo_copy(tmp_path, "ttl=timedelta(days=7)", "ttl=timedelta(days=len('seven!!'))")
    with pytest.raises(ConfigError, match="FeatureView 'user_transaction_features' ttl is not a literal"):
        load_config(env="local", overrides=[f"feast.repo_path={repo}"])


@pytest.mark.parametrize("command", ["features", "materialize", "monitor"])
def test_the_cli_exits_2_naming_the_setting(capsys, command):
    argv = [command, "--set", "features.user_window_days=5", "--run-date", "2026-03-02"]
    if command == "monitor":
        argv = ["monitor", "freshness", "--set", "features.user_window_days=5", "--run-date", "2026-03-02"]
    elif command == "materialize":
        argv = [
            command,
            "--set",
            "features.user_window_days=5",
            "--start",
            "2026-03-01T00:00:00Z",
            "--end",
            "2026-03-02T00:00:00Z",
        ]
    code = entry.main(argv)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (code, line["exit_code"], line["status"]) == (2, 2, "failed"), line
    assert (line["setting"], line["value"]) == ("features.user_window_days", 5)
    assert "transaction_count_7d (7 days)" in line["contradicts"]
    assert "Feast view user_transaction_features ttl (7 days)" in line["contradicts"]
