"""Generic suite for a training set: entity/label columns plus whichever features were requested.

Keys are never null, the set has exactly one row per entity row (the point-in-time join neither
drops nor duplicates them), labels are 0/1, and every feature column present meets its FEATURES.md
range (feature values themselves may be null: no feature row within the TTL).
"""

from __future__ import annotations

from collections.abc import Sequence

import great_expectations as gx

from expectations import merchant_risk_features, user_transaction_features
from expectations.common import E, SuiteParams, new_suite, not_null_expectations, ranges_for

NAME = "training_sets"
KEY_COLUMNS = ("user_id", "merchant_id", "event_timestamp")


def build_suite(params: SuiteParams, columns: Sequence[str] = ()) -> gx.ExpectationSuite:
    rules = {**user_transaction_features.range_rules(), **merchant_risk_features.range_rules()}
    found: list[gx.expectations.Expectation] = [
        *not_null_expectations([c for c in KEY_COLUMNS if c in columns]),
        *ranges_for(columns, rules),
    ]
    if "label" in columns:
        found.append(E.ExpectColumnValuesToBeInSet(column="label", value_set=[0, 1]))
    if params.expected_row_count is not None:
        found.append(E.ExpectTableRowCountToEqual(value=params.expected_row_count))
    return new_suite(NAME, found)
