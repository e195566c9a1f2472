"""Point-in-time join of entity rows with any number of feature views, as FEATURES.md defines it.

For an entity row at instant `t` and a view with TTL `ttl`, the view's values come from the feature
row of the same key with the greatest `event_timestamp` in `[t - ttl, t]` (no lower bound when the
TTL is 0), ties broken by the greatest `created_timestamp` (null loses), and, for rows equal in
both, by the greatest feature values, so the result is deterministic. Entity rows are never dropped
or duplicated; a null join key matches nothing. With `filter_by_created_timestamp` (Feast's flag of that
name) a view also takes only rows created at or before `t` (a null created timestamp never is), so a
backfill written after `t` cannot leak into the row at `t`. All instants are compared as UTC microseconds
(`unix_micros`), so the session time zone cannot change a result.

## How (union and forward fill, no join)

Views are grouped by their join keys; each group costs one shuffle. Inside a group, entity rows
and the feature rows of every view in the group are unioned into one narrow schema:

    keys..., [bucket,] at (instant in micros * 2 + kind: 0 feature, 1 entity), one struct per view, entity struct

Feature rows carry their view's struct `(event micros, created micros, features...)`, entity rows
the rest of the entity row (all but the keys and the instant, which the union already holds) as one
struct. The union is partitioned by the keys (and bucket) and sorted by `(at, view structs)`: a
feature row at exactly `t` sorts before the entity row at `t` (it is included), and among feature
rows of one instant the one with the greatest created timestamp comes last. A running
`max(struct)` then carries each view's greatest row seen so far (by event time, then created time,
then values) forward to every entity row; the TTL is applied afterwards by comparing the carried
row's event time with `t - ttl`. With `filter_by_created_timestamp` a feature row enters the union
at `max(event, created)`, the instant from which it may be used, instead of its event time: the
running max then holds the greatest row both happened and created by `t`, which a running `last`
would not (a backfill of an old event enters late, after newer rows). Entity rows
with a null key or instant match nothing: when a group has any, it gets one more partition column,
`spread`, null on every other row and a hash of the row on those, so they travel through the same
shuffle spread over all tasks (not piled on the null key) and meet no feature row; they get nulls.
Feature rows with a null key or event time are dropped. Nothing is joined on the key, so the cost
does not grow with rows per key times entity rows per key, and no row is multiplied.

## Hot keys and long TTLs (time buckets)

With `bucket_seconds` set, a hot key is partitioned by `(keys, floor(ts / bucket))`, so one key with
millions of rows is spread over as many tasks as it has buckets; every other key has no bucket.
Hot keys are those with at least `hot_key_rows` feature rows (over the group's views), found before
the join from a Bernoulli sample of the sources' key columns that expects about a hundred rows of
such a key (one scan of the key columns, a tiny aggregate, at most `MAX_HOT_KEYS` keys collected to
the driver); `hot_key_rows=0` buckets every key. Entity rows are not sampled: they are the small
side, and a key's entity rows meet in one task of the second pass whatever its buckets.

An entity row of a hot key that finds no feature row before it in its own bucket needs the latest
row of an earlier bucket (any earlier one: TTLs can be long or unbounded). The same sorted window
pass therefore also marks the last row of every `(keys, bucket)` group (a `lead`, same partitioning
and order, so no extra sort); the running max there is that bucket's greatest row of each view. A
second, small pass takes only the hot keys' entity rows and bucket-last rows, partitions them by
key and, with a RANGE frame ending at `bucket - 1`, gives each entity row the greatest of its
in-bucket row and every earlier bucket's (with created-time filtering an earlier bucket can hold a
newer event than a backfill entering in the row's own bucket). The result is identical to the
unbucketed join for any TTL; the join reads its inputs once (the sample reads the sources' key
columns once more). With no hot key there is no second pass.

## Cost at 1 TB (e.g. 1 TB of feature rows, 100 GB of entity rows, 2000 shuffle partitions)

- Reading: only feature rows within reach of some entity row, `[earliest t - TTL, latest t]`
  (unbounded below without a TTL; with created-time filtering, also created by the latest t),
  filtered on the timestamp columns so Delta skips the files outside it.
  Labels of one quarter against three years of daily snapshots read about a twelfth of the feature
  table. The bounds cost one aggregate over the entity rows' timestamp column.
- Shuffle: per join-key group, one shuffle of the projected rows only (keys, one ordering long, the
  feature values as one struct, the rest of the entity row as one struct; a bucket long when some
  key is hot, a spread long when some entity row has a null key or instant), about the decoded
  size of the columns read (roughly 1.1 TB for the group holding the biggest view; shuffle blocks
  are lz4-compressed). When some keys are hot, a second shuffle of only their entity rows plus one
  row per (hot key, bucket).
  Before the join, the sample reads the key columns once and aggregates ~100 rows per hot key.
  No join, no broadcast, no row multiplication.
- Partitions: `spark.sql.shuffle.partitions` (or AQE's coalesced count): at ~1.1 TB, 2000-4000
  partitions give 250-500 MB per task. Buckets bound the largest task of the big shuffle: a key
  holding a fraction f of the rows over B buckets puts about f/B of it in one task. The second
  pass is keyed by key alone, so a hot key's *entity* rows still land in one task there (entity
  rows are the small side).
- Memory per task: the sort is Spark's external sorter (spills); the window operator buffers one
  `(keys, bucket)` group at a time in a spillable array (`spark.sql.windowExec.buffer.*`), so memory
  per task is bounded by those buffers, not by rows per key; a 1 GB driver/executor run completes
  (benchmarks/RESULTS.md).
- With no hot key the plan is the floor (read, one repartition, one sort) plus a streaming window.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

MICROS_PER_SECOND = 1_000_000
FEATURE_ROW = 0
ENTITY_ROW = 1

# One long orders the union: the instant in micros, doubled, plus the row kind (0 feature, 1 entity),
# so a feature row at exactly t sorts before the entity row at t. A narrower row than two columns.
_AT = "_pit_at"
_BUCKET = "_pit_bucket"
_SPREAD = "_pit_spread"
_ENTITY = "_pit_entity"
_IS_LAST = "_pit_is_last"
EVENT_MICROS = "_pit_event_micros"
CREATED_MICROS = "_pit_created_micros"
HOT_KEY_SAMPLE_HITS = 100  # rows a key of exactly `hot_key_rows` rows is expected to have in the sample
MAX_HOT_KEYS = 10_000
DEFAULT_HOT_KEY_ROWS = 1_000_000  # about a fifth of a 500 MB task of narrow feature rows


@dataclasses.dataclass(frozen=True, eq=False)
class ViewJoin:
    """One feature view to join: its source rows and how they map onto entity columns.

    `join_keys` are the entity-side column names, `source_join_keys` the same keys in `source`;
    `features[i]` of the source becomes output column `output_columns[i]`.
    """

    name: str
    source: DataFrame
    join_keys: tuple[str, ...]
    source_join_keys: tuple[str, ...]
    features: tuple[str, ...]
    output_columns: tuple[str, ...]
    timestamp_field: str
    created_timestamp_field: str | None
    ttl_seconds: int
    filter_by_created_timestamp: bool = False

    def __post_init__(self) -> None:
        if self.filter_by_created_timestamp and not self.created_timestamp_field:
            raise ValueError(f"view {self.name}: filter_by_created_timestamp needs a created timestamp column")


def build_point_in_time_join(
    entity_df: DataFrame,
    views: Sequence[ViewJoin],
    *,
    timestamp_column: str,
    bucket_seconds: int | None = None,
    hot_key_rows: int = 0,
    entity_summary: EntitySummary | None = None,
) -> DataFrame:
    """Entity rows in their columns, followed by every view's output columns in the given order.

    With `bucket_seconds`, keys holding at least `hot_key_rows` rows are split into time buckets of
    that length (every key when `hot_key_rows` is 0). This function runs two small Spark jobs: one
    aggregate over the entity rows (`summarize_entities`, unless the caller passes its result as
    `entity_summary`), and, with buckets, a sample of the key columns (only the hot keys reach the
    driver). The join stays lazy.
    """
    entities = entity_summary or summarize_entities(entity_df, views, timestamp_column)
    views = [dataclasses.replace(view, source=within_reach(view.source, view, entities.time_range)) for view in views]
    joined = entity_df
    for join_keys, group in group_by_join_keys(views):
        is_hot = None
        if bucket_seconds:
            is_hot = _hot_key_test(entity_df, group, join_keys=join_keys, hot_key_rows=hot_key_rows)
        joined = joined.transform(
            with_group_features,
            views=group,
            join_keys=join_keys,
            timestamp_column=timestamp_column,
            bucket_seconds=bucket_seconds,
            is_hot=is_hot,
            has_unmatchable_rows=join_keys in entities.groups_with_unmatchable_rows,
        )
    outputs = [c for view in views for c in view.output_columns]
    return joined.select(*entity_df.columns, *outputs)


@dataclasses.dataclass(frozen=True)
class EntitySummary:
    """`rows`: how many entity rows there are (the join returns exactly as many).
    `time_range`: the earliest and latest entity instant in micros, None when no row has one, so
    that feature rows out of reach are not read.
    `groups_with_unmatchable_rows`: the join-key groups some entity row cannot match (a null key or
    a null instant); only those groups carry the `spread` partition column."""

    rows: int
    time_range: tuple[int, int] | None
    groups_with_unmatchable_rows: frozenset[tuple[str, ...]]


def summarize_entities(entity_df: DataFrame, views: Sequence[ViewJoin], timestamp_column: str) -> EntitySummary:
    """One aggregate over the entity rows' instant and key columns."""
    key_groups = [keys for keys, _ in group_by_join_keys(views)]
    instant = F.col(timestamp_column)
    unmatchable = [
        F.max((~_can_match(keys, timestamp_column)).cast("int")).alias(f"unmatchable{i}")
        for i, keys in enumerate(key_groups)
    ]
    row = (
        entity_df.agg(
            F.count(F.lit(1)).alias("rows"), F.min(instant).alias("low"), F.max(instant).alias("high"), *unmatchable
        )
        .select(
            "rows",
            F.unix_micros("low").alias("low"),
            F.unix_micros("high").alias("high"),
            *[f"unmatchable{i}" for i in range(len(key_groups))],
        )
        .first()
    )
    assert row is not None  # a global aggregate has exactly one row
    if row["low"] is None:
        return EntitySummary(row["rows"], None, frozenset(key_groups))
    return EntitySummary(
        row["rows"],
        (row["low"], row["high"]),
        frozenset(keys for i, keys in enumerate(key_groups) if row[f"unmatchable{i}"]),
    )


def within_reach(source: DataFrame, view: ViewJoin, time_range: tuple[int, int] | None) -> DataFrame:
    """The view's rows that some entity row in `time_range` can pick: at or before the latest
    instant and, with a TTL, at or after the earliest instant less the TTL (with created-time
    filtering, also created at or before the latest instant). Dropping the others cannot change a
    result (a later row is never picked, an older one is always out of TTL). The filter is on the
    timestamp columns themselves, so Delta's file statistics can skip what is out of reach."""
    if time_range is None:
        return source.filter(F.lit(False))
    low, high = time_range
    event_time = F.col(view.timestamp_field)
    reachable = event_time <= F.timestamp_micros(F.lit(high))
    if view.ttl_seconds:
        reachable &= event_time >= F.timestamp_micros(F.lit(low - view.ttl_seconds * MICROS_PER_SECOND))
    if view.filter_by_created_timestamp:
        assert view.created_timestamp_field is not None
        reachable &= F.col(view.created_timestamp_field) <= F.timestamp_micros(F.lit(high))
    return source.filter(reachable)


def group_by_join_keys(views: Sequence[ViewJoin]) -> list[tuple[tuple[str, ...], list[ViewJoin]]]:
    groups: dict[tuple[str, ...], list[ViewJoin]] = {}
    for view in views:
        groups.setdefault(view.join_keys, []).append(view)
    return list(groups.items())


def with_group_features(
    entity_df: DataFrame,
    *,
    views: Sequence[ViewJoin],
    join_keys: tuple[str, ...],
    timestamp_column: str,
    bucket_seconds: int | None,
    is_hot: HotKeyTest | None = None,
    has_unmatchable_rows: bool = True,
) -> DataFrame:
    """Add the output columns of `views`, which all join on `join_keys`, to every entity row.

    The keys `is_hot` accepts get time buckets of `bucket_seconds`; with no `is_hot`, no key does.
    With `has_unmatchable_rows`, entity rows with a null key or instant get a `spread` partition
    column (a hash of the row; null for every other row), so they share the group's one shuffle
    without piling into one task and meet no feature row. Callers that know no such row exists pass
    False and the column is left out. (Splitting those rows off instead would read `entity_df`
    twice, which for a group after the first is the earlier group's whole join.)
    """
    key_names = _key_names(join_keys)
    key_types = [entity_df.schema[k].dataType for k in join_keys]
    view_columns = [f"_pit_view{i}" for i in range(len(views))]
    view_types = [_view_struct_type(view) for view in views]
    # The entity row travels as one struct, less the columns the union already holds (keys, instant).
    ts_is_kept = isinstance(entity_df.schema[timestamp_column].dataType, T.TimestampType)
    dropped = {*join_keys, *([timestamp_column] if ts_is_kept else [])}
    carried_along = [f for f in entity_df.schema.fields if f.name not in dropped]
    entity_type = T.StructType([T.StructField(f.name, f.dataType, True) for f in carried_along])
    if not bucket_seconds:
        is_hot = None
    hot = is_hot([F.col(n) for n in key_names]) if is_hot else None
    spread = None
    if has_unmatchable_rows:
        spread = F.when(
            ~_can_match(join_keys, timestamp_column),
            F.xxhash64(*[F.col(f.name) for f in entity_df.schema.fields if _is_hashable(f)]),
        )
    partition = [*key_names, *([_BUCKET] if hot is not None else []), *([_SPREAD] if spread is not None else [])]

    unioned = entity_df.transform(
        select_entity_rows,
        join_keys=join_keys,
        key_names=key_names,
        timestamp_column=timestamp_column,
        carried_along=[f.name for f in carried_along],
        view_columns=view_columns,
        view_types=view_types,
        bucket_seconds=bucket_seconds,
        hot=hot,
        spread=spread,
    )
    for i, view in enumerate(views):
        feature_rows = view.source.transform(
            select_feature_rows,
            view=view,
            key_names=key_names,
            key_types=key_types,
            view_columns=view_columns,
            view_types=view_types,
            own_column=view_columns[i],
            entity_type=entity_type,
            bucket_seconds=bucket_seconds,
            hot=hot,
            spread=F.lit(None).cast(T.LongType()) if spread is not None else None,
        )
        unioned = unioned.unionByName(feature_rows)
    sorted_by_time = Window.partitionBy(*partition).orderBy(*_order(view_columns))
    latest = sorted_by_time.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    carried = unioned.select(
        *partition,
        _ENTITY,
        _AT,
        *[F.max(c).over(latest).alias(c) for c in view_columns],
        # the last row of its (keys, bucket) group: same partitioning and order, so the same pass
        *([F.lead(F.lit(1)).over(sorted_by_time).isNull().alias(_IS_LAST)] if hot is not None else []),
    )
    if hot is not None:
        carried = carried.transform(with_earlier_buckets, key_names=key_names, view_columns=view_columns)
    carried = carried.filter(_is_entity_row())

    def entity_column(name: str) -> Column:
        if name in join_keys:
            return F.col(key_names[join_keys.index(name)]).alias(name)
        if name not in {f.name for f in carried_along}:
            return F.timestamp_micros(_instant()).alias(name)
        return F.col(_ENTITY).getField(name).alias(name)

    return carried.select(
        *[entity_column(c) for c in entity_df.columns],
        *[
            _within_ttl(F.col(column), view).getField(out).alias(out)
            for view, column in zip(views, view_columns, strict=True)
            for out in view.output_columns
        ],
    )


def with_earlier_buckets(carried: DataFrame, *, key_names: list[str], view_columns: list[str]) -> DataFrame:
    """Give hot keys' entity rows the greatest of their in-bucket row and earlier buckets' rows.

    Input: entity rows with their in-bucket values, and the last row of every (keys, bucket) group,
    which carries that bucket's greatest row of each view (a bucket's last row can be an entity row
    too). Other keys have no bucket (null) and pass through. One shuffle by key of just the hot
    keys' entity rows and summaries; a RANGE frame ending at `bucket - 1` gives each entity row the
    greatest summary of all earlier buckets, whatever the order of rows inside a bucket.
    """
    hot = F.col(_BUCKET).isNotNull()
    hot_rows = carried.filter(hot & (_is_entity_row() | F.col(_IS_LAST))).select(
        *key_names,
        _BUCKET,
        _ENTITY,
        _AT,
        *view_columns,
        *[F.when(F.col(_IS_LAST), F.col(c)).alias(_summary(c)) for c in view_columns],
    )
    earlier_buckets = Window.partitionBy(*key_names).orderBy(F.col(_BUCKET)).rangeBetween(Window.unboundedPreceding, -1)
    filled = hot_rows.select(
        *key_names,
        _ENTITY,
        _AT,
        *[F.greatest(F.col(c), F.max(_summary(c)).over(earlier_buckets)).alias(c) for c in view_columns],
    )
    passed_through = carried.filter(~hot & _is_entity_row()).select(*key_names, _ENTITY, _AT, *view_columns)
    return passed_through.unionByName(filled)


HotKeyTest = Callable[[list[Column]], Column]


def _every_key(keys: list[Column]) -> Column:
    return ~_any_null(keys)


def _hot_key_test(
    entity_df: DataFrame, views: Sequence[ViewJoin], *, join_keys: tuple[str, ...], hot_key_rows: int
) -> HotKeyTest | None:
    """Which keys of this join-key group get time buckets: all (`hot_key_rows` 0), the sampled hot
    ones, or None when no key is hot (the join then runs in one pass)."""
    if not hot_key_rows:
        return _every_key
    key_types = [entity_df.schema[k].dataType for k in join_keys]
    names = _key_names(join_keys)
    key_rows = functools.reduce(
        DataFrame.unionByName, [view.source.select(*_source_keys(view, key_types, names)) for view in views]
    )
    hot_keys = find_hot_keys(key_rows.filter(~_any_null([F.col(n) for n in names])), hot_key_rows=hot_key_rows)
    if not hot_keys:
        return None

    def is_hot(keys: list[Column]) -> Column:
        if len(keys) == 1:
            return F.coalesce(keys[0].isin([k[0] for k in hot_keys]), F.lit(False))
        literals = [F.struct(*[F.lit(v).cast(t) for v, t in zip(k, key_types, strict=True)]) for k in hot_keys]
        return F.coalesce(F.struct(*keys).isin(literals), F.lit(False))

    return is_hot


def find_hot_keys(key_rows: DataFrame, *, hot_key_rows: int) -> list[tuple]:
    """Keys with about `hot_key_rows` rows or more (at most MAX_HOT_KEYS of them), from a Bernoulli
    sample in which such a key is expected to have HOT_KEY_SAMPLE_HITS rows; only the keys reach the
    driver. A key near the threshold may be picked or not: that changes the plan, never the result."""
    fraction = min(1.0, HOT_KEY_SAMPLE_HITS / hot_key_rows)
    sampled = key_rows if fraction == 1.0 else key_rows.sample(fraction=fraction, seed=17)
    threshold = hot_key_rows * fraction
    counts = sampled.groupBy(*key_rows.columns).count()
    hot = counts.filter(F.col("count") >= threshold).limit(MAX_HOT_KEYS)
    return [tuple(row[c] for c in key_rows.columns) for row in hot.collect()]


def _summary(view_column: str) -> str:
    return f"{view_column}_bucket_last"


def select_entity_rows(
    entity_df: DataFrame,
    *,
    join_keys: tuple[str, ...],
    key_names: list[str],
    timestamp_column: str,
    carried_along: list[str],
    view_columns: list[str],
    view_types: list[T.StructType],
    bucket_seconds: int | None,
    hot: Column | None,
    spread: Column | None,
) -> DataFrame:
    """Entity rows in the union's schema (a null instant gives a null `_AT`)."""
    micros = F.unix_micros(F.col(timestamp_column))
    rows = entity_df.select(
        *[F.col(k).alias(n) for k, n in zip(join_keys, key_names, strict=True)],
        _ordering_instant(micros, ENTITY_ROW).alias(_AT),
        *_null_views(view_columns, view_types),
        F.struct(*[F.col(c) for c in carried_along]).alias(_ENTITY),
        *([spread.alias(_SPREAD)] if spread is not None else []),
    )
    return _with_bucket(rows, micros_of=_instant(), bucket_seconds=bucket_seconds, hot=hot)


def select_feature_rows(
    source: DataFrame,
    *,
    view: ViewJoin,
    key_names: list[str],
    key_types: list[T.DataType],
    view_columns: list[str],
    view_types: list[T.StructType],
    own_column: str,
    entity_type: T.StructType,
    bucket_seconds: int | None,
    hot: Column | None,
    spread: Column | None,
) -> DataFrame:
    is_joinable = _can_match(view.source_join_keys, view.timestamp_field)
    if view.filter_by_created_timestamp:
        assert view.created_timestamp_field is not None
        is_joinable &= F.col(view.created_timestamp_field).isNotNull()
    views = [
        _view_struct(view).alias(c) if c == own_column else F.lit(None).cast(t).alias(c)
        for c, t in zip(view_columns, view_types, strict=True)
    ]
    rows = source.filter(is_joinable).select(
        *_source_keys(view, key_types, key_names),
        _ordering_instant(_usable_from(view), FEATURE_ROW).alias(_AT),
        *views,
        F.lit(None).cast(entity_type).alias(_ENTITY),
        *([spread.alias(_SPREAD)] if spread is not None else []),
    )
    return _with_bucket(rows, micros_of=_instant(), bucket_seconds=bucket_seconds, hot=hot)


def _usable_from(view: ViewJoin) -> Column:
    """The instant in micros from which an entity row may use a feature row: its event time, or with
    created-time filtering the later of its event and created times."""
    event = F.unix_micros(F.col(view.timestamp_field))
    if not view.filter_by_created_timestamp:
        return event
    assert view.created_timestamp_field is not None
    return F.greatest(event, F.unix_micros(F.col(view.created_timestamp_field)))


def _ordering_instant(micros: Column, kind: int) -> Column:
    return micros * 2 + kind


def _instant() -> Column:
    """The row's instant in micros, back from `_AT` (an arithmetic shift floors, also before 1970)."""
    return F.shiftright(F.col(_AT), 1)


def _is_entity_row() -> Column:
    # Only an entity row can have a null instant (feature rows without one are dropped).
    return F.col(_AT).isNull() | (F.col(_AT).bitwiseAND(F.lit(1)) == ENTITY_ROW)


def _with_bucket(rows: DataFrame, *, micros_of: Column, bucket_seconds: int | None, hot: Column | None) -> DataFrame:
    """Add the time bucket of hot keys' rows, null for the other keys (only when the group has
    buckets; `hot` reads the key columns, so it is applied once they exist under their join names)."""
    if not bucket_seconds or hot is None:
        return rows
    bucket = F.floor(micros_of / F.lit(bucket_seconds * MICROS_PER_SECOND)).cast("long")
    return rows.withColumn(_BUCKET, F.when(hot, bucket))


def _key_names(join_keys: Sequence[str]) -> list[str]:
    return [f"_pit_key{i}" for i in range(len(join_keys))]


def _source_keys(view: ViewJoin, key_types: list[T.DataType], key_names: list[str]) -> list[Column]:
    """The view's join keys under the union's names, cast to the entity side's types."""
    return [F.col(k).cast(t).alias(n) for k, t, n in zip(view.source_join_keys, key_types, key_names, strict=True)]


def _order(view_columns: list[str]) -> list[Column]:
    return [F.col(_AT).asc(), *[F.col(c).asc_nulls_first() for c in view_columns]]


def _within_ttl(carried: Column, view: ViewJoin) -> Column:
    if not view.ttl_seconds:
        return carried
    is_fresh = carried.getField(EVENT_MICROS) >= _instant() - F.lit(view.ttl_seconds * MICROS_PER_SECOND)
    return F.when(is_fresh, carried)


def _view_struct(view: ViewJoin) -> Column:
    created = (
        F.unix_micros(F.col(view.created_timestamp_field)) if view.created_timestamp_field else F.lit(None).cast("long")
    )
    return F.struct(
        F.unix_micros(F.col(view.timestamp_field)).alias(EVENT_MICROS),
        created.alias(CREATED_MICROS),
        *[F.col(f).alias(o) for f, o in zip(view.features, view.output_columns, strict=True)],
    )


def _view_struct_type(view: ViewJoin) -> T.StructType:
    data_type = view.source.select(_view_struct(view).alias("v")).schema["v"].dataType
    assert isinstance(data_type, T.StructType)
    return T.StructType([T.StructField(f.name, f.dataType, True) for f in data_type.fields])


def _null_views(view_columns: list[str], view_types: list[T.StructType]) -> list[Column]:
    return [F.lit(None).cast(t).alias(c) for c, t in zip(view_columns, view_types, strict=True)]


def _is_hashable(field: T.StructField) -> bool:
    # Spark's hash functions refuse maps, also nested ones; the key and instant columns are never maps.
    return "map<" not in field.dataType.simpleString()


def _can_match(keys: Sequence[str], instant_column: str) -> Column:
    """A row takes part in the join only with every key and its instant set."""
    return ~_any_null([F.col(k) for k in keys]) & F.col(instant_column).isNotNull()


def _any_null(columns: list[Column]) -> Column:
    result = F.lit(False)
    for column in columns:
        result = result | column.isNull()
    return result
