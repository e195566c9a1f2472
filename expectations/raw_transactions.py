"""Suite for the raw `transactions` table (bronze).

Rows breaking FEATURES.md's row rules (a null in any column is one) are quarantined by the feature
job, so a few are tolerated here: each rule may fail on at most `quality.max_invalid_rate` of the
rows. Freshness and the row-count band go by `ingest_date`.
"""

from __future__ import annotations

from collections.abc import Sequence

import great_expectations as gx

from expectations.common import (
    E,
    SuiteParams,
    new_suite,
    not_after_expectation,
    not_null_expectations,
    partition_expectations,
    schema_expectations,
)
from jobs.schemas import INGEST_DATE, RAW_TRANSACTIONS

NAME = "raw_transactions"


def build_suite(params: SuiteParams, columns: Sequence[str] = ()) -> gx.ExpectationSuite:
    valid = 1 - params.max_invalid_rate
    return new_suite(
        NAME,
        [
            *schema_expectations(RAW_TRANSACTIONS),
            *not_null_expectations([f.name for f in RAW_TRANSACTIONS.fields], mostly=valid),
            E.ExpectColumnValuesToBeUnique(column="transaction_id", mostly=valid),
            E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, strict_min=True, mostly=valid),
            not_after_expectation(earlier="event_timestamp", later="created_timestamp", mostly=valid),
            *partition_expectations(INGEST_DATE, params),
        ],
    )
