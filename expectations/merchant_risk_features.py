"""Suite for `merchant_risk_features`: the ranges of FEATURES.md, keys, snapshot timestamps, partitions."""

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
from jobs.schemas import MERCHANT_RISK_FEATURES, SNAPSHOT_DATE

NAME = "merchant_risk_features"
ENTITY = "merchant_id"


def range_rules() -> dict[str, list[gx.expectations.Expectation]]:
    """Keyed by the column each rule reads; risk_score is smoothed, so strictly inside (0, 1); every
    float is finite."""
    return {
        "total_transactions_30d": [E.ExpectColumnValuesToBeBetween(column="total_transactions_30d", min_value=0)],
        "avg_transaction_amount": [finite_between("avg_transaction_amount", min_value=0, strict_min=True)],
        "chargeback_rate_30d": [finite_between("chargeback_rate_30d", min_value=0, max_value=1)],
        "risk_score": [finite_between("risk_score", min_value=0, max_value=1, strict_min=True, strict_max=True)],
    }


def build_suite(params: SuiteParams, columns: Sequence[str] = ()) -> gx.ExpectationSuite:
    required = [f.name for f in MERCHANT_RISK_FEATURES.fields if not f.nullable]
    return new_suite(
        NAME,
        [
            *schema_expectations(MERCHANT_RISK_FEATURES),
            *not_null_expectations([ENTITY, "event_timestamp"]),
            *not_null_expectations(
                [c for c in required if c not in (ENTITY, "event_timestamp")], mostly=1 - params.max_null_rate
            ),
            unique_key_expectation([ENTITY, "event_timestamp"]),
            *snapshot_timestamp_expectations(),
            *ranges_for([f.name for f in MERCHANT_RISK_FEATURES.fields], range_rules()),
            *partition_expectations(SNAPSHOT_DATE, params),
        ],
    )
