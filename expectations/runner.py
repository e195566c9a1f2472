"""Run a table's suite on a Spark DataFrame with Great Expectations' Spark datasource.

Results are computed in SUMMARY format with no partial unexpected values, so Spark returns counts
and aggregates only: no failing row or value is pulled to the driver. All column-map checks share
one aggregate pass; each column-pair or compound-key check costs one more count.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import great_expectations as gx
from great_expectations.checkpoint import CheckpointResult, ValidationAction
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import AbstractDataContext
from pyspark.sql import DataFrame

from expectations import (
    merchant_risk_features,
    raw_chargebacks,
    raw_transactions,
    training_sets,
    user_transaction_features,
)
from expectations.common import SuiteParams

SuiteBuilder = Callable[[SuiteParams, Sequence[str]], gx.ExpectationSuite]

SUITES: dict[str, SuiteBuilder] = {
    raw_transactions.NAME: raw_transactions.build_suite,
    raw_chargebacks.NAME: raw_chargebacks.build_suite,
    user_transaction_features.NAME: user_transaction_features.build_suite,
    merchant_risk_features.NAME: merchant_risk_features.build_suite,
    training_sets.NAME: training_sets.build_suite,
}

RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 0}


@dataclasses.dataclass(frozen=True)
class Failure:
    expectation: str
    columns: tuple[str, ...]
    observed: str


def build_suite(table: str, params: SuiteParams, columns: Sequence[str]) -> gx.ExpectationSuite:
    try:
        builder = SUITES[table]
    except KeyError:
        raise KeyError(f"no suite for table {table!r} (suites: {', '.join(sorted(SUITES))})") from None
    return builder(params, columns)


def run_checkpoint(
    context: AbstractDataContext,
    df: DataFrame,
    suite: gx.ExpectationSuite,
    *,
    batch_name: str,
    run_id: RunIdentifier | None = None,
    actions: Sequence[ValidationAction] = (),
) -> CheckpointResult:
    """Validate `df` through a GE Checkpoint in a fresh context: GE stores the result in the context's
    results store, then runs `actions` on it (GE caches `df` for its few passes; released afterwards)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        datasource = context.data_sources.add_spark(name="spark")
        asset = datasource.add_dataframe_asset(name=suite.name)
        batch_definition = asset.add_batch_definition_whole_dataframe(batch_name)
        suite = context.suites.add(suite)
        name = f"{suite.name}:{batch_name}"
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=name, validation_definitions=[definition], actions=list(actions), result_format=RESULT_FORMAT
            )
        )
        try:
            return checkpoint.run(batch_parameters={"dataframe": df}, run_id=run_id)
        finally:
            df.unpersist()


def run_suite(
    context: AbstractDataContext,
    df: DataFrame,
    suite: gx.ExpectationSuite,
    *,
    batch_name: str,
    run_id: RunIdentifier | None = None,
) -> ExpectationSuiteValidationResult:
    """The validation result of `df` against `suite` (a checkpoint without actions)."""
    (result,) = run_checkpoint(context, df, suite, batch_name=batch_name, run_id=run_id).run_results.values()
    return result


def failures(result: ExpectationSuiteValidationResult) -> list[Failure]:
    found = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        if config is None:
            raise ValueError("a validation result without its expectation configuration")
        kwargs = config.kwargs
        columns = kwargs.get("column_list") or [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        found.append(Failure(config.type, tuple(columns), observed_value(item.result, item.exception_info)))
    return found


def observed_value(result: dict[str, Any], exception_info: dict[str, Any] | None = None) -> str:
    if exception_info and exception_info.get("raised_exception"):
        return f"error: {exception_info.get('exception_message')}"
    if "unexpected_count" in result:
        return (
            f"{result['unexpected_count']} unexpected of {result.get('element_count')} rows"
            f" ({result.get('unexpected_percent') or 0:.2f}%)"
        )
    return str(result.get("observed_value"))
