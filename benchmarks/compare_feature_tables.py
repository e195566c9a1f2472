"""Do two revisions of the code publish the same feature tables from the same raw data? (Issue #15.)

    PYTHONPATH=$PWD .venv/bin/python benchmarks/compare_feature_tables.py --base b20da47 --head HEAD

1. Each revision's tree is exported with `git archive` into WORKDIR/<rev> (no git state changes; the
   checkout's .venv, jars and node_modules are linked in), so each runs its own code.
2. The raw tables are generated once, by the head revision (fixed seed, small), into WORKDIR/raw.
3. Each revision runs `python -m jobs features --start --end` on those raw tables, writing into its own
   tree's data/. Its clock is pinned (`created_timestamp` is the run's instant), so equal code
   gives equal bytes; `--no-pin-clock` compares without the pin (created_timestamp then differs).
4. For each feature table: the Delta schemas (names, types, nullability) and partition columns must be
   equal, the rows equal as multisets (`exceptAll` both ways is empty and the counts agree), and a
   content hash of the sorted rows is printed for each side (computed by Spark, no rows on the driver).

Exit 0 when every table is identical, 1 otherwise. Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TABLES = {"user_transaction_features": "user_features", "merchant_risk_features": "merchant_features"}
LINKED = (".venv", "jars", "node_modules")
PINNED_INSTANT = "2026-06-01T00:00:00+00:00"

# Runs the features job of the tree it is started in with `datetime.now` pinned in jobs.features_job,
# the one place the job reads the clock for `created_timestamp`.
PINNED_RUNNER = """
import datetime as _dt, sys, types
import jobs.features_job as job
if not isinstance(getattr(job, "dt", None), types.ModuleType):
    raise SystemExit("jobs.features_job has no `dt` module to pin the clock in")
class _Pinned(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return _dt.datetime.fromisoformat(sys.argv[1]).astimezone(tz)
job.dt = types.SimpleNamespace(**{**vars(_dt), "datetime": _Pinned})
sys.exit(job.main(sys.argv[2:]))
"""


def export_tree(rev: str, workdir: Path) -> tuple[str, Path]:
    sha = subprocess.run(
        ["git", "rev-parse", "--short", f"{rev}^{{commit}}"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = workdir / sha
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "archive", "--format=tar", sha], cwd=REPO, check=True, stdout=archive)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(tree, filter="data")
    for name in LINKED:
        (tree / name).symlink_to((REPO / name).resolve())
    return sha, tree


def run_jobs(tree: Path, argv: list[str], *, pinned: str | None = None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1")}
    python = str(tree / ".venv" / "bin" / "python")
    command = [python, "-c", PINNED_RUNNER, pinned, *argv[1:]] if pinned else [python, "-m", "jobs", *argv]
    completed = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"{' '.join(argv[:1])} in {tree} exited {completed.returncode}")
    return dict(json.loads(lines[-1]))


def raw_settings(raw: Path) -> list[str]:
    settings = {
        "tables.raw_transactions": raw / "transactions",
        "tables.raw_chargebacks": raw / "chargebacks",
        "tables.labels": raw / "labels",
    }
    return [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]


def compare(spark: Any, base: str, head: str) -> dict[str, Any]:
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    base_df, head_df = spark.read.format("delta").load(base), spark.read.format("delta").load(head)
    partitions = [DeltaTable.forPath(spark, p).detail().first()["partitionColumns"] for p in (base, head)]
    result: dict[str, Any] = {
        "schema_equal": base_df.schema == head_df.schema,
        "partition_columns_equal": partitions[0] == partitions[1],
    }
    if not result["schema_equal"]:
        result["schemas"] = [base_df.schema.simpleString(), head_df.schema.simpleString()]
        result["identical"] = False
        return result
    columns = base_df.columns
    result["rows"] = [base_df.count(), head_df.count()]
    result["only_in_base"] = base_df.exceptAll(head_df).count()
    result["only_in_head"] = head_df.exceptAll(base_df).count()
    result["content_sha256"] = [_content_hash(df, columns, F) for df in (base_df, head_df)]
    result["identical"] = (
        result["partition_columns_equal"]
        and result["rows"][0] == result["rows"][1]
        and result["only_in_base"] == 0
        and result["only_in_head"] == 0
        and result["content_sha256"][0] == result["content_sha256"][1]
    )
    return result


def _content_hash(df: Any, columns: list[str], F: Any) -> str:
    """sha256 over the sorted per-row sha256 of each row's JSON (every column, nulls kept)."""
    rows = df.select(F.sha2(F.to_json(F.struct(*[F.col(c) for c in columns]), {"ignoreNullFields": "false"}), 256))
    hashed = rows.agg(F.sha2(F.concat_ws("", F.sort_array(F.collect_list(rows.columns[0]))), 256).alias("h"))
    return str(hashed.first()["h"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="git revision before (e.g. b20da47)")
    parser.add_argument("--head", default="HEAD", help="git revision after (default HEAD)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "compare_feature_tables")
    parser.add_argument("--transactions", default="20k")
    parser.add_argument("--users", default="300")
    parser.add_argument("--merchants", default="60")
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--seed", default="42")
    parser.add_argument("--start", default="2026-01-01")
    parser.add_argument("--end", default="2026-02-14", help="last snapshot day computed")
    parser.add_argument("--no-pin-clock", action="store_true", help="let each run stamp its own created_timestamp")
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    head_sha, head_tree = export_tree(args.head, args.workdir)
    base_sha, base_tree = export_tree(args.base, args.workdir)
    raw = args.workdir / "raw"
    generate = ["generate", "--env", "local", *raw_settings(raw), "--users", args.users, "--merchants", args.merchants]
    generate += ["--days", str(args.days), "--start-date", args.start, "--transactions", args.transactions]
    generate += ["--seed", args.seed, "--bad-rows", "2"]
    generated = run_jobs(head_tree, generate)
    print(f"generated by {head_sha}: " + json.dumps({k: v["rows"] for k, v in generated["tables"].items()}))

    pinned = None if args.no_pin_clock else PINNED_INSTANT
    features = ["features", "--env", "local", *raw_settings(raw), "--start", args.start, "--end", args.end]
    for sha, tree in ((base_sha, base_tree), (head_sha, head_tree)):
        ran = run_jobs(tree, features, pinned=pinned)
        print(f"features at {sha}: " + json.dumps({t: ran["tables"][t].get("rows_written") for t in TABLES}))

    sys.path.insert(0, str(head_tree))
    from jobs.config import load_config
    from jobs.session import build_session

    spark = build_session(load_config(env="local").spark)
    results = {}
    for table in TABLES:
        base_path = base_tree / "data" / "features" / table
        head_path = head_tree / "data" / "features" / table
        results[table] = compare(spark, str(base_path), str(head_path))
        r = results[table]
        print(
            f"{table}: schema_equal={r['schema_equal']} partitions_equal={r['partition_columns_equal']} "
            f"rows={r.get('rows')} only_in_base={r.get('only_in_base')} only_in_head={r.get('only_in_head')}\n"
            f"  sha256 {base_sha}={r.get('content_sha256', ['-'])[0]}\n"
            f"  sha256 {head_sha}={r.get('content_sha256', ['-', '-'])[1]}\n"
            f"  => {'IDENTICAL' if r['identical'] else 'DIFFERENT'}"
        )
    identical = all(r["identical"] for r in results.values())
    print(json.dumps({"base": base_sha, "head": head_sha, "pinned_clock": pinned, "identical": identical, **results}))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
