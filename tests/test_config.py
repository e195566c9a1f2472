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
