"""jobs.feast_repo: one RepoConfig for every job, and `feast apply` that leaves the process as it found it."""

from __future__ import annotations

import os
import sys

import pytest
from feast.infra.registry.registry import Registry
from online_support import make_repo

from jobs.aws_credentials import client_environment, loopback_credentials
from jobs.config import load_config
from jobs.errors import ConfigError
from jobs.feast_repo import ATOMIC_REGISTRY_STORE, apply_repo, feature_store, repo_config
from jobs.offline_store.registry_store import AtomicFileRegistryStore
from jobs.online_store.embedded import embedded_dynamodb

REPO_MODULES = ("entities", "sources", "features", "services")  # feature_defs/*.py, imported by bare name


def test_a_local_registry_is_written_atomically_and_the_online_store_is_the_configured_one(tmp_path):
    config = load_config(env="local", overrides=[f"feast.registry={tmp_path}/registry.db", "feast.project=p1"])
    rc = repo_config(config, "http://127.0.0.1:9")
    # Feast's own Registry picks the store class from the config, as every Feast client does.
    registry = Registry(rc.project, rc.registry, rc.repo_path)
    assert isinstance(registry._registry_store, AtomicFileRegistryStore)
    assert (rc.project, rc.registry.path) == ("p1", f"{tmp_path}/registry.db")
    assert (rc.online_store.endpoint_url, rc.online_store.region) == ("http://127.0.0.1:9", config.online_store.region)
    assert rc.online_store.table_name_template == config.online_store.table_name_template


def test_a_uri_registry_uses_feasts_store_for_its_scheme():
    config = load_config(env="local", overrides=["feast.registry=s3://bucket/feast/registry.db"])
    rc = repo_config(config)
    assert rc.registry.registry_store_type is None  # Feast chooses S3RegistryStore from the scheme
    assert rc.registry.path == "s3://bucket/feast/registry.db"
    assert rc.online_store.endpoint_url is None  # AWS's regional endpoint


def test_feasts_loader_expands_variables_in_the_file(tmp_path, monkeypatch):
    repo = make_repo(tmp_path).repo_path
    yaml_path = repo / "feature_store.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("hot_key_rows: 1000000", "hot_key_rows: ${HOT_ROWS_FOR_TEST}"))
    monkeypatch.setenv("HOT_ROWS_FOR_TEST", "77")
    config = load_config(env="local", overrides=[f"feast.repo_path={repo}"])
    assert repo_config(config).offline_store.hot_key_rows == 77


def test_a_repo_without_feature_store_yaml_is_a_configuration_error(tmp_path):
    repo = make_repo(tmp_path).repo_path  # the views' files stay: the window settings are checked against them
    (repo / "feature_store.yaml").unlink()
    config = load_config(env="local", overrides=[f"feast.repo_path={repo}"])
    with pytest.raises(ConfigError, match="holds no feature_store.yaml"):
        repo_config(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("project: p\nregistry: r.db\nonline_store: {type: dynamodb, region: r, no_such_key: 1}\n", "no_such_key"),
        ("project: p\nregistry: [r.db\n", "feature_store.yaml"),
    ],
)
def test_a_malformed_feature_store_yaml_is_a_configuration_error(tmp_path, text, message):
    repo = make_repo(tmp_path).repo_path
    (repo / "feature_store.yaml").write_text(text)
    config = load_config(env="local", overrides=[f"feast.repo_path={repo}"])
    with pytest.raises(ConfigError, match=message):
        repo_config(config)


def test_a_project_feast_cannot_name_is_a_configuration_error():
    config = load_config(env="local", overrides=["feast.project=_hidden"])
    with pytest.raises(ConfigError, match=r"(?s)feast\.project.*Project name, _hidden"):
        repo_config(config)


def test_loopback_credentials_are_set_for_the_block_only(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-callers")
    with loopback_credentials("http://127.0.0.1:8000"):
        assert os.environ["AWS_ACCESS_KEY_ID"] == "embedded-dynalite"
        assert os.environ["AWS_SECRET_ACCESS_KEY"] == "embedded-dynalite"
    assert "AWS_ACCESS_KEY_ID" not in os.environ
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "the-callers"
    with loopback_credentials("https://dynamodb.us-east-1.amazonaws.com"):
        assert "AWS_ACCESS_KEY_ID" not in os.environ  # real AWS: the standard chain, untouched


def test_a_feast_client_process_gets_the_endpoint_and_only_loopback_placeholders():
    base = {"PATH": "/bin"}
    assert client_environment("http://localhost:4567", base) == {
        "PATH": "/bin",
        "FRAUD_DYNAMODB_ENDPOINT": "http://localhost:4567",
        "AWS_ACCESS_KEY_ID": "embedded-dynalite",
        "AWS_SECRET_ACCESS_KEY": "embedded-dynalite",
    }
    assert client_environment(None, base) == base


@pytest.mark.integration
def test_apply_registers_the_views_and_leaves_the_process_as_it_found_it(tmp_path):
    repo = make_repo(tmp_path)
    with embedded_dynamodb() as url:
        config = repo.config(url)
        before = (os.getcwd(), list(sys.path), dict(os.environ))
        apply_repo(config, url)
        after = (os.getcwd(), list(sys.path), dict(os.environ))
        with loopback_credentials(url):
            views = feature_store(config, url).list_feature_views()
    assert after == before
    assert not set(REPO_MODULES) & set(sys.modules)  # a second repo applied in this process is read afresh
    assert sorted(v.name for v in views) == ["merchant_risk_features", "user_transaction_features"]
    assert config.feast.registry.endswith("registry.db") and os.path.isfile(config.feast.registry)
    assert ATOMIC_REGISTRY_STORE.endswith(AtomicFileRegistryStore.__name__)
