"""Write-audit-publish for the feature tables and training sets: stage, validate, publish or keep for inspection.

1. Write: the computed batch goes to `<tables.staging>/<table>/<run_id>` as Delta (the one time it is
   computed; the audit and the publish both read the staged files). With `tables.staging` a schema
   name (`catalog.schema`), the staged batch is the table `<schema>.<table>_<run_id>` (`delta_io.child`).
2. Audit: the table's suite runs on the staged batch, with freshness judged on the run's last day
   and that day's row count against the previous partition (from the batch when it holds the day
   before, else from the published table).
3. Publish: `replace_partitions` from the staged batch, one atomic Delta commit, and the staging
   copy is removed. On a failure nothing is committed (the table stays at its Delta version), the
   staged batch stays where the error message says, and `DataQualityError` (exit 1) carries the summary.

A training set goes the same way (`stage_and_audit_training_set`): staged whole under
`<tables.staging>/training_sets/<name>/<run_id>` (or `<schema>.training_sets_<name>_<run_id>`), checked
with the training-set suite (one row per entity row, keys, labels, the requested features' ranges), and
only then written to its output.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from expectations.common import SuiteParams
from jobs import delta_io
from jobs.config import Config
from jobs.errors import DataQualityError
from jobs.features.publish import replace_partitions
from jobs.features.run_range import DateRange
from jobs.quality.tables import previous_partition_count
from jobs.quality.validation import Outcome, suite_params, validate_table
from jobs.schemas import SNAPSHOT_DATE

log = logging.getLogger(__name__)

TRAINING_SETS = "training_sets"


@dataclasses.dataclass(frozen=True)
class AuditedPublish:
    table: str
    staging_path: str
    outcome: Outcome

    def details(self) -> dict[str, Any]:
        return {"audit": self.outcome.details(), "staging_path": self.staging_path}


def staging_path(config: Config, *, table: str, run_id: str) -> str:
    return delta_io.child(config.tables.staging, *table.split("/"), run_id)


def stage_batch(batch: DataFrame, *, path: str) -> None:
    delta_io.overwrite(batch, path, partition_by=[SNAPSHOT_DATE], optimize_write=True)


def previous_row_count(
    spark: SparkSession, *, staged: DataFrame, published_path: str, run_range: DateRange
) -> int | None:
    """Rows of the partition before the run's last day: in the batch when the run covers it, else published."""
    if run_range.start < run_range.end:
        return previous_partition_count(staged, partition_column=SNAPSHOT_DATE, before=run_range.end)
    if not delta_io.exists(spark, published_path):
        return None
    published = delta_io.read(spark, published_path)
    return previous_partition_count(published, partition_column=SNAPSHOT_DATE, before=run_range.start)


def stage_and_audit(
    spark: SparkSession,
    config: Config,
    *,
    table: str,
    batch: DataFrame,
    path: str,
    run_range: DateRange,
    run_id: str,
) -> AuditedPublish:
    """Steps 1 and 2: stage the batch and run its suite; raises DataQualityError when it fails."""
    staged_at = staging_path(config, table=table, run_id=run_id)
    stage_batch(batch, path=staged_at)
    staged = delta_io.read(spark, staged_at)
    params = suite_params(
        config.quality,
        run_date=run_range.end,
        previous_row_count=previous_row_count(spark, staged=staged, published_path=path, run_range=run_range),
    )
    batch_name = f"{run_id}:{run_range.start.isoformat()}..{run_range.end.isoformat()}"
    return audit_staged(
        spark, config, staged_at=staged_at, table=table, params=params, batch_name=batch_name, path=path
    )


def stage_and_audit_training_set(
    spark: SparkSession,
    config: Config,
    *,
    batch: DataFrame,
    name: str,
    output: str,
    expected_rows: int,
    run_id: str,
) -> AuditedPublish:
    """Stage a training set and run the training-set suite on it; raises DataQualityError when it fails."""
    staged_at = staging_path(config, table=f"training_sets/{name}", run_id=run_id)
    delta_io.overwrite(batch, staged_at)
    params = suite_params(config.quality, run_date=None, expected_row_count=expected_rows)
    return audit_staged(
        spark,
        config,
        staged_at=staged_at,
        table=TRAINING_SETS,
        params=params,
        batch_name=f"{run_id}:{name}",
        path=output,
    )


def audit_staged(
    spark: SparkSession,
    config: Config,
    *,
    staged_at: str,
    table: str,
    params: SuiteParams,
    batch_name: str,
    path: str,
) -> AuditedPublish:
    """Run the table's suite on the batch staged at `staged_at` and print the summary; raises
    DataQualityError (the batch stays staged, `path` untouched) when it fails."""
    outcome = validate_table(
        delta_io.read(spark, staged_at),
        table=table,
        params=params,
        results_path=config.quality.results_path,
        batch_name=batch_name,
    )
    print(outcome.summary(), flush=True)
    if not outcome.success:
        raise rejected(outcome, path=path, staged_at=staged_at)
    return AuditedPublish(table, staged_at, outcome)


def rejected(outcome: Outcome, *, path: str, staged_at: str) -> DataQualityError:
    error = DataQualityError(
        f"{outcome.failure_message()}; not published ({path} is unchanged); the rejected batch is kept at {staged_at}"
    )
    error.details = {"audit": outcome.details(), "staging_path": staged_at}  # type: ignore[attr-defined]
    return error


def publish_audited(spark: SparkSession, audited: AuditedPublish, *, path: str, run_range: DateRange) -> None:
    """Step 3: one atomic commit from the staged batch, then the staging copy goes."""
    replace_partitions(delta_io.read(spark, audited.staging_path), path=path, run_range=run_range)
    delta_io.remove(spark, audited.staging_path)
    log.info("table %s: batch passed its suite and was published from %s", audited.table, audited.staging_path)
