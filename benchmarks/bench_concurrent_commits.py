"""Benchmark: a run from state's independent Delta commits side by side (jobs.delta_io.concurrently)
against the same commits one after the other, in ONE Spark session on the feature benchmark's data.

The baseline swaps `delta_io.concurrently` for `delta_io.one_after_another` (the writes in order on the
caller's thread); nothing else differs. conf/local.yaml as shipped (write-audit-publish on). A `--rebuild-state`
backfill of all days but the last builds the state once; then `run_from_state` for the last day runs
four times in ABBA order (neither mode always first, warmer or colder), each on its own copy of that
state: the silver MERGE beside the chargebacks' replace, the chargebacks' quarantine beside the
resolved MERGE, the two tiles, the two feature tables' publish. Both modes must publish the same rows
(the script compares the feature tables of the first two runs).

    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python benchmarks/bench_concurrent_commits.py --size 16M
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_features import OUT, benchmark_session, config_for, ensure_generated, machine, params_for, timed  # noqa: E402

from jobs import delta_io  # noqa: E402
from jobs.config import Config  # noqa: E402
from jobs.features import stateful  # noqa: E402
from jobs.features.run_range import DateRange  # noqa: E402
from jobs.features_job import compute_features, publish_all  # noqa: E402
from jobs.generate_job import count  # noqa: E402

ABBA = ("sequential", "concurrent", "concurrent", "sequential")
TABLES = ("user_transaction_features", "merchant_risk_features")


@contextlib.contextmanager
def commits(mode: str) -> Iterator[None]:
    """`concurrent` as shipped; `sequential` the same writes one after the other on this thread."""
    shipped = delta_io.concurrently
    if mode == "sequential":
        delta_io.concurrently = delta_io.one_after_another  # type: ignore[assignment]
    try:
        yield
    finally:
        delta_io.concurrently = shipped  # type: ignore[assignment]


def with_root(config: Config, root: Path, raw_from: Config) -> Config:
    """Every written table under `root`, the raw tables read from `raw_from`'s."""
    moved = config_for(config, root)
    raw = {k: getattr(raw_from.tables, k) for k in ("raw_transactions", "raw_chargebacks", "labels")}
    return dataclasses.replace(moved, tables=dataclasses.replace(moved.tables, **raw))


def copy_written(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for folder in ("state", "features", "quarantine", "monitoring"):
        if (source / folder).exists():
            shutil.copytree(source / folder, target / folder)


def same_rows(spark, left: Config, right: Config) -> bool:
    for key in ("user_features", "merchant_features"):
        a = delta_io.read(spark, getattr(left.tables, key)).drop("created_timestamp")
        b = delta_io.read(spark, getattr(right.tables, key)).drop("created_timestamp")
        if a.exceptAll(b).count() or b.exceptAll(a).count():
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="16M", help="transactions (k/M suffixes), as bench_features.py")
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    base, spark = benchmark_session()
    size = count(args.size)
    params = params_for(size, args.days)
    data = config_for(base, OUT / f"n{size}")
    ensure_generated(spark, data, params, OUT / f"n{size}")
    work = OUT / f"concurrent_commits_n{size}"
    shutil.rmtree(work, ignore_errors=True)
    report: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv), "size": size, "runs": []}
    day = params.end_date

    state = with_root(base, work / "state_built", data)
    compute_features(
        spark, state, run_range=DateRange(params.start_date, day - dt.timedelta(days=1)), rebuild_state=True
    )
    dailies = []
    for index, mode in enumerate(ABBA):
        copy_written(work / "state_built", work / f"daily_{index}")
        config = with_root(base, work / f"daily_{index}", data)
        with commits(mode):
            seconds, out = timed(
                stateful.run_from_state, spark, config, run_date=day, tables=TABLES, publish=publish_all
            )
        report["runs"].append(
            {"step": "daily_from_state", "mode": mode, "seconds": round(seconds, 1), "step_s": out["state"]["step_s"]}
        )
        print(json.dumps(report["runs"][-1]), flush=True)
        dailies.append(config)
    report["same_rows"] = same_rows(spark, dailies[0], dailies[1])
    by_mode = {mode: sum(r["seconds"] for r in report["runs"] if r["mode"] == mode) for mode in set(ABBA)}
    report["concurrent_over_sequential"] = round(by_mode["concurrent"] / by_mode["sequential"], 3)
    (OUT / "bench_concurrent_commits.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, default=str))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
