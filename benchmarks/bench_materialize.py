"""Materialization throughput into the embedded dynalite: our job vs Feast's engine vs the server's ceiling.

For each size N (entities of user_transaction_features, one row each in a Delta table), three
contenders write the same N items into a fresh dynalite (loopback, in memory):

- ours:    `python -m jobs materialize` as a subprocess (Spark local[2], spark.driver.memory 1g),
           items/s over the view's materialization (Delta read, shuffle, encode, write);
- feast:   `FeatureStore.materialize` with Feast's own local engine and its Spark offline store
           (a subprocess; above --skip-feast-above its Python driver is stopped once its resident
           memory passes 1 GiB, the driver limit our job runs with);
- ceiling: a plain BatchWriteItem loop with 4 threads (the requests our job keeps in flight) of
           the same items, encoded up front, nothing else: what the server takes.

Usage: .venv/bin/python benchmarks/bench_materialize.py [--sizes 10000,100000,1000000] [--record]
Prints one JSON line per run and a table; --record appends a section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

OUT = REPO / "benchmarks" / "out" / "materialize"
VIEW = "user_transaction_features"
END = dt.datetime(2026, 3, 12, tzinfo=dt.UTC)
START = END - dt.timedelta(days=7)
EVENT = dt.datetime(2026, 3, 11)
CEILING_THREADS = 4
DRIVER_LIMIT_BYTES = 1 << 30


def build_table(spark, path: str, n: int) -> None:
    from pyspark.sql import functions as F

    from jobs.schemas import USER_TRANSACTION_FEATURES

    rows = spark.range(n).select(
        F.format_string("user_%07d", F.col("id")).alias("user_id"),
        F.lit(EVENT).cast("timestamp").alias("event_timestamp"),
        F.lit(EVENT + dt.timedelta(hours=1)).cast("timestamp").alias("created_timestamp"),
        (F.col("id") % 50).alias("transaction_count_7d"),
        ((F.col("id") % 1000) / 4).cast("float").alias("transaction_amount_avg_7d"),
        ((F.col("id") % 2000) / 2).cast("float").alias("transaction_amount_max_7d"),
        (F.col("id") % 9).alias("unique_merchants_7d"),
        F.when(F.col("id") % 3 == 0, None)
        .otherwise((F.col("id") % 7200).cast("float"))
        .alias("avg_time_between_transactions"),
        F.lit((EVENT - dt.timedelta(days=1)).date()).alias("snapshot_date"),
    )
    spark.createDataFrame(rows.rdd, USER_TRANSACTION_FEATURES).write.format("delta").mode("overwrite").partitionBy(
        "snapshot_date"
    ).save(path)


def items_for(n: int):
    """The same items our job writes for the generated table (our encoder; golden-tested against Feast)."""
    from jobs.online_store.encoding import client_item, entity_id, value_bytes

    event_ts = str(EVENT.replace(tzinfo=dt.UTC))
    for i in range(n):
        values = {
            "transaction_count_7d": value_bytes("INT64", i % 50),
            "transaction_amount_avg_7d": value_bytes("FLOAT", (i % 1000) / 4),
            "transaction_amount_max_7d": value_bytes("FLOAT", (i % 2000) / 2),
            "unique_merchants_7d": value_bytes("INT64", i % 9),
            "avg_time_between_transactions": value_bytes("FLOAT", None if i % 3 == 0 else float(i % 7200)),
        }
        yield client_item(entity_id([("user_id", "STRING", f"user_{i:07d}")]), event_ts, values)


def run_ceiling(n: int) -> dict:
    from jobs.online_store.embedded import embedded_dynamodb
    from jobs.online_store.tables import dynamodb_client, ensure_table

    table = f"fraud_detection.{VIEW}"
    items = list(items_for(n))
    batches = [items[i : i + 25] for i in range(0, n, 25)]
    with embedded_dynamodb() as url:
        client = dynamodb_client(
            url, region="us-east-1", max_pool_connections=CEILING_THREADS + 1, parameter_validation=False
        )
        ensure_table(client, table, ttl_attribute=None)

        def send(batch):
            pending = [{"PutRequest": {"Item": item}} for item in batch]
            while pending:
                response = client.batch_write_item(RequestItems={table: pending})
                pending = response.get("UnprocessedItems", {}).get(table, [])

        started = time.monotonic()
        with ThreadPoolExecutor(CEILING_THREADS) as pool:
            list(pool.map(send, batches))
        seconds = time.monotonic() - started
    return {
        "contender": "ceiling",
        "n": n,
        "seconds": round(seconds, 2),
        "items_per_s": round(n / seconds, 1),
        "threads": CEILING_THREADS,
    }


class PeakRss(threading.Thread):
    """Peak resident memory of a process tree (the driver, its JVM and Python workers)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            rss = 0
            for process in procs:
                try:
                    if "dynalite" not in " ".join(process.cmdline()):
                        rss += process.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, rss)


def _subprocess(command: list[str], env: dict[str, str]) -> tuple[int, str, str, float, int]:
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = PeakRss(process.pid)
    sampler.start()
    out, err = process.communicate()
    sampler.stopped.set()
    return process.returncode, out, err, time.monotonic() - started, sampler.peak


def prepare_repo(spark, n: int):
    from online_support import make_repo

    from jobs.feast_repo import apply_repo
    from jobs.online_store.embedded import embedded_dynamodb

    root = OUT / f"n{n}"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True)
    repo = make_repo(root)
    build_table(spark, repo.table_path(VIEW), n)
    from jobs.schemas import MERCHANT_RISK_FEATURES

    empty = spark.createDataFrame([], MERCHANT_RISK_FEATURES)
    empty.write.format("delta").mode("overwrite").save(repo.table_path("merchant_risk_features"))
    with embedded_dynamodb() as url:
        apply_repo(repo.config(url), url)
    return repo


def run_ours(repo, n: int, *, endpoint: str = "embedded", guard: bool = False) -> dict:
    overrides = [*repo.overrides(endpoint), "online_store.write_rate_cap=20000", "spark.conf.spark.driver.memory=1g"]
    command = [sys.executable, "-m", "jobs", "materialize", "--start", START.isoformat(), "--end", END.isoformat()]
    command += ["--feature-views", VIEW, *[a for o in overrides for a in ("--set", o)]]
    command += ["--guard-newer"] if guard else []
    code, out, err, wall, peak = _subprocess(command, dict(os.environ))
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    if code != 0:
        return {"contender": "ours", "n": n, "status": "failed", "error": result.get("error", err[-500:])}
    view = result["views"][VIEW]
    return {
        "contender": "ours-guarded" if guard else "ours",
        "n": n,
        "seconds": view["duration_s"],
        "items_per_s": view["items_per_s"],
        "items": view["items"],
        "retries": view["retries"],
        "job_wall_s": round(wall, 1),
        "peak_rss_mb": peak >> 20,
        "driver_memory": "1g",
        "partitions": view["partitions"],
        "in_flight": view["in_flight_per_partition"],
    }


def run_feast(repo, n: int, *, limit: bool) -> dict:
    command = [sys.executable, __file__, "--feast-worker", str(repo.root), str(n)]
    if limit:
        command.append("--limit")
    code, out, err, wall, peak = _subprocess(command, dict(os.environ))
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if lines:
        result = json.loads(lines[-1])
    else:
        tail = [line for line in err.splitlines() if line.strip()][-3:]
        result = {"contender": "feast", "n": n, "status": "crashed", "exit_code": code, "error": " | ".join(tail)}
    result.update(job_wall_s=round(wall, 1), peak_rss_mb=peak >> 20, python_rss_limit="1 GiB" if limit else None)
    return result


def feast_worker(root: str, n: int, limit: bool) -> None:
    """Feast's own `materialize` (local engine, Spark offline store) in a fresh process."""
    from feast import Entity, FeatureStore, FeatureView, Field
    from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
    from feast.repo_config import RepoConfig
    from feast.table_format import DeltaFormat
    from feast.types import Float32, Int64, String
    from feast.value_type import ValueType

    from jobs.aws_credentials import EMBEDDED_CREDENTIALS
    from jobs.config import load_config
    from jobs.online_store.embedded import embedded_dynamodb
    from jobs.session import build_session

    config = load_config(env="local", overrides=["spark.conf.spark.driver.memory=1g"])
    build_session(config.spark)
    os.environ["AWS_ACCESS_KEY_ID"] = EMBEDDED_CREDENTIALS["aws_access_key_id"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = EMBEDDED_CREDENTIALS["aws_secret_access_key"]
    user = Entity(name="user_id", join_keys=["user_id"], value_type=ValueType.STRING)
    source = SparkSource(
        name="bench_users",
        path=f"{root}/data/features/{VIEW}",
        table_format=DeltaFormat(),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )
    view = FeatureView(
        name=VIEW,
        entities=[user],
        ttl=dt.timedelta(days=7),
        source=source,
        online=True,
        schema=[
            Field(name="user_id", dtype=String),
            Field(name="transaction_count_7d", dtype=Int64),
            Field(name="transaction_amount_avg_7d", dtype=Float32),
            Field(name="transaction_amount_max_7d", dtype=Float32),
            Field(name="unique_merchants_7d", dtype=Int64),
            Field(name="avg_time_between_transactions", dtype=Float32),
        ],
    )
    with embedded_dynamodb() as url:
        rc = RepoConfig(
            project="fraud_detection",
            provider="local",
            registry=f"{root}/feast_bench_registry.db",
            offline_store={"type": "spark"},
            entity_key_serialization_version=3,
            online_store={"type": "dynamodb", "region": "us-east-1", "endpoint_url": url},
        )
        store = FeatureStore(config=rc)
        store.apply([user, view])
        started = time.monotonic()
        if limit:
            threading.Thread(target=_rss_watchdog, args=(n, started), daemon=True).start()
        try:
            store.materialize(START, END, [VIEW])
            status, error = "ok", None
        except MemoryError as err:
            status, error = "out of memory", f"MemoryError {err}"
        seconds = time.monotonic() - started
    print(
        json.dumps(
            {
                "contender": "feast",
                "n": n,
                "status": status,
                "error": error,
                "seconds": round(seconds, 2),
                "items_per_s": round(n / seconds, 1) if status == "ok" else None,
                "python_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10,
            }
        ),
        flush=True,
    )


def _rss_watchdog(n: int, started: float) -> None:
    """The 1 GiB driver limit for Feast's Python driver: stop it once its resident memory passes it."""
    me = psutil.Process()
    peak = 0
    while True:
        rss = me.memory_info().rss
        peak = max(peak, rss)
        if rss > DRIVER_LIMIT_BYTES:
            result = {
                "contender": "feast",
                "n": n,
                "status": "exceeded the 1 GiB driver limit",
                "after_s": round(time.monotonic() - started, 1),
                "python_rss_mb": rss >> 20,
            }
            print(json.dumps(result), flush=True)
            os._exit(3)
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--feast-worker", nargs=2, metavar=("ROOT", "N"))
    parser.add_argument("--limit", action="store_true")
    parser.add_argument(
        "--skip-feast-above",
        type=int,
        default=100_000,
        help="sizes above this run Feast only under the 1 GiB driver limit",
    )
    parser.add_argument("--guard-cost", type=int, metavar="N", help="only compare plain and guarded writes at N")
    args = parser.parse_args()
    if args.feast_worker:
        feast_worker(args.feast_worker[0], int(args.feast_worker[1]), args.limit)
        return
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from jobs.config import load_config
    from jobs.session import build_session

    spark = build_session(load_config(env="local").spark)
    if args.guard_cost:
        guard_cost(spark, args.guard_cost, record=args.record)
        return
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        repo = prepare_repo(spark, n)
        runs = [run_ceiling(n), run_ours(repo, n)]
        runs.append(run_feast(repo, n, limit=n > args.skip_feast_above))
        for run in runs:
            print(json.dumps(run), flush=True)
        results.append(runs)
    spark.stop()
    table = render(results)
    print(table)
    if args.record:
        with open(REPO / "benchmarks" / "RESULTS.md", "a") as out:
            out.write(table)


def guard_cost(spark, n: int, *, record: bool, repeats: int = 2) -> None:
    """The three write modes at size n, in this process, each into a fresh table of one dynalite:
    plain BatchWriteItem (Feast's way), checked (BatchGetItem of the stored event_ts, then
    BatchWriteItem: every run of the job) and conditional (BatchGetItem, then a conditional PutItem
    per item: backfills, --guard-newer). The tables start empty, so every item is written: the worst
    case for the guarded modes (a stale item costs only its share of a BatchGetItem). One untimed
    warm-up write first; then the modes take turns `repeats` times and each keeps its best run."""
    import dataclasses

    from jobs.feast_repo import feature_store
    from jobs.online_store.capacity import plan_writes
    from jobs.online_store.embedded import embedded_dynamodb
    from jobs.online_store.layout import layout_from_feature_view
    from jobs.online_store.materialize import build_online_items, read_view_rows, write_online_items
    from jobs.online_store.registry import feature_views
    from jobs.online_store.tables import dynamodb_client, ensure_table
    from jobs.online_store.writer import PLAIN, WRITE_MODES, WriterSettings

    repo = prepare_repo(spark, n)
    plan = plan_writes(write_rate_cap=20_000, max_in_flight_per_partition=2, task_slots=2)
    with embedded_dynamodb() as url:
        store = feature_store(repo.config(url), url)
        (view,) = feature_views(store, [VIEW])
        client = dynamodb_client(url, region="us-east-1")
        best: dict[str, dict] = {}
        for turn, mode in [(0, PLAIN), *[(t, m) for t in range(1, repeats + 1) for m in WRITE_MODES]]:
            name = f"bench.{mode}.{turn}"
            layout = dataclasses.replace(layout_from_feature_view(view, store.config), table_name=name)
            ensure_table(client, layout.table_name, ttl_attribute=None)
            items = build_online_items(
                read_view_rows(spark, layout), layout=layout, start=START, end=END, partitions=plan.partitions
            )
            settings = WriterSettings(
                url, "us-east-1", layout.table_name, plan.in_flight_per_partition,
                plan.items_per_second_per_partition, mode, None, 60.0,
            )  # fmt: skip
            metrics = write_online_items(items, layout=layout, settings=settings)
            run = {"mode": mode, "turn": turn, "n": n, **{k: metrics[k] for k in ("items", "requests", "duration_s")}}
            run["items_per_s"] = metrics["items_per_s"]
            print(json.dumps(run), flush=True)
            if turn and run["items_per_s"] > best.get(mode, {}).get("items_per_s", -1):
                best[mode] = run
        runs = [best[mode] for mode in WRITE_MODES]
    spark.stop()
    plain = runs[0]["items_per_s"] or 1
    text = (
        f"\nWrite-mode cost at {n:,} entities ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average "
        f"{os.getloadavg()[0]:.1f}; `benchmarks/bench_materialize.py --guard-cost {n}`, one process, "
        f"{plan.partitions} partitions x {plan.in_flight_per_partition} requests in flight, best of {repeats} "
        "after a warm-up write):\n\n"
        "| mode | items/s | relative | requests |\n| --- | ---: | ---: | ---: |\n"
        + "".join(
            f"| {r['mode']} | {r['items_per_s']:,} | {r['items_per_s'] / plain:.2f} | {r['requests']:,} |\n"
            for r in runs
        )
        + "\n"
        + "".join(f"    {json.dumps(run)}\n" for run in runs)
    )
    print(text)
    if record:
        with open(REPO / "benchmarks" / "RESULTS.md", "a") as out:
            out.write(text)


def limit_note(run: dict) -> str:
    return ", Python RSS limit 1 GiB" if run.get("python_rss_limit") else ""


def render(results: list[list[dict]]) -> str:
    lines = [
        "",
        f"## Materialization into embedded dynalite (issue #5), {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} cores, {psutil.virtual_memory().total >> 30} GiB, "
        f"Linux {platform.release()}, Python {platform.python_version()}, load average at start "
        f"{os.getloadavg()[0]:.1f} (other engineers' tests share the machine).",
        "Command: `.venv/bin/python benchmarks/bench_materialize.py --record` (sizes "
        + ",".join(str(r[0]["n"]) for r in results)
        + ").",
        "",
        "| entities | ceiling items/s (4 threads) | ours items/s | ours / ceiling | Feast items/s | ours / Feast "
        "| ours peak RSS (driver 1g) | Feast |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for ceiling, ours, feast in results:
        ours_rate = ours.get("items_per_s")
        feast_rate = feast.get("items_per_s")
        lines.append(
            f"| {ceiling['n']:,} | {ceiling['items_per_s']:,.0f} | {ours_rate or ours.get('status')} "
            f"| {ours_rate / ceiling['items_per_s']:.2f} | {feast_rate or '-'} "
            f"| {(ours_rate / feast_rate) if feast_rate and ours_rate else float('nan'):.2f} "
            f"| {ours.get('peak_rss_mb')} MiB | {feast.get('status')} "
            f"{'(' + str(feast.get('error'))[:80] + ')' if feast.get('error') else ''} "
            f"peak RSS {feast.get('peak_rss_mb')} MiB{limit_note(feast)} |"
        )
    lines.append("")
    lines.append("Raw runs (JSON):")
    lines.append("")
    lines += ["    " + json.dumps(run) for runs in results for run in runs]
    lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
