from pyspark.sql import functions as F


def test_session_runs_in_utc_with_delta(spark, tmp_path):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    path = str(tmp_path / "t")
    spark.range(3).withColumn("ts", F.timestamp_seconds(F.col("id") * 86400)).write.format("delta").save(path)
    got = spark.read.format("delta").load(path).orderBy("id").collect()
    assert [r.ts.isoformat() for r in got] == ["1970-01-01T00:00:00", "1970-01-02T00:00:00", "1970-01-03T00:00:00"]
