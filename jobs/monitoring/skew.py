"""Training-serving skew on what was served (Chronon's consistency check).

The feature service logs every request it serves (jobs.online_store.serving, Feast's feature
logging): join keys, request time and, per feature, the value served, the event time of the online
item it came from and Feast's status. Those logged rows become entity rows of the project's
point-in-time join (jobs.offline_store.pit_join) with the request time as `event_timestamp`, so each
served value meets the value a training set built for the same instant would hold. Per feature:

- `match`: equal (integers and strings exactly, floats within a relative tolerance; null = null);
- `ttl`: the offline side is null because the served item is older than the view's TTL at request
  time (`served event time < request time - TTL`): Feast serves online items whatever their age, the
  join does not, so this is a TTL difference, reported apart from skew;
- `skew`: any other difference (a materialization that fell behind, a value computed differently
  online, a value served that the offline store never had, a missing item).

The transformations below are pure; `monitor skew` (jobs.monitor_job) reads the log, runs the join
and collects only the per-day counts and the first examples.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Feast's system columns of a feature log (feast.feature_logging).
REQUEST_TIME = "__log_timestamp"
REQUEST_DAY = "__log_date"
REQUEST_ID = "__request_id"
ENTITY_TIMESTAMP = "event_timestamp"
SERVED_PREFIX = "_served_"
SERVED_AT_PREFIX = "_served_at_"
KIND_PREFIX = "_kind_"
ROWS = "_rows"
MATCH, TTL, SKEW = "match", "ttl", "skew"
MICROS = 1_000_000


@dataclasses.dataclass(frozen=True)
class ServedFeature:
    """One feature of the service: its view (as the projection names it), exactness and the view's TTL."""

    view: str
    feature: str
    exact: bool
    ttl_seconds: int

    @property
    def column(self) -> str:
        """Feast's name for it in the log and in a full-feature-names training set: `<view>__<feature>`."""
        return f"{self.view}__{self.feature}"


def select_request_rows(
    log: DataFrame, *, join_keys: Sequence[str], features: Sequence[ServedFeature], start: dt.date, end: dt.date
) -> DataFrame:
    """The logged requests of days [start, end] as entity rows: keys, request time as `event_timestamp`,
    and the served value and item time of every feature under prefixed names."""
    served = [F.col(f.column).alias(f"{SERVED_PREFIX}{f.column}") for f in features]
    served_at = [F.col(f"{f.column}__timestamp").alias(f"{SERVED_AT_PREFIX}{f.column}") for f in features]
    return log.filter(F.col(REQUEST_DAY).between(F.lit(start), F.lit(end))).select(
        *join_keys, REQUEST_ID, REQUEST_DAY, F.col(REQUEST_TIME).alias(ENTITY_TIMESTAMP), *served, *served_at
    )


def is_mismatch(offline: Column, served: Column, *, exact: bool, tolerance: float) -> Column:
    """Null against a value, or different values (floats: |a - b| > tolerance * max(|a|, |b|))."""
    if exact:
        return ~offline.eqNullSafe(served)
    both_present = offline.isNotNull() & served.isNotNull()
    differ = F.abs(offline - served) > F.lit(tolerance) * F.greatest(F.abs(offline), F.abs(served))
    return F.when(both_present, differ).otherwise(offline.isNull() != served.isNull())


def is_past_ttl(served_at: Column, requested_at: Column, *, ttl_seconds: int) -> Column:
    """The served item is older than the TTL at request time (the join's window is [t - ttl, t])."""
    if not ttl_seconds:
        return F.lit(False)
    return F.unix_micros(served_at) < F.unix_micros(requested_at) - F.lit(ttl_seconds * MICROS)


def skew_kind(feature: ServedFeature, *, tolerance: float) -> Column:
    offline, served = F.col(feature.column), F.col(f"{SERVED_PREFIX}{feature.column}")
    if not feature.exact:
        offline, served = offline.cast("double"), served.cast("double")
    differs = is_mismatch(offline, served, exact=feature.exact, tolerance=tolerance)
    served_at = F.col(f"{SERVED_AT_PREFIX}{feature.column}")
    ttl_only = (
        offline.isNull()
        & served.isNotNull()
        & is_past_ttl(served_at, F.col(ENTITY_TIMESTAMP), ttl_seconds=feature.ttl_seconds)
    )
    return F.when(~differs, F.lit(MATCH)).when(ttl_only, F.lit(TTL)).otherwise(F.lit(SKEW))


def with_skew_kinds(joined: DataFrame, *, features: Sequence[ServedFeature], tolerance: float) -> DataFrame:
    """One `_kind_<view>__<feature>` column per feature: match, ttl or skew."""
    return joined.withColumns({f"{KIND_PREFIX}{f.column}": skew_kind(f, tolerance=tolerance) for f in features})


def kind_counts(compared: DataFrame, *, features: Sequence[ServedFeature]) -> DataFrame:
    """Per request day: rows, and per feature the rows of kind skew and of kind ttl."""
    counts = [F.count(F.lit(1)).alias(ROWS)]
    for f in features:
        kind = F.col(f"{KIND_PREFIX}{f.column}")
        counts += [
            F.count_if(kind == SKEW).alias(f"{SKEW}:{f.column}"),
            F.count_if(kind == TTL).alias(f"{TTL}:{f.column}"),
        ]
    return compared.groupBy(REQUEST_DAY).agg(*counts)


def filter_any_difference(compared: DataFrame, *, features: Sequence[ServedFeature]) -> DataFrame:
    has_difference = F.lit(False)
    for f in features:
        has_difference = has_difference | (F.col(f"{KIND_PREFIX}{f.column}") != MATCH)
    return compared.filter(has_difference)
