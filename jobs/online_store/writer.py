"""The executor side: each Spark partition writes its items with its own DynamoDB client.

Runs inside `DataFrame.mapInArrow`, the only per-row Python of the job, and it is I/O: it turns
each Arrow batch into Feast items (`jobs.online_store.encoding`), groups them 25 per BatchWriteItem
with no key twice in a request, keeps `in_flight` requests going, and holds the partition to its
share of the write-rate cap with a token bucket. Throttling errors, 5xx and dropped connections are
retried by botocore's `standard` retry mode (its ThrottledRetryableChecker and TransientRetryableChecker:
the DynamoDB throttling codes, HTTP 500/502/503/504, ConnectionError and HTTPClientError), with as many
attempts as its longest backoff fits in `retry_max_seconds` (`botocore_max_attempts`). UnprocessedItems
and UnprocessedKeys, which botocore returns as a success, are retried here with exponential backoff
and full jitter until `retry_max_seconds` have passed since the batch's first one. Past either bound
the task fails with `OnlineWriteError` and Spark retries the partition (rewriting an item is idempotent).

Never older over newer: in `checked` mode (every run of the job) the stored `event_ts` of a batch's
keys is read first (BatchGetItem, consistent) and an item older than the stored one is skipped; the
rest go out as one BatchWriteItem. That protects every earlier run's items, recorded in the registry
or not (a run that failed half-way). `conditional` mode (`--guard-newer`, backfills) also protects
against a writer racing between the read and the write: the rest are conditional PutItems
(`attribute_not_exists(entity_id) OR event_ts <= :ts`). `plain` writes blindly, as Feast does.
Feast's `event_ts` strings are all UTC in one fixed format, so their byte order is their time order
and the stored item needs no extra attribute (tests/test_online_writer.py checks the order,
fractional seconds included).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import pyarrow as pa

from jobs.online_store.encoding import client_item, entity_id, value_bytes
from jobs.online_store.layout import ViewLayout
from jobs.online_store.select import EVENT_TS, EXPIRES_AT

log = logging.getLogger("jobs.online_store.writer")

BATCH_WRITE_LIMIT = 25
# Only to count throttled attempts in the metrics; botocore decides what is retried.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "LimitExceededException",
    }
)
# botocore's standard mode waits rand(0, 1) * min(2 ** (i - 1), 20) s before retry i of a throttled
# request (botocore.retries.standard.ExponentialBackoff; other errors wait 40 times less for DynamoDB).
_BOTOCORE_MAX_BACKOFF_S = 20.0
GUARD_CONDITION = "attribute_not_exists(entity_id) OR event_ts <= :ts"

METRICS_SCHEMA = (
    "partition int, items long, batches long, requests long, retries long, throttles long, "
    "unprocessed long, skipped_stale long, bytes long, seconds double"
)
METRIC_NAMES = ("items", "batches", "requests", "retries", "throttles", "unprocessed", "skipped_stale", "bytes")


class OnlineWriteError(RuntimeError):
    """A batch could not be written within the retry bound (the Spark task fails and is retried)."""


class BadRowError(ValueError):
    """A row cannot become a Feast item (a null join key)."""


PLAIN, CHECKED, CONDITIONAL = "plain", "checked", "conditional"
WRITE_MODES = (PLAIN, CHECKED, CONDITIONAL)


@dataclasses.dataclass(frozen=True)
class WriterSettings:
    endpoint_url: str | None
    region: str
    table_name: str
    in_flight: int
    items_per_second: float
    write_mode: str  # one of WRITE_MODES
    ttl_attribute: str | None
    retry_max_seconds: float
    backoff_base_s: float = 0.05
    backoff_cap_s: float = 5.0


@dataclasses.dataclass
class Counts:
    items: int = 0
    batches: int = 0
    requests: int = 0
    retries: int = 0
    throttles: int = 0
    unprocessed: int = 0
    skipped_stale: int = 0
    bytes: int = 0

    def add(self, other: Counts) -> None:
        for name in METRIC_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclasses.dataclass(frozen=True)
class Item:
    entity_id: str
    event_ts: str
    wire: dict[str, Any]
    size: int


class TokenBucket:
    """At most `rate` items per second on average, bursts of at most `burst` items (thread-safe)."""

    def __init__(self, rate: float, burst: float) -> None:
        self._interval = 1.0 / rate
        self._burst_s = burst / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, items: int) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(self._next, now - self._burst_s)
            self._next = start + items * self._interval
            delay = start - now
        if delay > 0:
            time.sleep(delay)


def botocore_max_attempts(retry_max_seconds: float) -> int:
    """Attempts per request for botocore's standard mode: the first, plus as many retries as fit in
    `retry_max_seconds` at their longest throttling backoff (60 s: 7 attempts, 300 s: 19)."""
    attempts, waited = 1, 0.0
    while waited + min(2.0 ** (attempts - 1), _BOTOCORE_MAX_BACKOFF_S) <= retry_max_seconds:
        waited += min(2.0 ** (attempts - 1), _BOTOCORE_MAX_BACKOFF_S)
        attempts += 1
    return attempts


class AttemptCounter:
    """Counts a client's attempts and throttled attempts (botocore's `needs-retry` event fires after each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts = 0
        self.throttles = 0

    def on_attempt(self, response: Any = None, **_: Any) -> None:
        parsed = response[1] if isinstance(response, tuple) else {}
        throttled = str(parsed.get("Error", {}).get("Code", "")) in THROTTLING_CODES
        with self._lock:
            self.attempts += 1
            self.throttles += throttled

    def watch(self, client: Any) -> None:
        client.meta.events.register("needs-retry.dynamodb", self.on_attempt)


class Retrier:
    """Full-jitter exponential backoff of a batch's unprocessed items, bounded in time from the first."""

    def __init__(self, settings: WriterSettings, counts: Counts, what: str) -> None:
        self._settings = settings
        self._counts = counts
        self._what = what
        self._attempt = 0
        self._deadline: float | None = None

    def gave_up(self, retries: int | None, reason: str) -> OnlineWriteError:
        """The error of a request botocore stopped retrying (its attempts fit in retry_max_seconds)."""
        attempts = botocore_max_attempts(self._settings.retry_max_seconds)
        return OnlineWriteError(
            f"{self._what}: gave up after {attempts if retries is None else retries + 1} attempts (botocore standard "
            f"retries, at most {attempts} within {self._settings.retry_max_seconds:g}s, retry_max_seconds); "
            f"last error: {reason}"
        )

    def wait(self, reason: str) -> None:
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self._settings.retry_max_seconds
        if now >= self._deadline:
            raise OnlineWriteError(
                f"{self._what}: gave up after {self._attempt} retries over "
                f"{self._settings.retry_max_seconds:.0f}s (retry_max_seconds); last error: {reason}"
            )
        self._counts.retries += 1
        ceiling = min(self._settings.backoff_cap_s, self._settings.backoff_base_s * 2**self._attempt)
        self._attempt += 1
        time.sleep(min(random.uniform(0, ceiling), max(0.0, self._deadline - now)))


def encode_items(batches: Iterable[pa.RecordBatch], layout: ViewLayout, ttl_attribute: str | None) -> Iterator[Item]:
    """Feast items for the rows of Arrow batches holding `select_item_columns` output."""
    keys = layout.join_keys
    features = layout.features
    for batch in batches:
        columns = batch.to_pydict()
        key_columns = [(name, value_type, columns[name]) for name, value_type in keys]
        feature_columns = [(name, value_type, columns[name]) for name, value_type in features]
        event_ts = columns[EVENT_TS]
        expires = columns[EXPIRES_AT]
        for i in range(batch.num_rows):
            key = [(name, value_type, values[i]) for name, value_type, values in key_columns]
            for name, _, value in key:
                if value is None:
                    raise BadRowError(f"feature view {layout.name}: join key {name} is null (rule: not null)")
            values = {name: value_bytes(value_type, column[i]) for name, value_type, column in feature_columns}
            eid = entity_id(key)
            wire = client_item(eid, event_ts[i], values)
            size = len(eid) + len(event_ts[i]) + sum(len(n) + len(v) for n, v in values.items()) + 23
            if ttl_attribute and expires[i] is not None:
                wire[ttl_attribute] = {"N": str(expires[i])}
                size += len(ttl_attribute) + len(str(expires[i]))
            yield Item(eid, event_ts[i], wire, size)


def batches_without_duplicates(items: Iterable[Item], size: int = BATCH_WRITE_LIMIT) -> Iterator[list[Item]]:
    """Groups of at most `size` items, no entity twice in a group (the newer event_ts wins)."""
    group: dict[str, Item] = {}
    for item in items:
        previous = group.get(item.entity_id)
        if previous is not None and previous.event_ts > item.event_ts:
            continue
        group[item.entity_id] = item
        if len(group) == size:
            yield list(group.values())
            group = {}
    if group:
        yield list(group.values())


def _call(
    operation: Callable[..., dict[str, Any]],
    request: dict[str, Any],
    retrier: Retrier,
    counts: Counts,
    *,
    accept: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """One request, retried by botocore; None when it failed with an accepted error code (a failed condition)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        response = operation(**request)
    except ClientError as err:
        metadata = err.response.get("ResponseMetadata", {})
        counts.retries += int(metadata.get("RetryAttempts", 0))
        if err.response.get("Error", {}).get("Code") in accept:
            return None
        if metadata.get("MaxAttemptsReached") or metadata.get("RetryQuotaReached"):
            raise retrier.gave_up(int(metadata.get("RetryAttempts", 0)), f"{type(err).__name__}: {err}") from err
        raise
    except (ConnectionError, HTTPClientError) as err:  # botocore retried these already
        raise retrier.gave_up(None, f"{type(err).__name__}: {err}") from err
    counts.retries += int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
    return response


def put_batch(client: Any, settings: WriterSettings, items: list[Item], limiter: TokenBucket) -> Counts:
    """BatchWriteItem until every item is processed, or OnlineWriteError."""
    counts = Counts(batches=1)
    retrier = Retrier(settings, counts, f"BatchWriteItem into {settings.table_name} ({len(items)} items)")
    requests = [{"PutRequest": {"Item": item.wire}} for item in items]
    while True:
        limiter.acquire(len(requests))
        request = {"RequestItems": {settings.table_name: requests}}
        response = _call(client.batch_write_item, request, retrier, counts)
        requests = (response or {}).get("UnprocessedItems", {}).get(settings.table_name, [])
        if not requests:
            break
        counts.unprocessed += len(requests)
        retrier.wait(f"{len(requests)} UnprocessedItems")
    counts.items = len(items)
    counts.bytes = sum(item.size for item in items)
    return counts


def read_stored_event_ts(
    client: Any, settings: WriterSettings, items: list[Item], retrier: Retrier, counts: Counts
) -> dict[str, str]:
    """{entity_id: stored event_ts} for the items' keys that hold an item (one consistent BatchGetItem)."""
    table = settings.table_name
    stored: dict[str, str] = {}
    keys = [{"entity_id": {"S": item.entity_id}} for item in items]
    while keys:
        request = {
            "RequestItems": {
                table: {"Keys": keys, "ProjectionExpression": "entity_id, event_ts", "ConsistentRead": True}
            }
        }
        response = _call(client.batch_get_item, request, retrier, counts) or {}
        for found in response.get("Responses", {}).get(table, []):
            stored[found["entity_id"]["S"]] = found["event_ts"]["S"]
        keys = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        if keys:
            retrier.wait(f"{len(keys)} UnprocessedKeys")
    return stored


def put_batch_checked(client: Any, settings: WriterSettings, items: list[Item], limiter: TokenBucket) -> Counts:
    """Skip the items older than the stored ones, BatchWriteItem the rest."""
    counts = Counts()
    retrier = Retrier(settings, counts, f"reading event_ts in {settings.table_name} ({len(items)} keys)")
    stored = read_stored_event_ts(client, settings, items, retrier, counts)
    fresh = [item for item in items if stored.get(item.entity_id, "") <= item.event_ts]
    counts.skipped_stale = len(items) - len(fresh)
    counts.add(put_batch(client, settings, fresh, limiter) if fresh else Counts(batches=1))
    return counts


def put_batch_conditional(client: Any, settings: WriterSettings, items: list[Item], limiter: TokenBucket) -> Counts:
    """Skip the items older than the stored ones, conditional PutItem for each of the rest."""
    counts = Counts(batches=1)
    table = settings.table_name
    retrier = Retrier(settings, counts, f"guarded write into {table} ({len(items)} items)")
    stored = read_stored_event_ts(client, settings, items, retrier, counts)
    for item in items:
        if stored.get(item.entity_id, "") > item.event_ts:
            counts.skipped_stale += 1
            continue
        limiter.acquire(1)
        conditional_put = {
            "TableName": table,
            "Item": item.wire,
            "ConditionExpression": GUARD_CONDITION,
            "ExpressionAttributeValues": {":ts": {"S": item.event_ts}},
        }
        written = _call(
            client.put_item,
            conditional_put,
            retrier,
            counts,
            accept=frozenset({"ConditionalCheckFailedException"}),
        )
        if written is None:
            counts.skipped_stale += 1
            continue
        counts.items += 1
        counts.bytes += item.size
    return counts


SENDERS = {PLAIN: put_batch, CHECKED: put_batch_checked, CONDITIONAL: put_batch_conditional}


def write_items(client: Any, settings: WriterSettings, items: Iterable[Item]) -> Counts:
    """Write all items with `settings.in_flight` requests in flight; the first failure propagates."""
    totals = Counts()
    attempts = AttemptCounter()
    attempts.watch(client)
    limiter = TokenBucket(settings.items_per_second, burst=max(BATCH_WRITE_LIMIT, settings.items_per_second / 10))
    send = SENDERS[settings.write_mode]
    pool = ThreadPoolExecutor(max_workers=settings.in_flight, thread_name_prefix="dynamodb-write")
    pending: set[Future[Counts]] = set()
    try:
        for group in batches_without_duplicates(items):
            if len(pending) >= settings.in_flight:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    totals.add(future.result())
            pending.add(pool.submit(send, client, settings, group, limiter))
        for future in pending:
            totals.add(future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    totals.throttles = attempts.throttles
    totals.requests = attempts.attempts
    return totals


def write_partition(
    batches: Iterator[pa.RecordBatch], *, layout: ViewLayout, settings: WriterSettings
) -> Iterator[pa.RecordBatch]:
    """`mapInArrow` body: write this partition's items, yield one row of metrics (METRICS_SCHEMA)."""
    from pyspark import TaskContext

    from jobs.online_store.tables import dynamodb_client

    started = time.monotonic()
    context = TaskContext.get()
    partition = context.partitionId() if context else -1
    client = dynamodb_client(
        settings.endpoint_url,
        region=settings.region,
        max_pool_connections=settings.in_flight + 1,
        parameter_validation=False,
        total_max_attempts=botocore_max_attempts(settings.retry_max_seconds),
    )
    counts = write_items(client, settings, encode_items(batches, layout, settings.ttl_attribute))
    seconds = time.monotonic() - started
    log.info(
        "%s partition %d: %d items in %.1fs, %d retries", layout.name, partition, counts.items, seconds, counts.retries
    )
    row = {"partition": [partition], **{name: [getattr(counts, name)] for name in METRIC_NAMES}, "seconds": [seconds]}
    yield pa.RecordBatch.from_pydict(
        row,
        schema=pa.schema(
            [("partition", pa.int32()), *[(name, pa.int64()) for name in METRIC_NAMES], ("seconds", pa.float64())]
        ),
    )
