"""Suite for `user_transaction_features`: the ranges of FEATURES.md, keys, snapshot timestamps, partitions."""

from __future__ import annotations

from collections.abc import Sequence

import great_expectations as gx

from expectations.common import (
    E,
    SuiteParams,
    finite_between,
    new_suite,
    not_null_expectations,
    partition_expectations,
    ranges_for,
    schema_expectations,
    snapshot_timestamp_expectations,
    unique_key_expectation,
)
from jobs.schemas import SNAPSHOT_DATE, USER_TRANSACTION_FEATURES

NAME = "user_transaction_features"
ENTITY = "user_id"


def range_rules() -> dict[str, list[gx.expectations.Expectation]]:
    """Keyed by the column (or `a|b` columns) each rule reads; amounts are > 0, so avg and max are too;
    every float is finite."""
    return {
        "transaction_count_7d": [E.ExpectColumnValuesToBeBetween(column="transaction_count_7d", min_value=0)],
        "unique_merchants_7d": [E.ExpectColumnValuesToBeBetween(column="unique_merchants_7d", min_value=0)],
        "transaction_amount_avg_7d": [finite_between("transaction_amount_avg_7d", min_value=0, strict_min=True)],
        "transaction_amount_max_7d": [finite_between("transaction_amount_max_7d", min_value=0, strict_min=True)],
        "avg_time_between_transactions": [finite_between("avg_time_between_transactions", min_value=0)],
        "transaction_count_7d|unique_merchants_7d": [
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="transaction_count_7d", column_B="unique_merchants_7d", or_equal=True
            )
        ],
        "transaction_amount_avg_7d|transaction_amount_max_7d": [
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="transaction_amount_max_7d", column_B="transaction_amount_avg_7d", or_equal=True
            )
        ],
    }


def build_suite(params: SuiteParams, columns: Sequence[str] = ()) -> gx.ExpectationSuite:
    required = [f.name for f in USER_TRANSACTION_FEATURES.fields if not f.nullable]
    return new_suite(
        NAME,
        [
            *schema_expectations(USER_TRANSACTION_FEATURES),
            *not_null_expectations([ENTITY, "event_timestamp"]),
            *not_null_expectations(
                [c for c in required if c not in (ENTITY, "event_timestamp")], mostly=1 - params.max_null_rate
            ),
            unique_key_expectation([ENTITY, "event_timestamp"]),
            *snapshot_timestamp_expectations(),
            *ranges_for([f.name for f in USER_TRANSACTION_FEATURES.fields], range_rules()),
            *partition_expectations(SNAPSHOT_DATE, params),
        ],
    )
