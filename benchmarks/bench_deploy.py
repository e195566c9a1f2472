"""Benchmark: the cost of packaging and a separate worker JVM, i.e. the same `features` run two ways.

  local    `python -m jobs features` from this checkout's .venv (local[2], conf/local.yaml), as `make demo` runs it;
  cluster  `spark-submit.sh features` of the `make package` artifact on a Spark standalone master and
           worker on 127.0.0.1 (2 cores; the driver in client mode, one executor), submitted from a
           folder outside the checkout in a clean environment (tests/cluster_support.py).

Both read the same generated raw tables (benchmarks/out/deploy/<size>/raw, generated once with the
checkout and reused) and write their own feature tables, for the same 90-day backfill. Reported per
mode: wall time of the command (JVM start, environment, job) and the job's own `duration_s`; and the
ratio cluster / local. Writes benchmarks/out/bench_deploy.json.

    make package && SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python benchmarks/bench_deploy.py --transactions 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from cluster_support import standalone_cluster  # noqa: E402

OUT = REPO / "benchmarks" / "out"
START, END = "2026-01-31", "2026-04-30"  # the 90 snapshot days after the first 30 landing days


def job_config(root: Path, raw: Path, *, memory: str) -> Path:
    """conf/local.yaml with the shared raw tables and this mode's own outputs under `root`."""
    settings = yaml.safe_load((REPO / "conf" / "local.yaml").read_text())
    settings["spark"]["conf"]["spark.driver.memory"] = memory
    settings["tables"] |= {
        "raw_transactions": str(raw / "transactions"),
        "raw_chargebacks": str(raw / "chargebacks"),
        "labels": str(raw / "labels"),
    }
    for name in ("quarantine", "user_features", "merchant_features", "staging", "training_sets"):
        settings["tables"][name] = str(root / name)
    settings["tables"]["user_features"] = str(root / "features" / "user_transaction_features")
    settings["tables"]["merchant_features"] = str(root / "features" / "merchant_risk_features")
    settings["quality"]["results_path"] = str(root / "quality")
    path = root / "job_config.yaml"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(settings))
    return path


def checkout_env() -> dict[str, str]:
    python = str(REPO / ".venv" / "bin" / "python")
    return {**os.environ, "PYTHONPATH": str(REPO), "PYSPARK_PYTHON": python, "SPARK_LOCAL_IP": "127.0.0.1"}


def run_local(args: list[str]) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "jobs", *args],
        env=checkout_env(),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    elapsed = time.monotonic() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{args[0]} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return elapsed, json.loads(lines[-1])


def ensure_raw(raw: Path, transactions: int) -> None:
    if (raw / "transactions" / "_delta_log").is_dir():
        return
    shutil.rmtree(raw, ignore_errors=True)
    config = job_config(raw.parent / "generate", raw, memory="4g")
    run_local(
        [
            "generate", "--config", str(config), "--transactions", str(transactions),
            "--users", str(max(1_000, transactions // 200)), "--merchants", str(max(100, transactions // 4_000)),
            "--days", "120", "--start-date", "2026-01-01", "--bad-rows", "10",
        ]
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--executor-memory", default="3g", help="the cluster's one executor (local mode: driver)")
    args = parser.parse_args()

    base = OUT / "deploy" / str(args.transactions)
    raw = base / "raw"
    ensure_raw(raw, args.transactions)
    days = ["--start", START, "--end", END]
    results: dict[str, Any] = {}

    local_config = job_config(base / "local", raw, memory="4g")
    wall, line = run_local(["features", "--config", str(local_config), *days])
    results["local"] = {"wall_s": round(wall, 1), "job_s": line["duration_s"]}
    print(f"local    wall {wall:7.1f} s  job {line['duration_s']:7.1f} s", flush=True)

    cluster_root = base / "cluster"
    shutil.rmtree(cluster_root / "standalone", ignore_errors=True)
    cluster_config = job_config(cluster_root, raw, memory="1g")
    with standalone_cluster(cluster_root / "standalone", worker_memory=args.executor_memory) as cluster:
        cluster.executor_memory = args.executor_memory
        started = time.monotonic()
        line = cluster.submit("features", "--config", str(cluster_config), *days, timeout_s=3600)
        wall = time.monotonic() - started
    results["cluster"] = {"wall_s": round(wall, 1), "job_s": line["duration_s"]}
    print(f"cluster  wall {wall:7.1f} s  job {line['duration_s']:7.1f} s", flush=True)

    ratio = {k: round(results["cluster"][k] / results["local"][k], 2) for k in ("wall_s", "job_s")}
    print(f"cluster / local: wall {ratio['wall_s']}, job {ratio['job_s']}")
    report = {
        "transactions": args.transactions,
        "days": [START, END],
        "results": results,
        "ratio": ratio,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load": os.getloadavg()},
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip(),
    }
    (OUT / "bench_deploy.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
