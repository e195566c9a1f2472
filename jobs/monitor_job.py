"""`python -m jobs monitor freshness|drift|skew|profile|report`: is the feature store fresh, stable and consistent?

- `freshness --run-date D`: the newest snapshot_date of each feature table must be at least
  D - quality.freshness_max_lag_days; each Feast feature view's newest materialization interval
  must end within monitoring.freshness_max_staleness_hours of now (the guide's Failure Case 2).
- `drift --tables T[,T2] --baseline-start --baseline-end --start --end`: statistics of both snapshot-day
  periods, PSI and KS per feature, the guide's alerts (thresholds in the `monitoring` section).
- `drift --daily --tables T[,T2] --start --end`: per snapshot day, PSI and KS of each feature against the
  profiles of the `monitoring.reference_days` days before it (or a pinned `--baseline-*` period), from
  the stored profiles; only days without a profile are scanned (and then stored).
- `skew [--start D --end D]`: the requests the feature service logged on those days (Feast's feature
  logging, jobs.online_store.serving) against the point-in-time join at each request's time, value
  by value (jobs.monitoring.skew); TTL differences are reported apart from skew.
- `profile [--tables T[,T2]] --start --end`: store the daily profiles of those days (the features job does this
  for the days it publishes).
- `report --start --end [--output FILE]`: one self-contained HTML page of the history (jobs.monitoring.report).

Every check's result is appended to `monitoring.checks_table`; profiles go to `monitoring.profiles_table`.

Each prints one line per table, view or feature, then the JSON result line (drift over several tables:
each table's result under `tables`). Exit 1 when something
is stale, drifted (unless --report-only) or skewed; 2 for bad input; 3 when a store is unreachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from jobs.cli import (
    DATE,
    INSTANT,
    INSTANT_HELP,
    add_option_with_alias,
    command_parser,
    parse_date,
    parse_timestamp,
    run_command,
)
from jobs.config import Config
from jobs.errors import BadInputError, DataQualityError, NotReadyError
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
    ENTITY_TIMESTAMP,
    KIND_PREFIX,
    MATCH,
    REQUEST_DAY,
    REQUEST_ID,
    ROWS,
    SERVED_AT_PREFIX,
    SERVED_PREFIX,
    SKEW,
    TTL,
    ServedFeature,
    filter_any_difference,
    kind_counts,
    select_request_rows,
    with_skew_kinds,
)
from jobs.monitoring.stats import BASELINE, CURRENT, DayRange, compute_period_stats, feature_columns, with_periods
from jobs.schemas import SNAPSHOT_DATE
from jobs.tables import FEATURE_TABLES, feature_table_names, names

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
    freshness.add_argument(
        "--run-date", required=True, type=parse_date, metavar=DATE, help="the day the tables should be fresh for"
    )
    freshness.add_argument(
        "--now",
        type=parse_timestamp,
        metavar=INSTANT,
        help=f"instant to judge materialization staleness at (default: the current time); {INSTANT_HELP}",
    )

    drift = _subcommand(checks, "drift", "PSI, KS and the guide's drift alerts between two snapshot-day periods")
    _add_tables_option(drift, required=True, help=f"comma-separated feature tables: {','.join(TABLES)}")
    drift.add_argument(
        "--daily",
        action="store_true",
        help="one verdict per snapshot day from the stored profiles (reference: --baseline-* or the days before)",
    )
    drift.add_argument(
        "--reference-days", type=int, help="with --daily: days before each day (default: monitoring.reference_days)"
    )
    drift.add_argument(
        "--baseline-start", type=parse_date, metavar=DATE, help="first baseline snapshot day (YYYY-MM-DD)"
    )
    drift.add_argument("--baseline-end", type=parse_date, metavar=DATE, help="last baseline snapshot day")
    drift.add_argument(
        "--start", required=True, type=parse_date, metavar=DATE, help="first snapshot day of the current period"
    )
    drift.add_argument(
        "--end", required=True, type=parse_date, metavar=DATE, help="last snapshot day of the current period"
    )
    drift.add_argument("--report-only", action="store_true", help="report alerts but exit 0")

    skew = _subcommand(checks, "skew", "what the feature service served vs the point-in-time join at request time")
    skew.add_argument(
        "--start", type=parse_date, metavar=DATE, help="first request day (YYYY-MM-DD, UTC; default: today)"
    )
    skew.add_argument("--end", type=parse_date, metavar=DATE, help="last request day (UTC; default: --start)")
    skew.add_argument(
        "--feature-service",
        help="feature service whose logged requests to check (default: monitoring.skew_feature_service)",
    )

    profile = _subcommand(checks, "profile", "store the daily profiles (counts, nulls, moments, quantiles, histograms)")
    _add_tables_option(
        profile, default=",".join(TABLES), help=f"comma-separated feature tables (default: all: {','.join(TABLES)})"
    )
    profile.add_argument(
        "--start", required=True, type=parse_date, metavar=DATE, help="first snapshot day (YYYY-MM-DD)"
    )
    profile.add_argument("--end", required=True, type=parse_date, metavar=DATE, help="last snapshot day")

    report = _subcommand(checks, "report", "a self-contained HTML report of the stored profiles and checks")
    report.add_argument("--start", required=True, type=parse_date, metavar=DATE, help="first snapshot day")
    report.add_argument("--end", required=True, type=parse_date, metavar=DATE, help="last snapshot day")
    report.add_argument(
        "--output", help="HTML file to write (default: <quality.results_path>/monitoring/report_<start>_<end>.html)"
    )
    return parser


def _add_tables_option(parser: argparse.ArgumentParser, **kwargs: Any) -> None:
    add_option_with_alias(parser, "--tables", "--table", dest="tables", metavar="TABLE,...", **kwargs)


def _subcommand(checks: Any, name: str, description: str) -> argparse.ArgumentParser:
    sub = checks.add_parser(name, help=description, description=description)
    # The configuration options are accepted after the check too (SUPPRESS keeps the parent's values).
    where = sub.add_mutually_exclusive_group()
    where.add_argument(
        "--env", metavar="NAME", default=argparse.SUPPRESS, help="environment whose conf/<env>.yaml to load"
    )
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
    if args.check in ("drift", "profile"):
        args.tables = feature_table_names(args.tables)
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
        args.start = args.start or dt.datetime.now(dt.UTC).date()
        args.end = args.end or args.start
        if args.start > args.end:
            raise BadInputError(f"--start {args.start} is after --end {args.end}")


def run(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    checks = {
        "freshness": run_freshness,
        "drift": run_drift,
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
    """Drift of each table of --tables, between two periods or (--daily) day by day."""
    check = _daily_drift if args.daily else _period_drift
    return _each_table(args.tables, lambda table: check(spark, config, args, table))


def _each_table(tables: Sequence[str], check: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """One table's result is the result; several go under `tables`. Every table is checked (and prints its
    lines) before an alert on any of them fails the run."""
    results: dict[str, Any] = {}
    failures = []
    for table in tables:
        try:
            results[table] = check(table)
        except MonitorFailure as failure:
            results[table] = failure.details
            failures.append(failure)
    if len(results) == 1:
        if failures:
            raise failures[0]
        return results[tables[0]]
    if failures:
        raise MonitorFailure("; ".join(str(f) for f in failures), details={"tables": results})
    return {"tables": results}


def _period_drift(spark: Any, config: Config, args: argparse.Namespace, table: str) -> dict[str, Any]:
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


def _daily_drift(spark: Any, config: Config, args: argparse.Namespace, table: str) -> dict[str, Any]:
    """Per-day drift from the stored profiles; days without a profile are profiled (one scan) first."""
    reference_days = args.reference_days or config.monitoring.reference_days
    baseline = (args.baseline_start, args.baseline_end) if args.baseline_start else None
    first = min(baseline[0], args.start) if baseline else args.start - dt.timedelta(days=reference_days)
    last = max(baseline[1], args.end) if baseline else args.end
    needed = {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}
    if baseline:
        needed = {d for d in needed if baseline[0] <= d <= baseline[1] or args.start <= d <= args.end}
    missing = sorted(needed - profiled_days(spark, config, table=table, start=first, end=last))
    if missing:
        profile_days(spark, config, days={table: (missing[0], missing[-1])}, run_id=f"drift-{table}")
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
    run_id = f"profile-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    return {
        "profiles": profile_days(spark, config, days={t: (args.start, args.end) for t in args.tables}, run_id=run_id)
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
    from feast.feature_logging import FeatureServiceLoggingSource

    from jobs.feast_repo import feature_store
    from jobs.offline_store.pit_join import DEFAULT_HOT_KEY_ROWS, build_point_in_time_join
    from jobs.offline_store.requests import build_view_joins
    from jobs.training_set_job import resolve_feature_request

    name = args.feature_service or config.monitoring.skew_feature_service
    store = feature_store(config, None)  # the registry and the offline store; the online store is not read
    _, requests = resolve_feature_request(store, name, None)
    service = store.get_feature_service(name)
    if service.logging_config is None:
        raise BadInputError(f"feature service {name} has no logging_config: nothing it serves is logged")
    log_path = service.logging_config.destination.path
    features = _served_features(requests)
    join_keys = sorted({k for r in requests for k in r.join_keys()})
    log_schema = FeatureServiceLoggingSource(service, store.project).get_schema(store.registry)
    logged = select_request_rows(
        _read_served_log(spark, log_path, log_schema),
        join_keys=join_keys,
        features=features,
        start=args.start,
        end=args.end,
    )
    offline = store.config.offline_store
    joined = build_point_in_time_join(
        logged,
        build_view_joins(spark, requests, full_feature_names=True),
        timestamp_column=ENTITY_TIMESTAMP,
        bucket_seconds=getattr(offline, "bucket_seconds", None),
        hot_key_rows=getattr(offline, "hot_key_rows", DEFAULT_HOT_KEY_ROWS),
    )
    tolerance, max_rate = config.monitoring.skew_tolerance, config.monitoring.skew_max_mismatch_rate
    compared = with_skew_kinds(joined, features=features, tolerance=tolerance).persist()
    try:
        days = sorted(compared.transform(kind_counts, features=features).collect(), key=lambda r: r[REQUEST_DAY])
        counts = [_feature_counts(day, f, max_rate) for day in days for f in features]
        differing = any(c["skew"] or c["ttl"] for c in counts)
        examples = _examples(compared, features, join_keys) if differing else []
    finally:
        compared.unpersist()
    alerts = []
    for c in counts:
        where = f"{c['view']}.{c['feature']} on {c['day']}"
        if c["alert"]:
            alert = (
                f"skew {where}: {c['skew']} of {c['rows']} served values ({c['skew_rate']:.2%}) differ from the "
                f"point-in-time join beyond tolerance {tolerance:g} (limit {max_rate:.2%})"
            )
            alerts.append(alert)
            print(f"ALERT: {alert}", flush=True)
        else:
            print(f"OK: skew {where}: {c['skew']} of {c['rows']} served values differ", flush=True)
        if c["ttl"]:
            print(
                f"TTL: {where}: {c['ttl']} of {c['rows']} served values were older than the view's TTL "
                f"({dt.timedelta(seconds=c['ttl_seconds'])}) at request time (served online, null in the join; "
                "not counted as skew)",
                flush=True,
            )
    requests_checked = sum(int(day[ROWS]) for day in days)
    if not requests_checked:
        print(f"WARNING: no request of {name} logged at {log_path} on {args.start}..{args.end}", flush=True)
    result = {
        "feature_service": name,
        "log": log_path,
        "start": args.start.isoformat(),
        "end": args.end.isoformat(),
        "tolerance": tolerance,
        "max_mismatch_rate": max_rate,
        "requests": requests_checked,
        "mismatches": sum(c["skew"] for c in counts),
        "ttl_differences": sum(c["ttl"] for c in counts),
        "features": counts,
        "alerts": alerts,
        "examples": examples,
    }
    if alerts:
        raise MonitorFailure(f"{len(alerts)} skew alert(s): {alerts[0]}", details=result)
    return result


def _served_features(requests: Sequence[Any]) -> list[ServedFeature]:
    """Every feature of the service, in its order; floats compare within the tolerance."""
    from feast.types import Float32, Float64

    features = []
    for request in requests:
        dtypes = {field.name: field.dtype for field in request.view.features}
        ttl_seconds = int(request.view.ttl.total_seconds()) if request.view.ttl else 0
        for name in request.features:
            exact = dtypes[name] not in (Float32, Float64)
            features.append(ServedFeature(request.name, name, exact=exact, ttl_seconds=ttl_seconds))
    return features


def _read_served_log(spark: Any, path: str, log_schema: Any) -> Any:
    """The log files, read with the schema Feast derives from the service (files written before a
    feature was added read it as null)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql.pandas.types import from_arrow_schema

    try:
        return spark.read.schema(from_arrow_schema(log_schema)).parquet(path)
    except AnalysisException as err:
        if "PATH_NOT_FOUND" in str(err) or "UNABLE_TO_INFER_SCHEMA" in str(err):
            raise NotReadyError(
                f"no served features logged at {path}: serve through jobs.online_store.serving "
                "(the guide's inference.py) first"
            ) from err
        raise


def _feature_counts(day: Any, feature: ServedFeature, max_rate: float) -> dict[str, Any]:
    rows, skew, ttl = int(day[ROWS]), int(day[f"{SKEW}:{feature.column}"]), int(day[f"{TTL}:{feature.column}"])
    rate = skew / rows if rows else 0.0
    return {
        "view": feature.view,
        "feature": feature.feature,
        "day": day[REQUEST_DAY].isoformat(),
        "rows": rows,
        "skew": skew,
        "ttl": ttl,
        "skew_rate": rate,
        "ttl_seconds": feature.ttl_seconds,
        "alert": skew > 0 and rate > max_rate,
    }


def _examples(compared: Any, features: Sequence[ServedFeature], join_keys: Sequence[str]) -> list[dict[str, Any]]:
    """The first differing requests (by request time), one entry per differing feature."""
    shown = (
        filter_any_difference(compared, features=features)
        .orderBy(ENTITY_TIMESTAMP, REQUEST_ID, *join_keys)
        .limit(EXAMPLES_SHOWN)
        .collect()
    )
    examples = []
    for row in shown:
        for f in features:
            kind = row[f"{KIND_PREFIX}{f.column}"]
            if kind == MATCH:
                continue
            examples.append(
                {
                    "request_id": row[REQUEST_ID],
                    "requested_at": row[ENTITY_TIMESTAMP].isoformat(),
                    "key": {k: row[k] for k in join_keys},
                    "view": f.view,
                    "feature": f.feature,
                    "kind": kind,
                    "served": row[f"{SERVED_PREFIX}{f.column}"],
                    "offline": row[f.column],
                    "served_event_timestamp": _iso(row[f"{SERVED_AT_PREFIX}{f.column}"]),
                }
            )
    return examples


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()
