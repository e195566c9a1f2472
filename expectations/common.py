"""Expectations every suite shares: keys, types, uniqueness, midnight snapshots, freshness, row-count band.

Only expectations that Spark can answer without pulling rows to the driver are used: column-map
checks (one aggregate pass for all of them), column-pair and compound-column checks (one count
each), table and column aggregates. The midnight rule is a regular expression on the timestamp as
the session renders it, which is why every session runs in UTC (`jobs.session`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Sequence

import great_expectations as gx
from great_expectations.expectations.row_conditions import Column
from pyspark.sql import types as T

E = gx.expectations

MIDNIGHT_REGEX = r"^\d{4}-\d{2}-\d{2} 00:00:00$"

# The largest finite Float32 (the features' type, widened to a double when compared).
FLOAT32_MAX = 3.4028234663852886e38


@dataclasses.dataclass(frozen=True)
class SuiteParams:
    """What a suite needs beyond the data: the run's date and the thresholds from `quality` config.

    `previous_row_count` is the size of the partition before `run_date` (None when there is none,
    or fewer than `row_count_band_min_rows`, where day-to-day noise swamps any ratio: the row-count
    band is then left out); `expected_row_count` is the entity-row count a training
    set must equal.
    """

    run_date: dt.date | None
    freshness_max_lag_days: int
    row_count_min_ratio: float
    row_count_max_ratio: float
    max_null_rate: float
    max_invalid_rate: float
    row_count_band_min_rows: int = 0
    previous_row_count: int | None = None
    expected_row_count: int | None = None


def new_suite(name: str, expectations: Iterable[gx.expectations.Expectation]) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=name, expectations=list(expectations))


def schema_expectations(schema: T.StructType) -> list[gx.expectations.Expectation]:
    """The exact column set and each column's Spark type (answered from the schema, no data pass)."""
    columns = [field.name for field in schema.fields]
    return [
        E.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True),
        *[E.ExpectColumnValuesToBeOfType(column=f.name, type_=type(f.dataType).__name__) for f in schema.fields],
    ]


def not_null_expectations(columns: Sequence[str], *, mostly: float = 1.0) -> list[gx.expectations.Expectation]:
    return [E.ExpectColumnValuesToNotBeNull(column=name, mostly=mostly) for name in columns]


def unique_key_expectation(columns: Sequence[str]) -> gx.expectations.Expectation:
    return E.ExpectCompoundColumnsToBeUnique(column_list=list(columns))


def snapshot_timestamp_expectations() -> list[gx.expectations.Expectation]:
    """A feature row's event_timestamp is a midnight (UTC) and never after its created_timestamp."""
    return [
        E.ExpectColumnValuesToMatchRegex(column="event_timestamp", regex=MIDNIGHT_REGEX),
        not_after_expectation(earlier="event_timestamp", later="created_timestamp"),
    ]


def finite_between(
    column: str, *, min_value: float, strict_min: bool = False, max_value: float = FLOAT32_MAX, strict_max: bool = False
) -> gx.expectations.Expectation:
    """A float feature's range that also rejects NaN and both infinities. Spark orders NaN above every
    number and +inf above every finite one, so only an upper bound catches them (a lower bound alone
    let both pass); -inf falls below any lower bound. Nulls are left to the not-null expectations."""
    return E.ExpectColumnValuesToBeBetween(
        column=column, min_value=min_value, strict_min=strict_min, max_value=max_value, strict_max=strict_max
    )


def not_after_expectation(*, earlier: str, later: str, mostly: float = 1.0) -> gx.expectations.Expectation:
    return E.ExpectColumnPairValuesAToBeGreaterThanB(column_A=later, column_B=earlier, or_equal=True, mostly=mostly)


def partition_expectations(partition_column: str, params: SuiteParams) -> list[gx.expectations.Expectation]:
    """Freshness of the newest partition and the run date's row count against the previous partition."""
    if params.run_date is None:
        return []
    oldest_fresh = params.run_date - dt.timedelta(days=params.freshness_max_lag_days)
    found: list[gx.expectations.Expectation] = [
        E.ExpectColumnMaxToBeBetween(column=partition_column, min_value=oldest_fresh),
    ]
    if params.previous_row_count is not None and params.previous_row_count >= params.row_count_band_min_rows:
        found.append(
            E.ExpectTableRowCountToBeBetween(
                min_value=math.ceil(params.previous_row_count * params.row_count_min_ratio),
                max_value=math.floor(params.previous_row_count * params.row_count_max_ratio),
                row_condition=Column(partition_column) == params.run_date,
            )
        )
    return found


def ranges_for(
    columns: Sequence[str], rules: dict[str, list[gx.expectations.Expectation]]
) -> list[gx.expectations.Expectation]:
    """The rules whose columns all exist (a training set carries only the features it asked for)."""
    present = set(columns)
    return [rule for key, found in rules.items() if set(key.split("|")) <= present for rule in found]
