import dataclasses
import re

import pytest

from jobs.config import load_config
from jobs.errors import ConfigError


@pytest.mark.parametrize("env", ["local", "emr", "databricks"])
def test_every_environment_loads(env):
    config = load_config(env=env)
    assert config.env == env
    assert config.feast.project == "fraud_detection"


def test_relative_paths_resolve_against_the_repository_root():
    config = load_config(env="local")
    assert config.tables.user_features.endswith("/data/features/user_transaction_features")
    assert config.tables.user_features.startswith("/")


def test_override_changes_one_setting():
    config = load_config(env="local", overrides=["features.late_arrival_lookback_days=5"])
    assert config.features.late_arrival_lookback_days == 5


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("features.user_window_days=seven", "features.user_window_days"),
        ("features.no_such_key=1", "features.no_such_key"),
        ("tables.user_features=", "tables.user_features"),
        ("online_store.ttl_attribute_enabled=maybe", "online_store.ttl_attribute_enabled"),
        ("nonsense", "dotted.key=value"),
    ],
)
def test_bad_setting_names_the_key(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(env="local", overrides=[override])


def test_missing_setting_names_the_key(tmp_path):
    text = (load_config.__globals__["CONF_DIR"] / "local.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("  late_arrival_lookback_days: 3\n", ""))
    with pytest.raises(ConfigError, match=r"missing setting features\.late_arrival_lookback_days"):
        load_config(config_file=str(broken))


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(ConfigError, match="environments: databricks, emr, local"):
        load_config(env="staging")


def test_spark_conf_override_keeps_the_dotted_spark_key():
    config = load_config(env="local", overrides=["spark.conf.spark.sql.shuffle.partitions=3"])
    assert config.spark.conf["spark.sql.shuffle.partitions"] == "3"


def test_config_file_by_path_and_by_file_uri(tmp_path):
    text = (load_config.__globals__["CONF_DIR"] / "local.yaml").read_text()
    changed = tmp_path / "my conf.yaml"
    changed.write_text(text.replace("  late_arrival_lookback_days: 3\n", "  late_arrival_lookback_days: 6\n"))
    by_path = load_config(config_file=str(changed))
    by_uri = load_config(config_file=changed.as_uri())  # file:///.../my%20conf.yaml
    assert by_path.features.late_arrival_lookback_days == by_uri.features.late_arrival_lookback_days == 6
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(config_file=(tmp_path / "missing.yaml").as_uri())


def test_ship_jars_0_means_the_platform_has_delta(monkeypatch):
    assert load_config(env="local").spark.jars_dir.endswith("/jars")
    monkeypatch.setenv("FRAUD_SHIP_JARS", "0")
    assert load_config(env="local").spark.jars_dir is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  write_rate_cap: 8000\n",
            "  write_rate_cap: 8000\n  write_rate_limit: 100\n",
            "unknown setting online_store.write_rate_limit",
        ),
        ("monitoring:\n", "surprise: 1\nmonitoring:\n", "unknown setting surprise"),
        (
            "  write_rate_cap: 8000\n",
            "  write_rate_cap: '8000'\n",
            "setting online_store.write_rate_cap: Input should be a valid integer",
        ),
        (
            "  write_rate_cap: 8000\n",
            "  write_rate_cap: 8000.5\n",
            "setting online_store.write_rate_cap: Input should be a valid integer",
        ),
        (
            "  audit_training_sets: true\n",
            "  audit_training_sets: 1\n",
            "setting quality.audit_training_sets: Input should be a valid boolean",
        ),
        ("  psi: 0.2\n", "  psi: [0.2]\n", "setting monitoring.psi: Input should be a valid number"),
        ("  project: fraud_detection\n", "  project: 42\n", "setting feast.project: Input should be a valid string"),
        (
            "  reference_days: 7",
            "  reference_days: true",
            "setting monitoring.reference_days: Input should be a valid integer",
        ),
    ],
)
def test_a_file_with_an_unknown_key_or_a_wrong_type_names_the_key(tmp_path, old, new, message):
    text = (load_config.__globals__["CONF_DIR"] / "local.yaml").read_text()
    assert old in text
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(config_file=str(broken))


def test_override_values_are_checked_by_the_same_model():
    config = load_config(
        env="local", overrides=["online_store.retry_max_seconds=5", "inputs.completion_marker=_SUCCESS"]
    )
    assert (config.online_store.retry_max_seconds, config.inputs.completion_marker) == (5.0, "_SUCCESS")
    assert isinstance(config.online_store.retry_max_seconds, float)
    with pytest.raises(ConfigError, match=r"setting online_store\.write_rate_cap: Input should be a valid integer"):
        load_config(env="local", overrides=["online_store.write_rate_cap=fast"])


def test_replace_validates_and_keeps_the_types():
    config = load_config(env="local")
    changed = dataclasses.replace(config, features=dataclasses.replace(config.features, late_arrival_lookback_days=4))
    assert changed.features.late_arrival_lookback_days == 4 and changed.tables == config.tables
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.features.late_arrival_lookback_days = 4
