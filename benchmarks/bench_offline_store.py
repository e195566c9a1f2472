"""Benchmark: our point-in-time join against Feast 0.67's SparkOfflineStore and against the floor.

    .venv/bin/python benchmarks/bench_offline_store.py                 # sizes, Feast, floor, hot key
    .venv/bin/python benchmarks/bench_offline_store.py --memory 1g --sizes 20000000:2000000 --only ours
    .venv/bin/python benchmarks/bench_offline_store.py --shape snapshots --ttl-days 30 --hot-key none \
        --sizes 1000000:200000,4000000:1000000,20000000:2000000 --feast-sizes 3   # the feature tables' shape
    .venv/bin/python benchmarks/bench_offline_store.py --shape snapshots --ttl-days 30 --hot-key none \
        --entity-days 7 --sizes 20000000:2000000 --feast-sizes 1   # labels of the last week only
    SPARK_LOCAL_IP=127.0.0.1 PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_offline_store.py --shape snapshots \
        --ttl-days 30 --hot-key none --sizes 20000000:2000000,200000000:20000000 --feast-sizes 0 \
        --no-bucket-sizes 0   # issue 16's 10x run: floor and ours at 20M x 2M and 200M x 20M, one session
      # its inputs: 20M x 2M took 73.6 s to generate and 306 MB on disk (loaded machine), so 200M x 20M about
      # 12 min and 3.1 GB, plus about 10 GB of shuffle files under spark.local.dir (21 bytes a row per run)

One Spark session (local[2], conf/local.yaml settings) per invocation. Inputs are generated with
Spark (spark.range + hash-based columns) and written to Delta under benchmarks/out/ first; every
timed run reads them from Delta and ends in the `noop` sink, so all rows are computed and none are
collected. The view is `user_transaction_features` (TTL 7 days, or `--ttl-days`) over 60 days of
feature rows: at random instants (`--shape instants`, `--rows-per-key` per key) or, as the feature
jobs write them, one row per key and day at midnight (`--shape snapshots`); entity rows are at
random instants of the same days (of the last `--entity-days` of them).

- floor: read the same inputs, union entity and feature rows on the key, one repartition by key and a
  sort by (key, time): the least any exact PIT join without a join must do. With --entity-days the
  floor is handed the time range within the entity rows' reach and reads only those feature rows.
- ours: jobs.offline_store.pit_join with the job's defaults (30-day buckets for keys holding at
  least 1M rows, found by a sample); with --no-bucket-sizes also without buckets and with every key
  bucketed (the design before hot keys were sampled).
- ours_reading_every_feature_row (with --entity-days): ours with the reach filter turned off.
- feast: FeatureStore.get_historical_features on a repo whose offline store is Feast's `spark`,
  same tables, `.to_spark_df()` into the same sink; cancelled after --feast-timeout seconds.
- hot key: one key holds 10% of the feature rows and 10% of the entity rows.

Every row also carries the run's shuffle_read_bytes, shuffle_write_bytes, spill_memory_bytes, spill_disk_bytes and
the driver's driver_heap_peak_bytes, driver_rss_peak_bytes (Python), driver_jvm_rss_peak_bytes
(benchmarks/resource_metrics.py; the session turns the Spark UI on for its REST API).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from resource_metrics import UI_SETTINGS, measured

from jobs.config import load_config
from jobs.offline_store import pit_join
from jobs.offline_store.pit_join import DEFAULT_HOT_KEY_ROWS, ViewJoin, build_point_in_time_join
from jobs.session import build_session

OUT = Path(__file__).resolve().parent / "out" / "offline_store"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAYS = 60
TTL_DAYS = 7
FEATURES = ("transaction_count_7d", "transaction_amount_avg_7d", "transaction_amount_max_7d")
ROWS_PER_KEY = 20


def session(memory: str) -> SparkSession:
    spark_config = load_config(env="local").spark
    conf = {**spark_config.conf, "spark.driver.memory": memory, "spark.executor.memory": memory, **UI_SETTINGS}
    return build_session(dataclasses.replace(spark_config, app_name="bench-offline-store", conf=conf))


def _uniform(seed: int, modulus: int) -> F.Column:
    return F.pmod(F.xxhash64(F.col("id"), F.lit(seed)), F.lit(modulus))


def generate(
    spark: SparkSession,
    n_features: int,
    n_entities: int,
    *,
    hot: bool,
    rows_per_key: int = ROWS_PER_KEY,
    shape: str = "instants",
    entity_days: int = DAYS,
) -> tuple[str, str]:
    """Delta tables of feature rows and entity rows (written once per size and shape).

    Shape `instants`: `rows_per_key` feature rows per key at random instants. Shape `snapshots`: what
    the feature jobs write, one row per key and day at midnight (n_features / DAYS keys). Entity rows
    are at random instants of the last `entity_days` days.
    """
    tag = f"{'hot' if hot else 'uniform'}_{n_features}_{n_entities}"
    tag += f"_{rows_per_key}_per_key" if rows_per_key != ROWS_PER_KEY else ""
    tag += "_snapshots" if shape == "snapshots" else ""
    entities_dir = "entities" if entity_days == DAYS else f"entities_last_{entity_days}_days"
    features_path, entities_path = str(OUT / tag / "features"), str(OUT / tag / entities_dir)
    if (Path(entities_path) / "_delta_log").exists():
        return features_path, entities_path
    keys = max(n_features // (DAYS if shape == "snapshots" else rows_per_key), 1)

    def user(seed: int) -> F.Column:
        name = F.concat(F.lit("user_"), _uniform(seed, keys).cast("string"))
        return F.when(F.lit(hot) & (_uniform(seed + 1, 10) == 0), F.lit("user_hot")).otherwise(name)

    def instant(seed: int, days: int = DAYS) -> F.Column:
        first = int(START.timestamp()) + (DAYS - days) * 86_400
        return F.timestamp_seconds(F.lit(first) + _uniform(seed, days * 86_400))

    def feature_key_and_instant() -> tuple[F.Column, F.Column]:
        if shape == "instants":
            return user(1), instant(3)
        midnight = F.lit(int(START.timestamp())) + F.floor(F.col("id") / keys) * 86_400
        return F.concat(F.lit("user_"), F.pmod(F.col("id"), F.lit(keys)).cast("string")), F.timestamp_seconds(midnight)

    key, at = feature_key_and_instant()
    features = spark.range(n_features).select(
        key.alias("user_id"),
        at.alias("event_timestamp"),
        (at + F.expr("INTERVAL 1 HOUR")).alias("created_timestamp"),
        _uniform(4, 50).alias(FEATURES[0]),
        (_uniform(5, 100_000) / 100).cast("float").alias(FEATURES[1]),
        (_uniform(6, 100_000) / 10).cast("float").alias(FEATURES[2]),
    )
    entities = spark.range(n_entities).select(
        user(11).alias("user_id"),
        instant(13, entity_days).alias("event_timestamp"),
        _uniform(14, 2).cast("int").alias("label"),
    )
    if not (Path(features_path) / "_delta_log").exists():
        features.write.format("delta").mode("overwrite").save(features_path)
    entities.write.format("delta").mode("overwrite").save(entities_path)
    return features_path, entities_path


def floor(
    spark: SparkSession, features_path: str, entities_path: str, reach: tuple[dt.datetime, dt.datetime] | None = None
) -> DataFrame:
    """`reach`: (after, until), the feature rows the entity rows can reach, given (not computed) to the
    floor. It reads strictly after `after`, so never more than the join has to read."""
    features = spark.read.format("delta").load(features_path)
    if reach is not None:
        after, until = reach
        features = features.filter((F.col("event_timestamp") > after) & (F.col("event_timestamp") <= until))
    features = features.select(
        "user_id", "event_timestamp", F.struct(*FEATURES).alias("v"), F.lit(None).cast("int").alias("label")
    )
    entities = (
        spark.read.format("delta")
        .load(entities_path)
        .select("user_id", "event_timestamp", F.lit(None).cast(features.schema["v"].dataType).alias("v"), "label")
    )
    return features.unionByName(entities).repartition("user_id").sortWithinPartitions("user_id", "event_timestamp")


def ours(
    spark: SparkSession,
    features_path: str,
    entities_path: str,
    *,
    bucket_days: int,
    ttl_days: int = TTL_DAYS,
    hot_key_rows: int = DEFAULT_HOT_KEY_ROWS,
) -> DataFrame:
    view = ViewJoin(
        name="user_transaction_features",
        source=spark.read.format("delta").load(features_path),
        join_keys=("user_id",),
        source_join_keys=("user_id",),
        features=FEATURES,
        output_columns=FEATURES,
        timestamp_field="event_timestamp",
        created_timestamp_field="created_timestamp",
        ttl_seconds=ttl_days * 86_400,
    )
    entities = spark.read.format("delta").load(entities_path)
    return build_point_in_time_join(
        entities,
        [view],
        timestamp_column="event_timestamp",
        bucket_seconds=bucket_days * 86_400 or None,
        hot_key_rows=hot_key_rows,
    )


def ours_reading_every_feature_row(*args, **kwargs) -> DataFrame:
    """`ours` with the reach filter off: what the join cost before it read only the rows in reach."""
    kept = pit_join.within_reach
    pit_join.within_reach = lambda source, view, time_range: source
    try:
        return ours(*args, **kwargs)
    finally:
        pit_join.within_reach = kept


def feast_store(spark: SparkSession, features_path: str, workdir: str, *, ttl_days: int = TTL_DAYS):
    from feast import Entity, FeatureStore, FeatureView, Field, ValueType
    from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
    from feast.repo_config import RepoConfig
    from feast.table_format import DeltaFormat
    from feast.types import Float32, Int64

    user = Entity(name="user_id", join_keys=["user_id"], value_type=ValueType.STRING)
    view = FeatureView(
        name="user_transaction_features",
        entities=[user],
        ttl=dt.timedelta(days=ttl_days),
        schema=[
            Field(name=FEATURES[0], dtype=Int64),
            Field(name=FEATURES[1], dtype=Float32),
            Field(name=FEATURES[2], dtype=Float32),
        ],
        source=SparkSource(
            name="user_features",
            path=features_path,
            table_format=DeltaFormat(),
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        ),
    )
    config = RepoConfig(
        project="bench",
        registry=os.path.join(workdir, "registry.db"),
        provider="local",
        offline_store={"type": "spark"},
        online_store={"type": "sqlite", "path": os.path.join(workdir, "online.db")},
        entity_key_serialization_version=3,
    )
    store = FeatureStore(config=config)
    store.apply([user, view])
    return store


def feast_frame(store, spark: SparkSession, entities_path: str) -> DataFrame:
    entities = spark.read.format("delta").load(entities_path)
    refs = [f"user_transaction_features:{f}" for f in FEATURES]
    return store.get_historical_features(entity_df=entities, features=refs).to_spark_df()


def timed(spark: SparkSession, build, *, timeout: float | None = None) -> float | None:
    """Seconds to build and fully compute the frame into the noop sink; None if cancelled at timeout."""
    group = f"bench-{time.monotonic_ns()}"
    outcome: dict = {}

    def work():
        spark.sparkContext.setJobGroup(group, group, interruptOnCancel=True)
        try:
            started = time.monotonic()
            build().write.format("noop").mode("overwrite").save()
            outcome["seconds"] = time.monotonic() - started
        except Exception as err:  # noqa: BLE001 - a cancelled run is reported, not raised
            outcome["error"] = err

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        spark.sparkContext.cancelJobGroup(group)
        thread.join()
        return None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["seconds"]


def costed(spark: SparkSession, build, *, timeout: float | None = None) -> dict:
    """`timed`'s seconds, plus the run's shuffle and spill bytes and the driver's peaks (resource_metrics)."""
    with measured(spark) as cost:
        seconds = timed(spark, build, timeout=timeout)
    return {"seconds": seconds, **{k: v for k, v in cost.items() if k != "seconds"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1250000:125000,5000000:500000,20000000:2000000")
    parser.add_argument("--feast-sizes", type=int, default=2, help="run Feast at the first N sizes")
    parser.add_argument("--feast-timeout", type=float, default=600)
    parser.add_argument("--memory", default="4g", help="driver and executor memory")
    parser.add_argument("--only", choices=["all", "ours"], default="all")
    parser.add_argument(
        "--no-bucket-sizes",
        type=int,
        default=3,
        help="also run ours without buckets, and with every key bucketed, at the first N",
    )
    parser.add_argument("--rows-per-key", type=int, default=ROWS_PER_KEY, help="feature rows per key (uniform runs)")
    parser.add_argument("--hot-key", choices=["both", "buckets", "none"], default="both")
    parser.add_argument(
        "--shape", choices=["instants", "snapshots"], default="instants", help="feature rows of the uniform runs"
    )
    parser.add_argument("--ttl-days", type=int, default=TTL_DAYS, help="the view's TTL (merchant view: 30)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of floor and ours per size (ratios: best of each)")
    parser.add_argument(
        "--entity-days",
        type=int,
        default=DAYS,
        help=f"entity rows fall in the last N of the {DAYS} feature days (a narrow label range; the floor "
        "then reads only the feature rows within reach)",
    )
    args = parser.parse_args()
    spark = session(args.memory)
    spark.sparkContext.setLogLevel("ERROR")
    sizes = [tuple(int(x) for x in s.split(":")) for s in args.sizes.split(",")]
    ttl = args.ttl_days
    reach = None
    if args.entity_days < DAYS:
        reach = (START + dt.timedelta(days=DAYS - args.entity_days - ttl), START + dt.timedelta(days=DAYS))
    results = []

    def record(**row):
        results.append(row)
        print(json.dumps(row), flush=True)

    workdir = tempfile.mkdtemp(prefix="bench-feast-")
    warm = generate(spark, 20_000, 2_000, hot=False)  # JIT and class loading, not timed
    timed(spark, partial(ours, spark, *warm, bucket_days=30))
    timed(spark, partial(floor, spark, *warm))
    for i, (n_features, n_entities) in enumerate(sizes):
        features_path, entities_path = generate(
            spark,
            n_features,
            n_entities,
            hot=False,
            rows_per_key=args.rows_per_key,
            shape=args.shape,
            entity_days=args.entity_days,
        )
        size = {
            "feature_rows": n_features,
            "entity_rows": n_entities,
            "shape": args.shape,
            "ttl_days": args.ttl_days,
            "entity_days": args.entity_days,
            **({"rows_per_key": args.rows_per_key} if args.shape == "instants" else {}),
        }
        for repeat in range(args.repeats):
            if args.only == "all":
                cost = costed(spark, partial(floor, spark, features_path, entities_path, reach))
                record(run="floor", **size, repeat=repeat, **cost)
            cost = costed(spark, partial(ours, spark, features_path, entities_path, bucket_days=30, ttl_days=ttl))
            record(run="ours", **size, repeat=repeat, **cost)
            if args.only == "all" and reach is not None:
                every_row = partial(
                    ours_reading_every_feature_row, spark, features_path, entities_path, bucket_days=30, ttl_days=ttl
                )
                record(run="ours_reading_every_feature_row", **size, repeat=repeat, **costed(spark, every_row))
            if args.only == "all" and i < args.no_bucket_sizes:
                cost = costed(spark, partial(ours, spark, features_path, entities_path, bucket_days=0, ttl_days=ttl))
                record(run="ours_no_buckets", **size, repeat=repeat, **cost)
                every_key = partial(
                    ours, spark, features_path, entities_path, bucket_days=30, ttl_days=ttl, hot_key_rows=0
                )
                record(run="ours_every_key_bucketed", **size, repeat=repeat, **costed(spark, every_key))
        if args.only == "all" and i < args.feast_sizes:
            store = feast_store(spark, features_path, workdir, ttl_days=ttl)
            cost = costed(spark, partial(feast_frame, store, spark, entities_path), timeout=args.feast_timeout)
            spark.conf.set("spark.sql.parser.quotedRegexColumnNames", "false")
            record(run="feast_spark_store", **size, **cost)
    if args.only == "all" and args.hot_key != "none":
        n_features, n_entities = sizes[-1]
        features_path, entities_path = generate(spark, n_features, n_entities, hot=True)
        size = {"feature_rows": n_features, "entity_rows": n_entities}
        record(
            run="ours_hot_key",
            **size,
            **costed(spark, partial(ours, spark, features_path, entities_path, bucket_days=30)),
        )
        if args.hot_key == "both":
            record(
                run="ours_hot_key_no_buckets",
                **size,
                **costed(spark, partial(ours, spark, features_path, entities_path, bucket_days=0)),
            )
    print(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(), "memory": args.memory, "runs": results}))
    by: dict[tuple[str, int], float] = {}
    for r in results:  # with --repeats, the best of each
        key = (r["run"], r["feature_rows"])
        if r["seconds"] is not None:
            by[key] = min(by.get(key, r["seconds"]), r["seconds"])
    for n_features, n_entities in sizes:
        line = [f"{n_features:>10,} x {n_entities:>9,}:"]
        base = by.get(("floor", n_features))
        for name in (
            "ours",
            "ours_reading_every_feature_row",
            "ours_no_buckets",
            "ours_every_key_bucketed",
            "feast_spark_store",
        ):
            value = by.get((name, n_features))
            if base and value:
                line.append(f"{name}/floor = {value / base:.2f}")
        if by.get(("ours", n_features)) and by.get(("feast_spark_store", n_features)):
            line.append(f"feast/ours = {by[('feast_spark_store', n_features)] / by[('ours', n_features)]:.1f}")
        print(" ".join(line))
    for (small, _), (big, _) in zip(sizes, sizes[1:], strict=False):
        if by.get(("ours", small)) and by.get(("ours", big)):
            print(f"ours {big / small:.0f}x data: {by[('ours', big)] / by[('ours', small)]:.2f}x time")
    last = sizes[-1][0]
    if by.get(("ours_hot_key", last)) and by.get(("ours", last)):
        print(f"hot key / uniform = {by[('ours_hot_key', last)] / by[('ours', last)]:.2f}")


if __name__ == "__main__":
    main()
