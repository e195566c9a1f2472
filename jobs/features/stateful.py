"""Daily runs from stored state: new landing days -> silver MERGE -> affected tiles -> rolled windows.

The state is six Delta tables (`tables.silver_transactions`, `silver_chargebacks`,
`resolved_chargebacks`, `user_tiles`, `merchant_tiles`, `landed_days`). A backfill with
`--rebuild-state` builds them from scratch from the landing days it reads. Then `features --run-date D`
reads only the landing days after the last one processed (just D when D was processed already: a
rerun), and:

1. checks their rows (the rules of FEATURES.md, judged at D + 1 00:00) and judges the passing ones
   against the stored rows of the same ids (jobs.features.silver); files the run's rejects and the
   stored rows a later duplicate displaced in the quarantine;
2. MERGEs the winners into silver_transactions and replaces the landing days' chargebacks;
3. finds the stored transactions the new chargebacks name (four columns of the merchant window's
   silver days before the filing days), and recomputes the resolved chargebacks of those and of the
   transactions it stored (jobs.features.resolved_chargebacks), one MERGE;
4. rebuilds both tiles of the event days the new rows touched (the days of the new, replaced and
   displaced transactions);
5. rolls each feature table for every snapshot day from its earliest touched day (the first new
   landing day, a touched event day, or for merchants the first filing day of a new chargeback) to
   D, and replaces those days in one commit per table.

A late row from six days ago thus recomputes seven user and merchant snapshot days, a chargeback
filed today only today's, and the tables equal a backfill over the same raw rows. A run's commits to
tables that do not depend on each other run side by side (jobs.delta_io.concurrently): the silver
MERGE and the chargebacks' replace; the chargebacks' quarantine and the resolved MERGE; the two tiles;
the two feature tables. The landed days are committed last. A backfill's commits stay one after the
other (benchmarks/RESULTS.md, "Independent commits side by side"). The chargebacks'
quarantine verdict is judged at landing against the stored transactions of the merchant window
before the filing day; the features always use every stored chargeback, so one landing before its
transaction counts once it lands.

A run that fails after its silver MERGE and before its tiles is repeated by rerunning D: its rows are
then `same`, their days' tiles and their resolved chargebacks are rebuilt, except the old day of a
displaced row whose correction crossed midnight, which needs a `--rebuild-state` backfill.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import delta_io
from jobs.config import Config
from jobs.errors import JobError
from jobs.features import raw_rules, resolved_chargebacks, silver, tiles
from jobs.features.inputs import filter_landed_between, read_raw
from jobs.features.quarantine import merge_quarantine, replace_quarantine, select_quarantine_rows
from jobs.features.raw_rules import rule_counts
from jobs.features.readiness import RawInput, check_inputs_ready
from jobs.features.run_range import DateRange
from jobs.monitoring.history import profile_days
from jobs.schemas import INGEST_DATE, RAW_CHARGEBACKS, RAW_TRANSACTIONS
from jobs.tables import MERCHANT_FEATURES, USER_FEATURES

USER_TABLE = USER_FEATURES.name
MERCHANT_TABLE = MERCHANT_FEATURES.name

log = logging.getLogger(__name__)

LANDED_DAYS = T.StructType(
    [
        T.StructField(INGEST_DATE, T.DateType(), nullable=False),
        T.StructField("run_id", T.StringType(), nullable=False),
        T.StructField("processed_at", T.TimestampType(), nullable=False),
    ]
)


def state_exists(spark: SparkSession, config: Config) -> bool:
    return all(delta_io.exists(spark, location) for location in state_locations(config))


def state_locations(config: Config) -> list[str]:
    t = config.tables
    return [
        t.silver_transactions,
        t.silver_chargebacks,
        t.resolved_chargebacks,
        t.user_tiles,
        t.merchant_tiles,
        t.landed_days,
    ]


def landing_days_to_process(spark: SparkSession, config: Config, run_date: dt.date) -> tuple[dt.date, dt.date]:
    """The landing days after the last one processed, through the run date; only the run date when
    it was processed already (a rerun) or nothing was."""
    last_done = delta_io.read(spark, config.tables.landed_days).agg(F.max(INGEST_DATE)).first()
    latest = None if last_done is None else last_done[0]
    if latest is None or run_date <= latest:
        return run_date, run_date
    return latest + dt.timedelta(days=1), run_date


def rebuild_state(
    spark: SparkSession,
    config: Config,
    *,
    used_transactions: DataFrame,
    chargebacks: DataFrame,
    landing_days: tuple[dt.date, dt.date],
    run_id: str,
    processed_at: dt.datetime,
) -> dict[str, Any]:
    """Replace the whole state with what the landing days a backfill read give (one commit per table)."""
    started = time.monotonic()
    t = config.tables
    silver.replace_transactions(spark, t.silver_transactions, used_transactions)
    silver.replace_chargebacks(t.silver_chargebacks, chargebacks, first=landing_days[0], last=None)
    stored = delta_io.read(spark, t.silver_transactions)
    resolved_chargebacks.replace(
        t.resolved_chargebacks,
        resolved_chargebacks.resolve(
            stored, delta_io.read(spark, t.silver_chargebacks), window_days=config.features.merchant_window_days
        ),
    )
    for build, location in ((tiles.build_user_tiles, t.user_tiles), (tiles.build_merchant_tiles, t.merchant_tiles)):
        delta_io.overwrite(build(stored), location, partition_by=[silver.EVENT_DATE], overwrite_schema=True)
    # Last: once the landed days are recorded, `--run-date` runs from this state.
    first, last = landing_days
    delta_io.overwrite(landed_day_rows(spark, first, last, run_id=run_id, processed_at=processed_at), t.landed_days)
    return {
        "mode": "rebuilt",
        "landing_days": f"{first}..{last}",
        "duration_s": round(time.monotonic() - started, 3),
    }


def landed_day_rows(
    spark: SparkSession, first: dt.date, last: dt.date, *, run_id: str, processed_at: dt.datetime
) -> DataFrame:
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return spark.createDataFrame([(d, run_id, processed_at) for d in days], LANDED_DAYS)


def run_from_state(
    spark: SparkSession,
    config: Config,
    *,
    run_date: dt.date,
    tables: Sequence[str],
    allow_missing_days: bool = False,
    publish: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """`features --run-date` once the state exists; returns what the JSON line reports. `publish` is the
    job's write-audit-publish of feature batches (jobs.features_job.publish_all: the job layer owns it)."""

    computed_at = dt.datetime.now(dt.UTC)
    run_id = f"features-{computed_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    t, windows = config.tables, config.features
    lap = Laps()
    first_day, last_day = landing_days_to_process(spark, config, run_date)
    log.info("run %s from state: landing days %s..%s", run_id, first_day, last_day)
    raw = {
        name: read_raw(spark, table=name, path=path, schema=schema)
        for name, path, schema in (
            ("transactions", t.raw_transactions, RAW_TRANSACTIONS),
            ("chargebacks", t.raw_chargebacks, RAW_CHARGEBACKS),
        )
    }
    landed = functools.partial(filter_landed_between, first_day=first_day, last_day=last_day)
    transactions, chargebacks = landed(raw["transactions"]), landed(raw["chargebacks"])
    inputs_checked = check_inputs_ready(
        spark,
        config.inputs,
        [
            RawInput("transactions", t.raw_transactions, transactions, raw["transactions"], True),
            RawInput("chargebacks", t.raw_chargebacks, chargebacks, raw["chargebacks"], False),
        ],
        first_day=first_day,
        last_day=last_day,
        allow_missing_days=allow_missing_days,
    )
    lap("inputs")
    reference_instant = DateRange(run_date, run_date).reference_instant
    tagged = transactions.transform(raw_rules.with_transaction_rule, reference_instant=reference_instant).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    horizon = dt.timedelta(days=windows.correction_horizon_days)
    lo, hi = event_date_bounds(raw_rules.filter_used(tagged), "event_timestamp", default=run_date)
    scan = (lo - horizon, hi + horizon)
    stored = silver.read_stored(spark, t.silver_transactions, first=scan[0], last=scan[1])
    judged = tagged.transform(silver.with_stored_outcome, stored=stored).persist(StorageLevel.MEMORY_AND_DISK)
    report: dict[str, Any] = {
        "run_id": run_id,
        "start": run_date.isoformat(),
        "end": run_date.isoformat(),
        "inputs_checked": inputs_checked,
    }
    named: DataFrame | None = None
    checked_chargebacks: DataFrame | None = None
    try:
        transaction_counts = rule_counts(judged.select(*silver.RAW_TRANSACTION_COLUMNS, "rule"))
        outcomes = {r[silver.OUTCOME]: r["count"] for r in judged.groupBy(silver.OUTCOME).count().collect()}
        user_days = sorted(r[0] for r in silver.affected_event_dates(judged).collect())
        lap("judge")
        displaced = outcomes.get(silver.WINS, 0)
        quarantine_transactions(
            spark,
            config,
            judged,
            run_id=run_id,
            at=computed_at,
            days=(first_day, last_day),
            displaced=displaced,
        )
        lap("quarantine_transactions")
        delta_io.concurrently(
            lambda: silver.merge_transactions(
                spark, t.silver_transactions, silver.filter_upserts(judged), first=scan[0], last=scan[1]
            ),
            lambda: silver.replace_chargebacks(t.silver_chargebacks, chargebacks, first=first_day, last=last_day),
        )
        lap("silver")

        # Judged against silver after the MERGE, so a transaction landing with its chargeback counts.
        cb_lo, cb_hi = event_date_bounds(chargebacks, "chargeback_timestamp", default=run_date)
        named_first = cb_lo - dt.timedelta(days=windows.merchant_window_days - 1)
        named = named_transactions(
            silver.read_stored(spark, t.silver_transactions, first=named_first, last=cb_hi), chargebacks
        ).persist(StorageLevel.MEMORY_AND_DISK)
        # Counted and filed: one read of the landing day's chargebacks and one join, not two.
        checked_chargebacks = chargebacks.transform(raw_rules.with_chargeback_rule, used_transactions=named).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        chargeback_counts = rule_counts(checked_chargebacks)
        report["inputs"] = {"transactions": transaction_counts, "chargebacks": chargeback_counts}
        filed = select_rejects(checked_chargebacks, source_table="chargebacks", run_id=run_id, at=computed_at)
        raw_rules.log_rejects({"transactions": transaction_counts, "chargebacks": chargeback_counts}, run_id=run_id)
        report["quarantine"] = {
            "path": t.quarantine,
            "rows": transaction_counts["quarantined"] + chargeback_counts["quarantined"] + displaced,
            "displaced_stored_rows": displaced,
        }

        reach = (min(scan[0], named_first), max(scan[1], cb_hi))
        lap("chargeback_verdicts")
        delta_io.concurrently(
            lambda: replace_quarantine(
                filed, path=t.quarantine, first_day=first_day, last_day=last_day, source_table="chargebacks"
            ),
            lambda: update_resolved_chargebacks(spark, config, judged=judged, named=named, reach=reach),
        )
        lap("chargeback_quarantine_and_resolved")
        rebuild_tiles(spark, config, days=user_days)
        lap("tiles")
        ranges = {
            USER_TABLE: DateRange(min([first_day, *user_days]), run_date),
            MERCHANT_TABLE: DateRange(min([first_day, *user_days, cb_lo]), run_date),
        }
        builds = {
            USER_TABLE: lambda: tiles.roll_user_features(
                delta_io.read(spark, t.user_tiles),
                run_range=ranges[USER_TABLE],
                window_days=windows.user_window_days,
                computed_at=computed_at,
            ),
            MERCHANT_TABLE: lambda: tiles.roll_merchant_features(
                delta_io.read(spark, t.merchant_tiles),
                delta_io.read(spark, t.resolved_chargebacks),
                run_range=ranges[MERCHANT_TABLE],
                window_days=windows.merchant_window_days,
                computed_at=computed_at,
            ),
        }
        paths = {USER_TABLE: t.user_features, MERCHANT_TABLE: t.merchant_features}
        report["start"] = min(ranges[table].start for table in tables).isoformat()
        report["tables"] = publish(
            spark,
            config,
            batches={table: builds[table] for table in tables},
            paths=paths,
            run_ranges={table: ranges[table] for table in tables},
            run_id=run_id,
            side_by_side=True,
        )
        lap("feature_tables")
        profile_started = time.monotonic()
        profiled = profile_days(
            spark, config, days={table: (ranges[table].start, run_date) for table in tables}, run_id=run_id
        )
        report["profiles"] = {
            "table": config.monitoring.profiles_table,
            "written": profiled,
            "duration_s": round(time.monotonic() - profile_started, 3),
        }
        delta_io.overwrite(
            landed_day_rows(spark, first_day, last_day, run_id=run_id, processed_at=computed_at),
            t.landed_days,
            replace_where=delta_io.between_days(INGEST_DATE, first_day, last_day),
        )
        lap("profiles_and_landed_days")
        report["state"] = {
            "mode": "from_state",
            "landing_days": f"{first_day}..{last_day}",
            "silver_scan_event_days": f"{scan[0]}..{scan[1]}",
            "outcomes": {str(k): v for k, v in sorted(outcomes.items(), key=lambda kv: str(kv[0]))},
            "tiles_rebuilt_days": len(user_days),
            "snapshot_days": {table: f"{ranges[table].start}..{run_date}" for table in tables},
            "step_s": lap.seconds,
        }
    except JobError as err:
        err.details = {**report, **getattr(err, "details", {})}  # type: ignore[attr-defined]
        raise
    finally:
        for cached in (checked_chargebacks, named):
            if cached is not None:
                cached.unpersist()
        judged.unpersist()
        tagged.unpersist()
    return report


class Laps:
    """Seconds between successive marks: where a run's time went (the JSON line's `state.step_s`).
    Spark is lazy, so a step also carries the computing of what it is the first to use."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self.seconds: dict[str, float] = {}

    def __call__(self, step: str) -> None:
        now = time.monotonic()
        self.seconds[step] = round(now - self._last, 3)
        self._last = now


def event_date_bounds(df: DataFrame, column: str, *, default: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last date of a timestamp column (one small aggregate), `default` when empty."""
    row = df.agg(F.min(F.to_date(column)), F.max(F.to_date(column))).first()
    if row is None or row[0] is None:
        return default, default
    return row[0], row[1]


def named_transactions(in_reach: DataFrame, chargebacks: DataFrame) -> DataFrame:
    """The stored transactions in reach that the chargebacks name, with what resolving them needs."""
    ids = chargebacks.select("transaction_id").distinct()
    return in_reach.join(ids, on="transaction_id", how="left_semi").select(
        "transaction_id", "merchant_id", "event_timestamp", silver.EVENT_DATE
    )


def update_resolved_chargebacks(
    spark: SparkSession, config: Config, *, judged: DataFrame, named: DataFrame, reach: tuple[dt.date, dt.date]
) -> None:
    """Recompute the resolved chargebacks of the transactions this run stored and of those its new
    chargebacks name (both as silver holds them after the MERGE), from every stored chargeback that
    could be their first valid one. `reach` bounds their event dates."""
    window = config.features.merchant_window_days
    stored = judged.filter(F.col(silver.OUTCOME).isin(silver.NEW, silver.WINS, silver.SAME)).transform(
        silver.select_silver_transactions
    )
    touched = stored.select(*named.columns).unionByName(named)
    filed = delta_io.read(spark, config.tables.silver_chargebacks).filter(
        F.col(silver.FILED_DATE).between(reach[0], reach[1] + dt.timedelta(days=window - 1))
    )
    resolved = resolved_chargebacks.resolve(touched, filed, window_days=window)
    resolved_chargebacks.merge(
        spark,
        config.tables.resolved_chargebacks,
        resolved_chargebacks.changes(touched, resolved),
        first=reach[0],
        last=reach[1],
    )


def select_rejects(checked: DataFrame, *, source_table: str, run_id: str, at: dt.datetime) -> DataFrame:
    return select_quarantine_rows(
        raw_rules.filter_quarantined(checked), source_table=source_table, run_id=run_id, quarantined_at=at
    )


def quarantine_transactions(
    spark: SparkSession,
    config: Config,
    judged: DataFrame,
    *,
    run_id: str,
    at: dt.datetime,
    days: tuple[dt.date, dt.date],
    displaced: int,
) -> None:
    """Replace the verdicts of the new landing days' transactions, then file the `displaced` stored rows
    a later duplicate displaced under their own (earlier) landing days (no MERGE when there are none).

    Two commits, not one MERGE that also deletes the days' old verdicts: an exact copy of a raw row
    is rejected with a record identical to its twin's, and two such source rows matching one filed
    row are an error in a MERGE, while the replace simply files both."""
    rejects = select_rejects(
        judged.select(*silver.RAW_TRANSACTION_COLUMNS, "rule"), source_table="transactions", run_id=run_id, at=at
    )
    path = config.tables.quarantine
    replace_quarantine(rejects, path=path, first_day=days[0], last_day=days[1], source_table="transactions")
    if displaced:
        rows = select_quarantine_rows(
            silver.filter_displaced(judged), source_table="transactions", run_id=run_id, quarantined_at=at
        )
        merge_quarantine(spark, rows, path=path)


def rebuild_tiles(spark: SparkSession, config: Config, *, days: Sequence[dt.date]) -> None:
    """Replace the user and merchant tiles of the given event days from silver (one commit per table).

    Each build scans the days itself, so Parquet reads only the columns it uses (five, then three);
    caching the days for both would first copy every silver column of them."""
    if not days:
        return
    t = config.tables
    stored = delta_io.read(spark, t.silver_transactions).filter(F.col(silver.EVENT_DATE).isin(list(days)))
    delta_io.concurrently(
        *(
            functools.partial(
                delta_io.overwrite,
                build(stored),
                location,
                replace_where=delta_io.on_days(silver.EVENT_DATE, days),
                partition_by=[silver.EVENT_DATE],
            )
            for build, location in (
                (tiles.build_user_tiles, t.user_tiles),
                (tiles.build_merchant_tiles, t.merchant_tiles),
            )
        )
    )
