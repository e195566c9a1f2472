"""The point-in-time join against a brute-force pandas oracle written from FEATURES.md.

Seeded random data on a coarse time grid, so that ties on event_timestamp, rows exactly at
`t - ttl`, rows just outside it and rows after `t` all occur; plus targeted cases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.offline_store.pit_join import (
    EntitySummary,
    ViewJoin,
    build_point_in_time_join,
    find_hot_keys,
    summarize_entities,
    within_reach,
)

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=30)
TTL_USER = 4 * 30 * 60  # 4 grid steps: rows at exactly t - ttl occur often
TTL_PAIR = 3 * 30 * 60

ENTITY_SCHEMA = T.StructType(
    [
        T.StructField("row_id", T.LongType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("a", T.LongType()),
        T.StructField("b", T.LongType()),
        T.StructField("event_timestamp", T.TimestampType()),
    ]
)
USER_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType()),
        T.StructField("event_timestamp", T.TimestampType()),
        T.StructField("created_timestamp", T.TimestampType()),
        T.StructField("count", T.LongType()),
        T.StructField("amount", T.DoubleType()),
    ]
)
PAIR_SCHEMA = T.StructType(
    [
        T.StructField("a", T.LongType()),
        T.StructField("b", T.LongType()),
        T.StructField("ts", T.TimestampType()),
        T.StructField("created", T.TimestampType()),
        T.StructField("score", T.DoubleType()),
    ]
)


def at(steps: int) -> dt.datetime:
    return T0 + steps * STEP


# ---------------------------------------------------------------------------------------------
# The oracle: FEATURES.md "Point-in-time join", row by row.


def _max_key(row: dict, features: list[str]) -> tuple:
    def low_null(value):
        return (0, 0) if value is None or (isinstance(value, float) and pd.isna(value)) else (1, value)

    return (row["event"], low_null(row["created"]), *[low_null(row[f]) for f in features])


def oracle(entities: list[dict], views: list[dict]) -> list[tuple]:
    out = []
    for e in entities:
        values: list = []
        for view in views:
            keys = [e[k] for k in view["keys"]]
            t = e["event_timestamp"]
            candidates = []
            if None not in keys and t is not None:
                for r in view["rows"]:
                    same_key = [r[k] for k in view["source_keys"]] == keys
                    in_window = r["event"] is not None and r["event"] <= t
                    if view["ttl"]:
                        in_window = in_window and r["event"] >= t - dt.timedelta(seconds=view["ttl"])
                    if view.get("filter_by_created"):  # Feast: created_timestamp <= t, so a null never passes
                        in_window = in_window and r["created"] is not None and r["created"] <= t
                    if same_key and in_window:
                        candidates.append(r)
            best = max(candidates, key=lambda r, f=view["features"]: _max_key(r, f)) if candidates else None
            values.extend(best[f] if best else None for f in view["features"])
        out.append((e["row_id"], e["user_id"], e["a"], e["b"], e["event_timestamp"], *values))
    return out


# ---------------------------------------------------------------------------------------------
# Random data


def random_case(seed: int, *, n_entities: int = 120, n_user_rows: int = 160, n_pair_rows: int = 120):
    rng = random.Random(seed)
    users = ["u1", "u2", "u3", "u4", "u5"]
    pairs = [(1, 12), (11, 2), (1, 2), (11, 12), (3, 3)]
    entities = []
    for i in range(n_entities):
        pair = rng.choice([*pairs, (None, 2), (1, None), (7, 7)])
        entities.append(
            {
                "row_id": i,
                "user_id": rng.choice([*users, None, "u_no_rows"]),
                "a": pair[0],
                "b": pair[1],
                "event_timestamp": at(rng.randint(0, 40)),
            }
        )
    entities += [dict(e) for e in rng.sample(entities, 10)]  # exact duplicates stay separate rows
    created = [None, at(50), at(51), at(52)]
    user_rows = [
        {
            # u5 only ever appears in the pair view's entity rows, never in user features
            "user_id": rng.choice([*users[:4], None]),
            "event": at(rng.randint(-6, 44)),
            "created": rng.choice(created),
            "count": rng.randint(0, 3),
            "amount": rng.choice([None, 1.5, 2.5, float(rng.randint(0, 99))]),
        }
        for _ in range(n_user_rows)
    ]
    pair_rows = []
    for _ in range(n_pair_rows):
        a, b = rng.choice([*pairs[:4], (None, 12)])
        pair_rows.append(
            {"a": a, "b": b, "event": at(rng.randint(-6, 44)), "created": rng.choice(created), "score": rng.random()}
        )
    return entities, user_rows, pair_rows


def frames(spark, entities, user_rows, pair_rows):
    entity_df = spark.createDataFrame(
        [(e["row_id"], e["user_id"], e["a"], e["b"], e["event_timestamp"]) for e in entities], ENTITY_SCHEMA
    )
    user_df = spark.createDataFrame(
        [(r["user_id"], r["event"], r["created"], r["count"], r["amount"]) for r in user_rows], USER_SCHEMA
    )
    pair_df = spark.createDataFrame(
        [(r["a"], r["b"], r["event"], r["created"], r["score"]) for r in pair_rows], PAIR_SCHEMA
    )
    return entity_df, user_df, pair_df


def view_joins(user_df, pair_df, *, user_ttl=TTL_USER, pair_ttl=TTL_PAIR, filter_by_created=False):
    views = [
        ViewJoin(
            name="user",
            source=user_df,
            join_keys=("user_id",),
            source_join_keys=("user_id",),
            features=("count", "amount"),
            output_columns=("user_count", "user_amount"),
            timestamp_field="event_timestamp",
            created_timestamp_field="created_timestamp",
            ttl_seconds=user_ttl,
        ),
        ViewJoin(
            name="user_no_ttl",
            source=user_df,
            join_keys=("user_id",),
            source_join_keys=("user_id",),
            features=("amount",),
            output_columns=("user_amount_ever",),
            timestamp_field="event_timestamp",
            created_timestamp_field="created_timestamp",
            ttl_seconds=0,
        ),
        ViewJoin(
            name="pair",
            source=pair_df,
            join_keys=("a", "b"),
            source_join_keys=("a", "b"),
            features=("score",),
            output_columns=("pair_score",),
            timestamp_field="ts",
            created_timestamp_field="created",
            ttl_seconds=pair_ttl,
        ),
    ]
    return [dataclasses.replace(v, filter_by_created_timestamp=filter_by_created) for v in views]


def oracle_views(user_rows, pair_rows, *, user_ttl=TTL_USER, pair_ttl=TTL_PAIR, filter_by_created=False):
    views = [
        {
            "keys": ["user_id"],
            "source_keys": ["user_id"],
            "rows": user_rows,
            "features": ["count", "amount"],
            "ttl": user_ttl,
        },
        {"keys": ["user_id"], "source_keys": ["user_id"], "rows": user_rows, "features": ["amount"], "ttl": 0},
        {"keys": ["a", "b"], "source_keys": ["a", "b"], "rows": pair_rows, "features": ["score"], "ttl": pair_ttl},
    ]
    return [{**v, "filter_by_created": filter_by_created} for v in views]


def run_join(spark, entities, user_rows, pair_rows, *, bucket_seconds=None, hot_key_rows=0, **options):
    entity_df, user_df, pair_df = frames(spark, entities, user_rows, pair_rows)
    got = build_point_in_time_join(
        entity_df,
        view_joins(user_df, pair_df, **options),
        timestamp_column="event_timestamp",
        bucket_seconds=bucket_seconds,
        hot_key_rows=hot_key_rows,
    )
    return got


def _utc(value):
    # collect() returns naive datetimes in the Python process's local zone
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value


def as_rows(df) -> Counter:
    return Counter(tuple(_utc(v) for v in r) for r in df.collect())


def expected(entities, user_rows, pair_rows, **options) -> Counter:
    return Counter(oracle(entities, oracle_views(user_rows, pair_rows, **options)))


# ---------------------------------------------------------------------------------------------
# Property tests


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_cases_match_the_oracle(spark, seed):
    entities, user_rows, pair_rows = random_case(seed)
    got = run_join(spark, entities, user_rows, pair_rows)
    assert got.columns == [
        "row_id", "user_id", "a", "b", "event_timestamp", "user_count", "user_amount", "user_amount_ever", "pair_score"
    ]  # fmt: skip
    assert as_rows(got) == expected(entities, user_rows, pair_rows)


@pytest.mark.parametrize("bucket_minutes", [30, 90, 24 * 60])
def test_time_buckets_give_the_same_rows(spark, bucket_minutes):
    """Buckets narrower than the TTL, wider than it, and holding everything: same answer."""
    entities, user_rows, pair_rows = random_case(10 + bucket_minutes)
    got = run_join(spark, entities, user_rows, pair_rows, bucket_seconds=bucket_minutes * 60)
    assert as_rows(got) == expected(entities, user_rows, pair_rows)


def row_counts_per_key(entities, user_rows, pair_rows) -> tuple[Counter, Counter]:
    """Feature rows per key of each join-key group, over every view on that key (the user source
    feeds two views); keys that only entity rows hold count 0."""
    users = Counter({e["user_id"]: 0 for e in entities if e["user_id"] is not None})
    users.update(2 * [r["user_id"] for r in user_rows if r["user_id"] is not None])
    pairs = Counter({(e["a"], e["b"]): 0 for e in entities if None not in (e["a"], e["b"])})
    pairs.update((r["a"], r["b"]) for r in pair_rows if None not in (r["a"], r["b"]))
    return users, pairs


@pytest.mark.parametrize(("seed", "hot_key_rows"), [(21, 65), (23, 25)])
def test_only_hot_keys_get_buckets_and_the_rows_are_the_same(spark, seed, hot_key_rows):
    """In one group keys with feature rows fall on both sides of the threshold; the other group is
    all hot (seed 23) or has no hot key at all (seed 21), which skips the second pass."""
    entities, user_rows, pair_rows = random_case(seed)
    groups = row_counts_per_key(entities, user_rows, pair_rows)
    assert any(0 < min(n for n in c.values() if n) < hot_key_rows <= max(c.values()) for c in groups)
    entity_df, user_df, pair_df = frames(spark, entities, user_rows, pair_rows)
    got = build_point_in_time_join(
        entity_df,
        view_joins(user_df, pair_df),
        timestamp_column="event_timestamp",
        bucket_seconds=90 * 60,
        hot_key_rows=hot_key_rows,
    )
    assert as_rows(got) == expected(entities, user_rows, pair_rows)


def test_find_hot_keys_counts_exactly_when_the_threshold_is_small(spark):
    entities, user_rows, pair_rows = random_case(21)
    users, _ = row_counts_per_key(entities, user_rows, pair_rows)
    _, user_df, _ = frames(spark, entities, user_rows, pair_rows)
    key_rows = user_df.select("user_id").unionByName(user_df.select("user_id"))
    got = find_hot_keys(key_rows.dropna(), hot_key_rows=65)
    assert sorted(got) == sorted((k,) for k, n in users.items() if n >= 65)
    assert 0 < len(got) < len(users)


def test_find_hot_keys_finds_a_hot_key_from_a_sample(spark):
    """200k rows, one key holding 50k: with a threshold of 10k the sample is 1% and only that key
    (about 500 sampled rows) passes; keys of 1 row never do."""
    key_rows = spark.range(200_000).selectExpr("IF(id % 4 = 0, 'hot', CAST(id AS STRING)) AS user_id")
    assert find_hot_keys(key_rows, hot_key_rows=10_000) == [("hot",)]


def test_non_utc_session_time_zone(spark):
    entities, user_rows, pair_rows = random_case(7)
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    try:
        got = as_rows(run_join(spark, entities, user_rows, pair_rows, bucket_seconds=3600))
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)
    assert got == expected(entities, user_rows, pair_rows)


# ---------------------------------------------------------------------------------------------
# Targeted cases (each also covered by the random data, here made certain)


def one_user_case(spark, user_rows, entity_steps, *, ttl=TTL_USER, bucket_seconds=None):
    entities = [
        {"row_id": i, "user_id": "u1", "a": None, "b": None, "event_timestamp": at(s)}
        for i, s in enumerate(entity_steps)
    ]
    got = run_join(spark, entities, user_rows, [], bucket_seconds=bucket_seconds, user_ttl=ttl)
    return {r.row_id: (r.user_count, r.user_amount_ever) for r in got.collect()}


def feature(step, created, count, amount=1.0, user="u1"):
    return {"user_id": user, "event": at(step), "created": created, "count": count, "amount": amount}


def test_tie_on_event_timestamp_is_broken_by_created_timestamp(spark):
    rows = [feature(0, at(9), 1), feature(0, at(8), 2), feature(0, None, 3)]
    assert one_user_case(spark, rows, [0, 1]) == {0: (1, 1.0), 1: (1, 1.0)}


def test_ttl_boundary_is_included_and_just_outside_is_not(spark):
    rows = [feature(0, None, 7)]
    # TTL is 4 steps: t = step 4 sees the row at exactly t - ttl; step 5 does not.
    got = one_user_case(spark, rows, [4, 5])
    assert got == {0: (7, 1.0), 1: (None, 1.0)}


def test_rows_after_t_are_ignored_and_rows_at_t_are_used(spark):
    rows = [feature(2, None, 1), feature(3, None, 2)]
    assert one_user_case(spark, rows, [2, 3, 1]) == {0: (1, 1.0), 1: (2, 1.0), 2: (None, None)}


def test_hot_key_spread_over_buckets_with_long_gaps(spark):
    """One key with most of the rows, buckets of one step, and a quiet stretch longer than the TTL."""
    rng = random.Random(5)
    rows = [feature(rng.randint(0, 60), at(70), i, float(i)) for i in range(1500)]
    rows += [feature(200, None, -1, -1.0)]
    entity_steps = [rng.randint(0, 260) for _ in range(200)]
    entities = [
        {"row_id": i, "user_id": "u1", "a": None, "b": None, "event_timestamp": at(s)}
        for i, s in enumerate(entity_steps)
    ]
    got = run_join(spark, entities, rows, [], bucket_seconds=int(STEP.total_seconds()))
    assert as_rows(got) == expected(entities, rows, [])


def test_entity_frame_without_matching_rows_keeps_every_row(spark):
    entities = [{"row_id": 1, "user_id": None, "a": None, "b": None, "event_timestamp": at(1)}] * 3
    got = run_join(spark, entities, [feature(0, None, 1, user=None)], [])
    assert as_rows(got) == Counter({(1, None, None, None, at(1), None, None, None, None): 3})


# ---------------------------------------------------------------------------------------------
# Created-time filtering (Feast's filter_by_created_timestamp): only rows created by t


def with_backfills(rows: list[dict], seed: int) -> list[dict]:
    """The rows re-stamped as landing some steps after (or even before) their event, or never
    stamped: late backfills of old events occur often, also across bucket edges."""
    rng = random.Random(seed)
    lags = [None, -1, 0, 0, 1, 3, 8, 20]
    return [
        {**r, "created": None if r["event"] is None or (lag := rng.choice(lags)) is None else r["event"] + lag * STEP}
        for r in rows
    ]


def backfilled_case(seed: int):
    entities, user_rows, pair_rows = random_case(seed)
    return entities, with_backfills(user_rows, seed), with_backfills(pair_rows, seed + 1)


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_filter_by_created_timestamp_matches_the_oracle(spark, seed):
    entities, user_rows, pair_rows = backfilled_case(seed)
    got = as_rows(run_join(spark, entities, user_rows, pair_rows, filter_by_created=True))
    assert got == expected(entities, user_rows, pair_rows, filter_by_created=True)
    assert got != expected(entities, user_rows, pair_rows)  # the flag changes answers on this data


@pytest.mark.parametrize(("bucket_minutes", "hot_key_rows"), [(30, 0), (90, 0), (24 * 60, 0), (60, 40)])
def test_filter_by_created_timestamp_with_time_buckets_gives_the_same_rows(spark, bucket_minutes, hot_key_rows):
    entities, user_rows, pair_rows = backfilled_case(40 + bucket_minutes)
    got = run_join(
        spark,
        entities,
        user_rows,
        pair_rows,
        bucket_seconds=bucket_minutes * 60,
        hot_key_rows=hot_key_rows,
        filter_by_created=True,
    )
    assert as_rows(got) == expected(entities, user_rows, pair_rows, filter_by_created=True)


def test_a_backfill_created_after_t_is_not_used_and_the_row_known_at_t_is(spark):
    """Feast's own case: the same event written twice, first when it happened, again (a backfill)
    after the entity row's instant. Without the flag the backfill wins the tie; with it, the
    original value."""
    rows = [feature(0, at(0), 10), feature(0, at(4), 20)]
    entities = [{"row_id": 0, "user_id": "u1", "a": None, "b": None, "event_timestamp": at(2)}]
    plain = run_join(spark, entities, rows, [])
    filtered = run_join(spark, entities, rows, [], filter_by_created=True)
    assert [r.user_count for r in plain.collect()] == [20]
    assert [r.user_count for r in filtered.collect()] == [10]


def test_a_late_backfill_in_the_rows_bucket_does_not_hide_a_newer_event_of_an_earlier_bucket(spark):
    """Buckets of one step. Step 1's row is known from step 1; an old event (step 0) is backfilled
    at step 3, the entity row's own bucket. The newest event known at step 3 is still step 1's."""
    rows = [feature(1, at(1), 11), feature(0, at(3), 99)]
    entities = [{"row_id": 0, "user_id": "u1", "a": None, "b": None, "event_timestamp": at(3) + STEP / 2}]
    got = run_join(spark, entities, rows, [], bucket_seconds=int(STEP.total_seconds()), filter_by_created=True)
    assert [r.user_count for r in got.collect()] == [11]
    assert as_rows(got) == expected(entities, rows, [], filter_by_created=True)


def test_rows_never_stamped_are_not_used_with_the_filter(spark):
    rows = [feature(0, None, 5)]
    entities = [{"row_id": 0, "user_id": "u1", "a": None, "b": None, "event_timestamp": at(1)}]
    assert [r.user_count for r in run_join(spark, entities, rows, []).collect()] == [5]
    assert [r.user_count for r in run_join(spark, entities, rows, [], filter_by_created=True).collect()] == [None]


def test_the_filter_needs_a_created_timestamp_column(spark):
    user_df = spark.createDataFrame([], USER_SCHEMA)
    with pytest.raises(ValueError, match="needs a created timestamp column"):
        dataclasses.replace(
            view_joins(user_df, user_df)[0], created_timestamp_field=None, filter_by_created_timestamp=True
        )


# ---------------------------------------------------------------------------------------------
# Feature rows out of the entity rows' reach are not read


def executed_nodes(df) -> list:
    """Every node of the executed (final adaptive) plan, query stages opened."""

    def walk(node):
        kind = node.getClass().getSimpleName()
        if kind == "AdaptiveSparkPlanExec":
            return walk(node.executedPlan())
        if kind.endswith("QueryStageExec"):
            return walk(node.plan())
        children = node.children()
        return [node, *[n for i in range(children.size()) for n in walk(children.apply(i))]]

    return walk(df._jdf.queryExecution().executedPlan())


def files_read(df) -> int:
    """Files the executed plan's file scans read (after Delta's data skipping), from their metrics."""
    scans = [n for n in executed_nodes(df) if n.metrics().contains("numFiles")]
    return sum(n.metrics().apply("numFiles").value() for n in scans)


def test_each_join_key_group_sorts_and_windows_once_when_no_key_is_null(spark):
    entities, user_rows, pair_rows = random_case(4)
    entities = [e for e in entities if None not in (e["user_id"], e["a"], e["b"])]
    got = run_join(spark, entities, user_rows, pair_rows)
    assert as_rows(got) == expected(entities, user_rows, pair_rows)
    windows = [n for n in executed_nodes(got) if n.getClass().getSimpleName() == "WindowExec"]
    assert len(windows) == 2  # the user_id group and the (a, b) group


def test_null_keys_and_instants_in_every_group_still_sort_and_window_once_per_group(spark):
    entities, user_rows, pair_rows = random_case(5)
    entities += [
        {"row_id": 900 + i, "user_id": u, "a": 1, "b": 12, "event_timestamp": None} for i, u in enumerate(["u1", None])
    ]
    assert any(e["user_id"] is None for e in entities) and any(e["a"] is None for e in entities)
    got = run_join(spark, entities, user_rows, pair_rows)
    assert as_rows(got) == expected(entities, user_rows, pair_rows)
    windows = [n for n in executed_nodes(got) if n.getClass().getSimpleName() == "WindowExec"]
    assert len(windows) == 2


def test_entity_rows_with_a_map_column_and_a_null_key_keep_their_columns(spark):
    entity_df = spark.createDataFrame(
        [(1, None, {"k": 1}, at(2)), (2, "u1", {"k": 2}, at(2))],
        "row_id long, user_id string, extra map<string,int>, event_timestamp timestamp",
    )
    user_df = spark.createDataFrame([("u1", at(1), None, 7, 1.0)], USER_SCHEMA)
    got = build_point_in_time_join(entity_df, view_joins(user_df, user_df)[:1], timestamp_column="event_timestamp")
    rows = sorted((r["row_id"], r["user_id"], dict(r["extra"]), r["user_count"]) for r in got.collect())
    assert rows == [(1, None, {"k": 1}, None), (2, "u1", {"k": 2}, 7)]


def test_within_reach_keeps_rows_from_earliest_t_less_ttl_to_latest_t(spark):
    micro = dt.timedelta(microseconds=1)
    earliest, latest = at(10), at(20)
    ttl = dt.timedelta(seconds=TTL_USER)
    instants = [earliest - ttl - micro, earliest - ttl, at(15), latest, latest + micro]
    user_df = spark.createDataFrame([("u1", t, None, 1, 1.0) for t in instants], USER_SCHEMA)
    entity_df = spark.createDataFrame([(1, "u1", None, None, earliest), (2, "u1", None, None, latest)], ENTITY_SCHEMA)
    with_ttl, no_ttl = view_joins(user_df, user_df)[:2]

    time_range = summarize_entities(entity_df, [], "event_timestamp").time_range

    kept = spark.createDataFrame([("u1", t, None, 1, 1.0) for t in instants[1:4]], USER_SCHEMA)
    assert_df_equality(within_reach(user_df, with_ttl, time_range), kept, ignore_row_order=True)
    kept_without_lower_bound = spark.createDataFrame([("u1", t, None, 1, 1.0) for t in instants[:4]], USER_SCHEMA)
    assert_df_equality(within_reach(user_df, no_ttl, time_range), kept_without_lower_bound, ignore_row_order=True)


def test_within_reach_with_the_filter_also_drops_rows_created_after_the_latest_t(spark):
    micro = dt.timedelta(microseconds=1)
    latest = at(20)
    created = [None, at(0), latest, latest + micro]
    user_df = spark.createDataFrame([("u1", at(15), c, i, 1.0) for i, c in enumerate(created)], USER_SCHEMA)
    entity_df = spark.createDataFrame([(1, "u1", None, None, at(10)), (2, "u1", None, None, latest)], ENTITY_SCHEMA)
    time_range = summarize_entities(entity_df, [], "event_timestamp").time_range
    view = view_joins(user_df, user_df, filter_by_created=True)[0]
    assert sorted(r["count"] for r in within_reach(user_df, view, time_range).collect()) == [1, 2]


def test_entity_rows_without_an_instant_reach_no_feature_row(spark):
    entity_df = spark.createDataFrame([(1, "u1", None, None, None)], ENTITY_SCHEMA)
    user_df = spark.createDataFrame([("u1", at(0), None, 1, 1.0)], USER_SCHEMA)
    assert summarize_entities(entity_df, [], "event_timestamp") == EntitySummary(1, None, frozenset())
    assert within_reach(user_df, view_joins(user_df, user_df)[0], None).count() == 0


def test_entity_summary_counts_rows_and_names_the_groups_some_row_cannot_match(spark):
    entities, user_rows, pair_rows = random_case(6)
    entities = [e for e in entities if e["user_id"] is not None]
    entity_df, user_df, pair_df = frames(spark, entities, user_rows, pair_rows)
    summary = summarize_entities(entity_df, view_joins(user_df, pair_df), "event_timestamp")
    instants = [int(e["event_timestamp"].timestamp() * 1_000_000) for e in entities]
    assert summary == EntitySummary(len(entities), (min(instants), max(instants)), frozenset({("a", "b")}))


def test_a_narrow_label_range_reads_only_the_delta_files_in_reach(spark, tmp_path):
    """Feature rows over 60 days, one file per day; labels over days 50-51 with a 2-day TTL.
    The answer matches the oracle and the scan reads 4 of the 60 files (days 48-51)."""
    day = dt.timedelta(days=1)
    user_rows = [
        {"user_id": f"u{k}", "event": T0 + d * day, "created": None, "count": d, "amount": float(k)}
        for d in range(60)
        for k in range(3)
    ]
    rows = [(r["user_id"], r["event"], r["created"], r["count"], r["amount"]) for r in user_rows]
    path = str(tmp_path / "user_features")
    (
        spark.createDataFrame(rows, USER_SCHEMA)
        .coalesce(1)
        .withColumn("day", F.to_date("event_timestamp"))
        .write.format("delta")
        .partitionBy("day")
        .save(path)
    )
    rng = random.Random(3)
    entities = [
        {"row_id": i, "user_id": f"u{rng.randint(0, 3)}", "a": None, "b": None,
         "event_timestamp": T0 + 50 * day + rng.randint(0, 47) * STEP}
        for i in range(40)
    ]  # fmt: skip
    entities[0]["event_timestamp"], entities[1]["event_timestamp"] = T0 + 50 * day, T0 + 51 * day
    entity_df, _, _ = frames(spark, entities, [], [])
    ttl = 2 * 86_400
    view = view_joins(spark.read.format("delta").load(path).drop("day"), None, user_ttl=ttl)[0]

    got = build_point_in_time_join(entity_df, [view], timestamp_column="event_timestamp")

    want = oracle(entities, [{"keys": ["user_id"], "source_keys": ["user_id"], "rows": user_rows,
                              "features": ["count", "amount"], "ttl": ttl}])  # fmt: skip
    assert as_rows(got) == Counter(want)
    assert files_read(got) == 4
