import pytest
from pyspark.sql import functions as F


def test_session_runs_in_utc_with_delta(spark, tmp_path):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    path = str(tmp_path / "t")
    spark.range(3).withColumn("ts", F.timestamp_seconds(F.col("id") * 86400)).write.format("delta").save(path)
    got = spark.read.format("delta").load(path).orderBy("id").collect()
    assert [r.ts.isoformat() for r in got] == ["1970-01-01T00:00:00", "1970-01-02T00:00:00", "1970-01-03T00:00:00"]


def test_a_running_jvm_gets_no_launch_settings(config):
    from jobs.session import session_settings

    launching = session_settings(config.spark)
    assert launching["spark.jars"].count("delta-spark") == 1 and "spark.pyspark.python" in launching
    running = session_settings(config.spark, jvm_running=True)
    assert "spark.jars" not in running and "spark.pyspark.python" not in running
    assert running["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_no_jars_folder_means_delta_comes_with_the_platform(config, tmp_path):
    import dataclasses

    from jobs.errors import ConfigError
    from jobs.session import session_settings

    assert "spark.jars" not in session_settings(dataclasses.replace(config.spark, jars_dir=None))
    with pytest.raises(ConfigError, match="FRAUD_SHIP_JARS=0"):
        session_settings(dataclasses.replace(config.spark, jars_dir=str(tmp_path)))


@pytest.mark.parametrize("env", ["local", "emr", "databricks"])
@pytest.mark.parametrize("jvm_running", [False, True])
def test_no_console_progress_bars_in_any_environment(env, jvm_running, monkeypatch):
    from jobs.config import load_config
    from jobs.session import session_settings

    monkeypatch.setenv("FRAUD_SHIP_JARS", "0")
    config = load_config(env=env, overrides=["spark.conf.spark.ui.showConsoleProgress=true"])
    assert session_settings(config.spark, jvm_running=jvm_running)["spark.ui.showConsoleProgress"] == "false"
