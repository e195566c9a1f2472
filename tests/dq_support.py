"""Helpers shared by the suite tests: run a suite and read back which expectations failed."""

from __future__ import annotations

import dataclasses
import datetime as dt

from pyspark.sql import types as T

from expectations.common import SuiteParams
from expectations.runner import build_suite, failures, run_suite
from jobs.quality.context import build_context

PARAMS = SuiteParams(
    run_date=None,
    freshness_max_lag_days=1,
    row_count_min_ratio=0.5,
    row_count_max_ratio=2.0,
    max_null_rate=0.0,
    max_invalid_rate=0.05,
)


def params(**changes) -> SuiteParams:
    return dataclasses.replace(PARAMS, **changes)


def failed(df, table: str, suite_params: SuiteParams, results_path) -> dict[tuple[str, tuple[str, ...]], str]:
    """Failed expectations as {(type, columns): observed}, after checking every expectation ran cleanly."""
    suite = build_suite(table, suite_params, df.columns)
    result = run_suite(build_context(str(results_path)), df, suite, batch_name="test")
    errors = [r.exception_info for r in result.results if (r.exception_info or {}).get("raised_exception")]
    assert not errors, errors
    return {(f.expectation, f.columns): f.observed for f in failures(result)}


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def nullable(schema: T.StructType) -> T.StructType:
    """The table's schema with every column nullable, so a test can inject the nulls a suite must catch."""
    return T.StructType([T.StructField(f.name, f.dataType, nullable=True) for f in schema.fields])
