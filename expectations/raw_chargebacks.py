"""Suite for the raw `chargebacks` table (bronze): types, nulls, freshness and row-count band by ingest_date.

Nulls are row-rule breaks the feature job quarantines: at most `quality.max_invalid_rate` are tolerated.

Whether a chargeback refers to a used transaction is decided by the feature job (it needs the
transactions); duplicates are allowed (several chargebacks on one transaction count as one).
"""

from __future__ import annotations

from collections.abc import Sequence

import great_expectations as gx

from expectations.common import (
    SuiteParams,
    new_suite,
    not_null_expectations,
    partition_expectations,
    schema_expectations,
)
from jobs.schemas import INGEST_DATE, RAW_CHARGEBACKS

NAME = "raw_chargebacks"


def build_suite(params: SuiteParams, columns: Sequence[str] = ()) -> gx.ExpectationSuite:
    return new_suite(
        NAME,
        [
            *schema_expectations(RAW_CHARGEBACKS),
            *not_null_expectations([f.name for f in RAW_CHARGEBACKS.fields], mostly=1 - params.max_invalid_rate),
            *partition_expectations(INGEST_DATE, params),
        ],
    )
