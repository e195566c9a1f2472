"""`python -m jobs monitor freshness|drift|skew|profile|report`: is the feature store fresh, stable and consistent?

- `freshness --run-date D`: the newest snapshot_date of each feature table must be at least
  D - quality.freshness_max_lag_days; each Feast feature view's newest materialization interval
  must end within monitoring.freshness_max_staleness_hours of now (the guide's Failure Case 2).
- `drift --table T --baseline-start --baseline-end --start --end`: statistics of both snapshot-day
  periods, PSI and KS per feature, the guide's alerts (thresholds in the `monitoring` section).
- `drift --daily --table T --start --end`: per snapshot day, PSI and KS of each feature against the
  profiles of the `monitoring.reference_days` days before it (or a pinned `--baseline-*` period), from
  the stored profiles; only days without a profile are scanned (and then stored).
- `skew --as-of T`: for a deterministic sample of entities, the offline point-in-time row against
  what Feast's get_online_features serves from the configured online store.
- `profile --table T --start --end`: store the daily profiles of those days (the features job does this
  for the days it publishes).
- `report --start --end [--output FILE]`: one self-contained HTML page of the history (jobs.monitoring.report).

Every check's result is appended to `monitoring.checks_table`; profiles go to `monitoring.profiles_table`.

Each prints one line per table, view or feature, then the JSON result line. Exit 1 when something
is stale, drifted (unless --report-only) or skewed; 2 for bad input; 3 when a store is unreachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from jobs.aws_credentials import loopback_credentials
from jobs.cli import command_parser, parse_date, parse_timestamp, run_command
from jobs.config import Config
from jobs.errors import BadInputError, DataQualityError, InfrastructureError
from jobs.monitoring.daily_drift import daily_drift
from jobs.monitoring.drift import (
    binned_ks_statistic,
    check_drift_alerts,
    compute_ks,
    distribution_alerts,
    psi,
    thresholds,
)
from jobs.monitoring.history import latest_checks, profile_days, profiled_days, read_profiles, record_check
from jobs.monitoring.skew import (
    MISMATCH_PREFIX,
    ONLINE_PREFIX,
    build_comparison,
    filter_any_mismatch,
    mismatch_aggregations,
    online_schema,
    select_offline_latest,
    select_sample,
)
from jobs.monitoring.stats import BASELINE, CURRENT, DayRange, compute_period_stats, feature_columns, with_periods
from jobs.schemas import SNAPSHOT_DATE
from jobs.tables import FEATURE_TABLES, names

TABLES = tuple(names(FEATURE_TABLES))
EXAMPLES_SHOWN = 5


class MonitorFailure(DataQualityError):
    """A check found something stale, drifted or skewed; `details` goes into the JSON line."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = command_parser(command, "Freshness, drift and training-serving skew checks of the feature store.")
    checks = parser.add_subparsers(dest="check", required=True, metavar="{freshness,drift,skew,profile,report}")

    freshness = _subcommand(checks, "freshness", "newest snapshot per feature table and last materialization per view")
    freshness.add_argument("--run-date", required=True, type=parse_date, help="the day the tables should be fresh for")
    freshness.add_argument(
        "--now", type=parse_timestamp, help="instant to judge materialization staleness at (default: the current time)"
    )

    drift = _subcommand(checks, "drift", "PSI, KS and the guide's drift alerts between two snapshot-day periods")
    drift.add_argument("--table", required=True, choices=TABLES)
    drift.add_argument(
        "--daily",
        action="store_true",
        help="one verdict per snapshot day from the stored profiles (reference: --baseline-* or the days before)",
    )
    drift.add_argument(
        "--reference-days", type=int, help="with --daily: days before each day (default: monitoring.reference_days)"
    )
    drift.add_argument("--baseline-start", type=parse_date, help="first baseline snapshot day (YYYY-MM-DD)")
    drift.add_argument("--baseline-end", type=parse_date, help="last baseline snapshot day (YYYY-MM-DD)")
    drift.add_argument("--start", required=True, type=parse_date, help="first snapshot day of the current period")
    drift.add_argument("--end", required=True, type=parse_date, help="last snapshot day of the current period")
    drift.add_argument("--report-only", action="store_true", help="report alerts but exit 0")

    skew = _subcommand(checks, "skew", "offline point-in-time rows of sampled entities vs the online store")
    skew.add_argument(
        "--as-of",
        required=True,
        type=parse_timestamp,
        help="instant the online store should reflect (the end of the last materialization), ISO-8601 UTC",
    )
    skew.add_argument("--sample", type=int, help="entities per view (default: monitoring.skew_sample_size)")
    skew.add_argument(
        "--feature-views",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        help="comma-separated feature views (default: every online view in the registry)",
    )

    profile = _subcommand(checks, "profile", "store the daily profiles (counts, nulls, moments, quantiles, histograms)")
    profile.add_argument("--table", choices=[*TABLES, "all"], default="all", help="feature table (default: all)")
    profile.add_argument("--start", required=True, type=parse_date, help="first snapshot day (YYYY-MM-DD)")
    profile.add_argument("--end", required=True, type=parse_date, help="last snapshot day (YYYY-MM-DD)")

    report = _subcommand(checks, "report", "a self-contained HTML report of the stored profiles and checks")
    report.add_argument("--start", required=True, type=parse_date, help="first snapshot day (YYYY-MM-DD)")
    report.add_argument("--end", required=True, type=parse_date, help="last snapshot day (YYYY-MM-DD)")
    report.add_argument(
        "--output", help="HTML file to write (default: <quality.results_path>/monitoring/report_<start>_<end>.html)"
    )
    return parser


def _subcommand(checks: Any, name: str, description: str) -> argparse.ArgumentParser:
    sub = checks.add_parser(name, help=description, description=description)
    # The configuration options are accepted after the check too (SUPPRESS keeps the parent's values).
    where = sub.add_mutually_exclusive_group()
    where.add_argument("--env", default=argparse.SUPPRESS, help="environment whose conf/<env>.yaml to load")
    where.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="explicit configuration file")
    sub.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=argparse.SUPPRESS,
        dest="overrides",
        help="override one setting, e.g. --set online_store.endpoint=http://127.0.0.1:8000 (repeatable)",
    )
    return sub


def main(argv: Sequence[str] | None = None, *, command: str = "monitor") -> int:
    return run_command(command, build_parser(command), argv, run, validate_args=_validate)


def _validate(args: argparse.Namespace, config: Config) -> None:
    if args.check in ("profile", "report") and args.start > args.end:
        raise BadInputError(f"--start {args.start} is after --end {args.end}")
    if args.check == "drift":
        if (args.baseline_start is None) != (args.baseline_end is None):
            raise BadInputError("--baseline-start and --baseline-end go together")
        if args.baseline_start is None and not args.daily:
            raise BadInputError("drift needs --baseline-start/--baseline-end, or --daily (reference: the days before)")
        if args.reference_days is not None and (not args.daily or args.reference_days < 1):
            raise BadInputError("--reference-days is a whole number of days >= 1, with --daily")
        if args.baseline_start is not None and args.baseline_start > args.baseline_end:
            raise BadInputError(f"--baseline-start {args.baseline_start} is after --baseline-end {args.baseline_end}")
        if args.start > args.end:
            raise BadInputError(f"--start {args.start} is after --end {args.end}")
    if args.check == "skew":
        if args.sample is not None and args.sample < 1:
            raise BadInputError(f"--sample must be at least 1, got {args.sample}")
        if args.feature_views == []:
            raise BadInputError("--feature-views names no view")
        if config.online_store.endpoint == "embedded":
            raise BadInputError(
                "skew reads the online store as it is, but online_store.endpoint is embedded (a server that lives "
                "only as long as the run that starts it): pass --set online_store.endpoint=http://127.0.0.1:PORT"
            )


def run(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    checks = {
        "freshness": run_freshness,
        "drift": run_daily_drift if args.check == "drift" and args.daily else run_drift,
        "skew": run_skew,
        "profile": run_profile,
        "report": run_report,
    }
    run_id = f"monitor-{args.check}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    try:
        result = {"check": args.check, "run_id": run_id, **checks[args.check](spark, config, args)}
    except MonitorFailure as failure:
        failure.details = {"check": args.check, "run_id": run_id, **failure.details}
        record_check(spark, config, check=args.check, run_id=run_id, result={**failure.details, "status": "alert"})
        raise
    if args.check != "report":
        record_check(spark, config, check=args.check, run_id=run_id, result={**result, "status": "ok"})
    return result


# --- freshness -------------------------------------------------------------------------------


def table_paths(config: Config) -> dict[str, str]:
    return {table.name: table.location(config) for table in FEATURE_TABLES}


def read_feature_table(spark: Any, config: Config, table: str) -> Any:
    from jobs import delta_io

    path = table_paths(config)[table]
    if not delta_io.exists(spark, path):
        raise BadInputError(f"table {table}: no Delta table at {path} (run the features job first)")
    return delta_io.read(spark, path)


def run_freshness(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    lag = config.quality.freshness_max_lag_days
    oldest_fresh = args.run_date - dt.timedelta(days=lag)
    tables: dict[str, Any] = {}
    problems = []
    for table in TABLES:
        rows = read_feature_table(spark, config, table)
        if SNAPSHOT_DATE not in rows.columns:
            raise BadInputError(f"table {table}: column {SNAPSHOT_DATE} is missing")
        newest = rows.agg(F.max(SNAPSHOT_DATE)).first()[0]
        fresh = newest is not None and newest >= oldest_fresh
        if newest is None:
            line = f"STALE: table {table} has no snapshots (needs one on or after {oldest_fresh})"
        elif fresh:
            line = f"OK: table {table} newest snapshot {newest} (needs >= {oldest_fresh})"
        else:
            line = f"STALE: table {table} newest snapshot {newest} is older than {oldest_fresh}"
        print(line, flush=True)
        tables[table] = {"newest_snapshot": newest.isoformat() if newest else None, "fresh": fresh}
        if not fresh:
            problems.append(line)
    views = _view_freshness(config, args.now or dt.datetime.now(dt.UTC), problems)
    result = {"run_date": args.run_date.isoformat(), "oldest_fresh_snapshot": oldest_fresh.isoformat()}
    result.update(tables=tables, views=views)
    if problems:
        raise MonitorFailure(f"{len(problems)} stale: " + "; ".join(problems), details=result)
    return result


def _view_freshness(config: Config, now: dt.datetime, problems: list[str]) -> dict[str, Any]:
    from jobs.feast_repo import feature_store

    max_staleness = dt.timedelta(hours=config.monitoring.freshness_max_staleness_hours)
    store = feature_store(config)
    try:
        views = store.registry.list_feature_views(store.project, allow_cache=False)
    except FileNotFoundError as err:
        raise BadInputError(f"no Feast registry at {config.feast.registry}: {err}") from err
    if not views:
        raise BadInputError(f"the Feast registry {config.feast.registry} holds no feature views: run `feast apply`")
    found: dict[str, Any] = {}
    for view in sorted(views, key=lambda v: v.name):
        # The newest end, not the last interval appended: a backfill appends an older interval.
        last_end = max((end for _, end in view.materialization_intervals), default=None)
        if last_end is None:
            line = f"WARNING: {view.name} has never been materialized"
            stale = True
        else:
            staleness = now - last_end
            stale = staleness > max_staleness
            line = (
                f"ALERT: {view.name} is stale by {staleness}"
                if stale
                else f"OK: {view.name} last materialized at {last_end}"
            )
        print(line, flush=True)
        found[view.name] = {"last_materialized": last_end.isoformat() if last_end else None, "stale": stale}
        if stale:
            problems.append(line)
    return found


# --- drift -----------------------------------------------------------------------------------


def run_drift(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    table = args.table
    rows = read_feature_table(spark, config, table)
    features = feature_columns(table)
    missing = [c for c in [*features, SNAPSHOT_DATE] if c not in rows.columns]
    if missing:
        raise BadInputError(f"table {table}: column {missing[0]} is missing ({len(missing)} missing)")
    baseline = DayRange(args.baseline_start, args.baseline_end)
    current = DayRange(args.start, args.end)
    monitoring = config.monitoring
    stats = compute_period_stats(
        rows, features=features, baseline=baseline, current=current, bins=monitoring.histogram_bins
    )
    for period, days in ((BASELINE, baseline), (CURRENT, current)):
        if period not in stats:
            raise BadInputError(f"table {table}: no rows in the {period} snapshot days {days.start}..{days.end}")
    ks = compute_ks(rows.transform(with_periods, baseline=baseline, current=current), features=features)
    report: dict[str, Any] = {}
    alert_count = 0
    for name in features:
        base, cur = stats[BASELINE][name], stats[CURRENT][name]
        psi_value = psi(base.histogram, cur.histogram)
        ks_result = ks.get(name)
        p_value = ks_result.p_value if ks_result else None
        alerts = check_drift_alerts(cur, base, thresholds(monitoring)) + distribution_alerts(
            psi_value, p_value, monitoring
        )
        alert_count += len(alerts)
        report[name] = {
            "baseline": base.as_dict(),
            "current": cur.as_dict(),
            "bin_edges": list(base.bin_edges),
            "psi": psi_value,
            "ks_statistic": ks_result.statistic if ks_result else None,
            "ks_p_value": p_value,
            "ks_statistic_binned": binned_ks_statistic(base.histogram, cur.histogram),
            "alerts": alerts,
        }
        for alert in alerts:
            print(f"ALERT: {table}.{name}: {alert}", flush=True)
        if not alerts:
            print(f"OK: {table}.{name} psi={_fmt(psi_value)} ks_p_value={_fmt(p_value)}", flush=True)
    result = {
        "table": table,
        "baseline": {"start": baseline.start.isoformat(), "end": baseline.end.isoformat()},
        "current": {"start": current.start.isoformat(), "end": current.end.isoformat()},
        "alerts": alert_count,
        "features": report,
    }
    if alert_count and not args.report_only:
        drifted = sorted(n for n, r in report.items() if r["alerts"])
        raise MonitorFailure(f"table {table}: drift alerts on {', '.join(drifted)}", details=result)
    return result


def run_daily_drift(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    """Per-day drift from the stored profiles; days without a profile are profiled (one scan) first."""
    table = args.table
    reference_days = args.reference_days or config.monitoring.reference_days
    baseline = (args.baseline_start, args.baseline_end) if args.baseline_start else None
    first = min(baseline[0], args.start) if baseline else args.start - dt.timedelta(days=reference_days)
    last = max(baseline[1], args.end) if baseline else args.end
    needed = {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}
    if baseline:
        needed = {d for d in needed if baseline[0] <= d <= baseline[1] or args.start <= d <= args.end}
    missing = sorted(needed - profiled_days(spark, config, table=table, start=first, end=last))
    if missing:
        profile_days(spark, config, table=table, start=missing[0], end=missing[-1], run_id=f"drift-{table}")
    profiles = [r.asDict() for r in read_profiles(spark, config, table=table, start=first, end=last)]
    days = [args.start + dt.timedelta(days=i) for i in range((args.end - args.start).days + 1)]
    drifts = daily_drift(
        profiles, table=table, days=days, config=config.monitoring, reference_days=reference_days, baseline=baseline
    )
    alerts = [a for d in drifts for a in d.alerts]
    for alert in alerts:
        print(f"ALERT: {alert}", flush=True)
    print(
        f"{'ALERT' if alerts else 'OK'}: {table}: {len(drifts)} (feature, day) pairs compared, {len(alerts)} alert(s)"
    )
    result = {
        "table": table,
        "start": args.start.isoformat(),
        "end": args.end.isoformat(),
        "reference_days": None if baseline else reference_days,
        "baseline": [d.isoformat() for d in baseline] if baseline else None,
        "profiled_days": [d.isoformat() for d in missing],
        "compared": len(drifts),
        "alerts": alerts,
        "days": [d.as_dict() for d in drifts],
    }
    if alerts and not args.report_only:
        raise MonitorFailure(f"{len(alerts)} drift alert(s): {alerts[0]}", details=result)
    return result


def run_profile(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    tables = TABLES if args.table == "all" else (args.table,)
    run_id = f"profile-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    return {
        "profiles": [
            profile_days(spark, config, table=t, start=args.start, end=args.end, run_id=run_id) for t in tables
        ]
    }


def run_report(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    from jobs.monitoring.report import checks_section, data_docs_section, render_page, table_section
    from jobs.quality.context import local_docs_dir

    now = dt.datetime.now(dt.UTC)
    reference_days = config.monitoring.reference_days
    days = [args.start + dt.timedelta(days=i) for i in range((args.end - args.start).days + 1)]
    body = []
    alerts = 0
    for table in TABLES:
        profiles = [
            r.asDict()
            for r in read_profiles(
                spark, config, table=table, start=args.start - dt.timedelta(days=reference_days), end=args.end
            )
        ]
        drifts = daily_drift(profiles, table=table, days=days, config=config.monitoring, reference_days=reference_days)
        ks_threshold = config.monitoring.ks_p_value / max(len(drifts), 1)
        in_range = [p for p in profiles if args.start <= p["snapshot_date"] <= args.end]
        alerts += sum(len(d.alerts) for d in drifts)
        body.append(
            table_section(table, in_range, drifts, config=config.monitoring, ks_threshold=ks_threshold, now=now)
        )
    body.append(checks_section(latest_checks(spark, config)))
    output = Path(args.output) if args.output else _default_report_path(config, args.start, args.end)
    docs = local_docs_dir(config.quality.results_path)
    body.append(data_docs_section(_data_docs_links(docs, output, args.start, args.end) if docs else []))
    output.parent.mkdir(parents=True, exist_ok=True)
    title = f"Feature monitoring {args.start} .. {args.end}"
    output.write_text(render_page(title=title, generated_at=now, body=body), encoding="utf-8")
    print(f"report: {output.resolve()}", flush=True)
    return {
        "report": str(output.resolve()),
        "start": args.start.isoformat(),
        "end": args.end.isoformat(),
        "drift_alerts": alerts,
    }


def _default_report_path(config: Config, start: dt.date, end: dt.date) -> Path:
    from jobs.quality.context import local_docs_dir

    docs = local_docs_dir(config.quality.results_path)
    folder = docs.parent / "monitoring" if docs else Path.cwd()
    return folder / f"report_{start.isoformat()}_{end.isoformat()}.html"


def _data_docs_links(docs: Path, output: Path, start: dt.date, end: dt.date) -> list[tuple[str, str]]:
    """The Data Docs index and every validation page whose batch name mentions a day of the range."""
    if not (docs / "index.html").is_file():
        return []
    links = [("Data Docs index", os.path.relpath(docs / "index.html", output.parent))]
    days = {(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)}
    for page in sorted((docs / "validations").rglob("*.html")):
        batch = page.parent.parent.name
        if any(day in batch for day in days):
            links.append((f"{page.parent.parent.parent.name}: {batch}", os.path.relpath(page, output.parent)))
    return links


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# --- skew ------------------------------------------------------------------------------------


def run_skew(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    from jobs.feast_repo import feature_store
    from jobs.online_store.layout import layout_from_feature_view
    from jobs.online_store.materialize import check_required_columns, read_view_rows
    from jobs.online_store.registry import feature_views
    from jobs.online_store.select import with_source_names
    from jobs.online_store.tables import endpoint_url

    url = endpoint_url(config.online_store.endpoint, None)
    size = args.sample or config.monitoring.skew_sample_size
    store = feature_store(config, url)
    views: dict[str, Any] = {}
    total = 0
    for view in feature_views(store, args.feature_views):
        layout = layout_from_feature_view(view, store.config)
        rows = read_view_rows(spark, layout)
        check_required_columns(rows, layout=layout, source_name=f"{layout.source.ref} (view {layout.name})")
        latest = select_offline_latest(
            rows.transform(with_source_names, layout=layout),
            join_keys=layout.join_key_names,
            timestamp_field=layout.timestamp_field,
            created_timestamp_column=layout.created_timestamp_column,
            as_of=args.as_of,
            ttl_seconds=layout.ttl_seconds,
            partitions=int(spark.conf.get("spark.sql.shuffle.partitions")),
        )
        sample = select_sample(latest, join_keys=layout.join_key_names, features=layout.feature_names, size=size)
        keys = [tuple(r) for r in sample.select(*layout.join_key_names).collect()]
        served = _served_values(spark, store, url, layout, keys)
        compared = build_comparison(
            sample,
            served,
            join_keys=layout.join_key_names,
            features=layout.features,
            tolerance=config.monitoring.skew_tolerance,
        )
        counts = compared.agg(*mismatch_aggregations(layout.feature_names)).collect()[0].asDict()
        mismatches = {name: int(counts[name]) for name in layout.feature_names}
        examples = _examples(compared, layout) if any(mismatches.values()) else []
        total += sum(mismatches.values())
        views[layout.name] = {"sampled": int(counts["_sampled"]), "mismatches": mismatches, "examples": examples}
        for name, count in mismatches.items():
            status = "MISMATCH" if count else "OK"
            print(f"{status}: {layout.name}:{name} {count}/{counts['_sampled']} sampled entities differ", flush=True)
    result = {"as_of": args.as_of.isoformat(), "endpoint": url or f"aws:{config.online_store.region}"}
    result.update(sample_size=size, mismatches=total, views=views)
    if total:
        raise MonitorFailure(f"training-serving skew: {total} mismatching feature values", details=result)
    return result


def _served_values(spark: Any, store: Any, url: str | None, layout: Any, keys: list[tuple]) -> Any:
    schema = online_schema(layout.join_key_names, layout.features)
    if not keys:
        return spark.createDataFrame([], schema)
    refs = [f"{layout.name}:{name}" for name in layout.feature_names]
    entity_rows = [dict(zip(layout.join_key_names, key, strict=True)) for key in keys]
    try:
        with loopback_credentials(url):
            served = store.get_online_features(features=refs, entity_rows=entity_rows).to_dict()
    except Exception as err:
        if type(err).__module__.startswith("botocore"):
            raise InfrastructureError(f"online store {url or 'AWS DynamoDB'} unavailable: {err}") from err
        raise
    rows = []
    for i in range(len(keys)):
        key_values = [served[k][i] for k in layout.join_key_names]
        rows.append([*key_values, *[_as_column_value(served[f][i]) for f in layout.feature_names]])
    return spark.createDataFrame(rows, schema)


def _as_column_value(value: Any) -> Any:
    return float(value) if isinstance(value, float) else value


def _examples(compared: Any, layout: Any) -> list[dict[str, Any]]:
    shown = filter_any_mismatch(compared, features=layout.feature_names).limit(EXAMPLES_SHOWN).collect()
    examples = []
    for row in shown:
        differing = [f for f in layout.feature_names if row[f"{MISMATCH_PREFIX}{f}"]]
        examples.append(
            {
                "key": {k: row[k] for k in layout.join_key_names},
                "features": {f: {"offline": row[f], "online": row[f"{ONLINE_PREFIX}{f}"]} for f in differing},
            }
        )
    return examples
