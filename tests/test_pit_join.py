"""The point-in-time join against a brute-force pandas oracle written from FEATURES.md.

Seeded random data on a coarse time grid, so that ties on event_timestamp, rows exactly at
`t - ttl`, rows just outside it and rows after `t` all occur; plus targeted cases.

Cases that share the join's options run as one join (`CaseGroup`): each case's keys and row ids carry
its case number, so no two cases share a key and the join answers each as if alone; every test still
checks its own case (untagged) against the oracle. A join costs about the same for one case as for ten.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, Row
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


def as_rows(rows) -> Counter:
    """The rows of a DataFrame, or already collected, as comparable tuples."""
    rows = rows.collect() if isinstance(rows, DataFrame) else rows
    return Counter(tuple(_utc(v) for v in r) for r in rows)


def expected(entities, user_rows, pair_rows, **options) -> Counter:
    return Counter(oracle(entities, oracle_views(user_rows, pair_rows, **options)))


# ---------------------------------------------------------------------------------------------
# Cases that share the join's options, run as one join

CASE_STRIDE = 100_000  # a case's row ids stay below it; keys a and b below 1000


def _tag_user(case: int, user):
    return None if user is None else f"c{case}:{user}"


def _tag_number(case: int, value):
    return None if value is None else case * 1000 + value


def tagged(case: int, entities, user_rows, pair_rows):
    """The case with its number folded into every key and row id."""
    assert all(0 <= e["row_id"] < CASE_STRIDE for e in entities)
    assert all(0 <= r[k] < 1000 for r in [*entities, *pair_rows] for k in ("a", "b") if r[k] is not None)
    entities = [
        {**e, "row_id": case * CASE_STRIDE + e["row_id"], "user_id": _tag_user(case, e["user_id"]),
         "a": _tag_number(case, e["a"]), "b": _tag_number(case, e["b"])}
        for e in entities
    ]  # fmt: skip
    user_rows = [{**r, "user_id": _tag_user(case, r["user_id"])} for r in user_rows]
    pair_rows = [{**r, "a": _tag_number(case, r["a"]), "b": _tag_number(case, r["b"])} for r in pair_rows]
    return entities, user_rows, pair_rows


def untagged(row: Row) -> tuple[int, Row]:
    """(case, the row as the case alone would have it)."""
    case, row_id = divmod(row["row_id"], CASE_STRIDE)
    values = row.asDict()
    values["row_id"] = row_id
    if values["user_id"] is not None:
        values["user_id"] = values["user_id"].removeprefix(f"c{case}:")
    for key in ("a", "b"):
        if values[key] is not None:
            values[key] -= case * 1000
    return case, Row(**values)


@dataclasses.dataclass(frozen=True)
class Case:
    joins: CaseGroup
    name: str

    def rows(self, spark) -> list[Row]:
        """The join's rows of this case, as the case joined alone would have them."""
        return self.joins.rows(spark, self.name)

    @property
    def data(self) -> tuple[list, list, list]:
        return self.joins.cases[self.name]

    def expected(self) -> Counter:
        """The oracle's rows: buckets and hot keys change how the join runs, not its answer."""
        options = {k: v for k, v in self.joins.options.items() if k not in ("bucket_seconds", "hot_key_rows")}
        return expected(*self.data, **options)


class CaseGroup:
    """Cases joined with the same options (`run_join`'s keywords): registered at import, joined together
    the first time a test asks for one of them, each case's rows handed back untagged."""

    def __init__(self, **options):
        self.options = options
        self.cases: dict[str, tuple[list, list, list]] = {}
        self.joined: DataFrame | None = None
        self.answers: dict[str, list[Row]] = {}

    def case(self, name: str, entities, user_rows, pair_rows) -> Case:
        assert name not in self.cases and self.joined is None, name
        self.cases[name] = (entities, user_rows, pair_rows)
        return Case(self, name)

    def rows(self, spark, name: str) -> list[Row]:
        if self.joined is None:
            parts = [tagged(i, *data) for i, data in enumerate(self.cases.values())]
            self.joined = run_join(
                spark,
                [e for entities, _, _ in parts for e in entities],
                [r for _, user_rows, _ in parts for r in user_rows],
                [r for _, _, pair_rows in parts for r in pair_rows],
                **self.options,
            )
            names = list(self.cases)
            self.answers = {n: [] for n in names}
            for case, row in map(untagged, self.joined.collect()):
                self.answers[names[case]].append(row)
        return self.answers[name]


_GROUPS: dict[tuple, CaseGroup] = {}
_JOIN_DEFAULTS = {"bucket_seconds": None, "hot_key_rows": 0, "filter_by_created": False}


def group(**options) -> CaseGroup:
    """The one group of cases joined with these options."""
    key = tuple(sorted({**_JOIN_DEFAULTS, **options}.items()))
    return _GROUPS.setdefault(key, CaseGroup(**options))


PLAIN = group()


# ---------------------------------------------------------------------------------------------
# Property tests


RANDOM_CASES = {seed: PLAIN.case(f"random {seed}", *random_case(seed)) for seed in [1, 2, 3]}


@pytest.mark.parametrize("seed", list(RANDOM_CASES))
def test_random_cases_match_the_oracle(spark, seed):
    case = RANDOM_CASES[seed]
    got = case.rows(spark)
    assert PLAIN.joined.columns == [
        "row_id", "user_id", "a", "b", "event_timestamp", "user_count", "user_amount", "user_amount_ever", "pair_score"
    ]  # fmt: skip
    assert as_rows(got) == case.expected()


BUCKET_CASES = {
    minutes: group(bucket_seconds=minutes * 60).case(f"buckets {minutes}", *random_case(10 + minutes))
    for minutes in [30, 90, 24 * 60]
}


@pytest.mark.parametrize("bucket_minutes", list(BUCKET_CASES))
def test_time_buckets_give_the_same_rows(spark, bucket_minutes):
    """Buckets narrower than the TTL, wider than it, and holding everything: same answer."""
    case = BUCKET_CASES[bucket_minutes]
    assert as_rows(case.rows(spark)) == case.expected()


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


def one_user(entity_steps) -> list[dict]:
    return [
        {"row_id": i, "user_id": "u1", "a": None, "b": None, "event_timestamp": at(s)}
        for i, s in enumerate(entity_steps)
    ]


def user_values(rows) -> dict:
    return {r.row_id: (r.user_count, r.user_amount_ever) for r in rows}


def feature(step, created, count, amount=1.0, user="u1"):
    return {"user_id": user, "event": at(step), "created": created, "count": count, "amount": amount}


TIE = PLAIN.case("tie", one_user([0, 1]), [feature(0, at(9), 1), feature(0, at(8), 2), feature(0, None, 3)], [])


def test_tie_on_event_timestamp_is_broken_by_created_timestamp(spark):
    assert user_values(TIE.rows(spark)) == {0: (1, 1.0), 1: (1, 1.0)}


# TTL is 4 steps: t = step 4 sees the row at exactly t - ttl; step 5 does not.
TTL_BOUNDARY = PLAIN.case("ttl boundary", one_user([4, 5]), [feature(0, None, 7)], [])


def test_ttl_boundary_is_included_and_just_outside_is_not(spark):
    assert user_values(TTL_BOUNDARY.rows(spark)) == {0: (7, 1.0), 1: (None, 1.0)}


AT_AND_AFTER_T = PLAIN.case("at and after t", one_user([2, 3, 1]), [feature(2, None, 1), feature(3, None, 2)], [])


def test_rows_after_t_are_ignored_and_rows_at_t_are_used(spark):
    assert user_values(AT_AND_AFTER_T.rows(spark)) == {0: (1, 1.0), 1: (2, 1.0), 2: (None, None)}


def _hot_key_with_long_gaps():
    """One key with most of the rows and a quiet stretch longer than the TTL."""
    rng = random.Random(5)
    rows = [feature(rng.randint(0, 60), at(70), i, float(i)) for i in range(1500)]
    rows += [feature(200, None, -1, -1.0)]
    return one_user([rng.randint(0, 260) for _ in range(200)]), rows, []


HOT_KEY_WITH_LONG_GAPS = group(bucket_seconds=int(STEP.total_seconds())).case(
    "hot key with long gaps", *_hot_key_with_long_gaps()
)


def test_hot_key_spread_over_buckets_with_long_gaps(spark):
    """Buckets of one step over the key's rows and its quiet stretch."""
    assert as_rows(HOT_KEY_WITH_LONG_GAPS.rows(spark)) == HOT_KEY_WITH_LONG_GAPS.expected()


NO_MATCHING_ROWS = PLAIN.case(
    "no matching rows",
    [{"row_id": 1, "user_id": None, "a": None, "b": None, "event_timestamp": at(1)}] * 3,
    [feature(0, None, 1, user=None)],
    [],
)


def test_entity_frame_without_matching_rows_keeps_every_row(spark):
    got = NO_MATCHING_ROWS.rows(spark)
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


FILTERED = group(filter_by_created=True)
BACKFILLED_CASES = {seed: FILTERED.case(f"backfilled {seed}", *backfilled_case(seed)) for seed in [31, 32, 33]}


@pytest.mark.parametrize("seed", list(BACKFILLED_CASES))
def test_filter_by_created_timestamp_matches_the_oracle(spark, seed):
    case = BACKFILLED_CASES[seed]
    got = as_rows(case.rows(spark))
    assert got == case.expected()
    assert got != expected(*case.data)  # the flag changes answers on this data


BACKFILLED_BUCKET_CASES = {
    (minutes, hot_key_rows): group(bucket_seconds=minutes * 60, hot_key_rows=hot_key_rows, filter_by_created=True).case(
        f"backfilled, buckets {minutes}, hot from {hot_key_rows}", *backfilled_case(40 + minutes)
    )
    for minutes, hot_key_rows in [(30, 0), (90, 0), (24 * 60, 0), (60, 40)]
}


@pytest.mark.parametrize(("bucket_minutes", "hot_key_rows"), list(BACKFILLED_BUCKET_CASES))
def test_filter_by_created_timestamp_with_time_buckets_gives_the_same_rows(spark, bucket_minutes, hot_key_rows):
    case = BACKFILLED_BUCKET_CASES[bucket_minutes, hot_key_rows]
    assert as_rows(case.rows(spark)) == case.expected()


# Feast's own case: the same event written twice, first when it happened, again (a backfill) after the
# entity row's instant.
BACKFILL = (one_user([2]), [feature(0, at(0), 10), feature(0, at(4), 20)], [])
BACKFILL_PLAIN = PLAIN.case("backfill", *BACKFILL)
BACKFILL_FILTERED = FILTERED.case("backfill", *BACKFILL)


def test_a_backfill_created_after_t_is_not_used_and_the_row_known_at_t_is(spark):
    """Without the flag the backfill wins the tie; with it, the original value."""
    assert [r.user_count for r in BACKFILL_PLAIN.rows(spark)] == [20]
    assert [r.user_count for r in BACKFILL_FILTERED.rows(spark)] == [10]


# Buckets of one step. Step 1's row is known from step 1; an old event (step 0) is backfilled at step 3,
# the entity row's own bucket.
LATE_BACKFILL = group(bucket_seconds=int(STEP.total_seconds()), filter_by_created=True).case(
    "late backfill", one_user([3.5]), [feature(1, at(1), 11), feature(0, at(3), 99)], []
)


def test_a_late_backfill_in_the_rows_bucket_does_not_hide_a_newer_event_of_an_earlier_bucket(spark):
    """The newest event known at step 3 is still step 1's."""
    got = LATE_BACKFILL.rows(spark)
    assert [r.user_count for r in got] == [11]
    assert as_rows(got) == LATE_BACKFILL.expected()


NEVER_STAMPED = (one_user([1]), [feature(0, None, 5)], [])
NEVER_STAMPED_PLAIN = PLAIN.case("never stamped", *NEVER_STAMPED)
NEVER_STAMPED_FILTERED = FILTERED.case("never stamped", *NEVER_STAMPED)


def test_rows_never_stamped_are_not_used_with_the_filter(spark):
    assert [r.user_count for r in NEVER_STAMPED_PLAIN.rows(spark)] == [5]
    assert [r.user_count for r in NEVER_STAMPED_FILTERED.rows(spark)] == [None]


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


def _null_keys_and_instants():
    entities, user_rows, pair_rows = random_case(5)
    entities += [
        {"row_id": 900 + i, "user_id": u, "a": 1, "b": 12, "event_timestamp": None} for i, u in enumerate(["u1", None])
    ]
    return entities, user_rows, pair_rows


NULL_KEYS_AND_INSTANTS = PLAIN.case("null keys and instants", *_null_keys_and_instants())


def test_null_keys_and_instants_in_every_group_still_sort_and_window_once_per_group(spark):
    entities = NULL_KEYS_AND_INSTANTS.data[0]
    assert any(e["user_id"] is None for e in entities) and any(e["a"] is None for e in entities)
    got = NULL_KEYS_AND_INSTANTS.rows(spark)
    assert as_rows(got) == NULL_KEYS_AND_INSTANTS.expected()
    # the plan of the group's one join, which holds this case's rows
    windows = [n for n in executed_nodes(PLAIN.joined) if n.getClass().getSimpleName() == "WindowExec"]
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
