"""Validate one table's DataFrame with its suite through a GE Checkpoint that stores the result and updates
Data Docs with this run's pages (UpdateDataDocsAction), make the site work offline, summarize."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier
from pyspark.sql import DataFrame

from expectations.common import SuiteParams
from expectations.runner import Failure, build_suite, failures, run_checkpoint
from jobs.config import QualityConfig
from jobs.quality.context import DOCS_SITE, build_context, local_docs_dir
from jobs.quality.docs_assets import make_site_offline


@dataclasses.dataclass(frozen=True)
class Outcome:
    table: str
    success: bool
    evaluated: int
    failures: list[Failure]
    docs_url: str | None
    docs_index_url: str | None

    def summary(self) -> str:
        """One screen: the verdict, then each failed expectation with its observed value."""
        verdict = "PASSED" if self.success else "FAILED"
        passed = self.evaluated - len(self.failures)
        lines = [f"suite {self.table}: {verdict} ({passed}/{self.evaluated} expectations met)"]
        lines += [f"  FAILED {f.expectation}({', '.join(f.columns)}): observed {f.observed}" for f in self.failures]
        if self.docs_url:
            lines.append(f"  Data Docs: {self.docs_url}")
        return "\n".join(lines)

    def failure_message(self) -> str:
        """The error line: table, each failed expectation with its columns, and the rows it found."""
        failed = "; ".join(f"{f.expectation}({', '.join(f.columns)}) observed {f.observed}" for f in self.failures)
        return f"table {self.table}: {len(self.failures)} expectation(s) failed: {failed}"

    def details(self) -> dict[str, object]:
        return {
            "table": self.table,
            "success": self.success,
            "expectations": self.evaluated,
            "failed_expectations": [
                {"expectation": f.expectation, "columns": list(f.columns), "observed": f.observed}
                for f in self.failures
            ],
            "data_docs": self.docs_url,
            "data_docs_index": self.docs_index_url,
        }


def suite_params(
    quality: QualityConfig,
    *,
    run_date: dt.date | None,
    previous_row_count: int | None = None,
    expected_row_count: int | None = None,
) -> SuiteParams:
    return SuiteParams(
        run_date=run_date,
        freshness_max_lag_days=quality.freshness_max_lag_days,
        row_count_min_ratio=quality.row_count_min_ratio,
        row_count_max_ratio=quality.row_count_max_ratio,
        row_count_band_min_rows=quality.row_count_band_min_rows,
        max_null_rate=quality.max_null_rate,
        max_invalid_rate=quality.max_invalid_rate,
        previous_row_count=previous_row_count,
        expected_row_count=expected_row_count,
    )


def validate_table(
    df: DataFrame,
    *,
    table: str,
    params: SuiteParams,
    results_path: str,
    batch_name: str,
    columns: Sequence[str] | None = None,
) -> Outcome:
    context = build_context(results_path)
    suite = build_suite(table, params, list(columns if columns is not None else df.columns))
    # GE's Data Docs page title feeds the run name to dateutil; a bare "2026-01-01..2026-03-31" parses
    # into an impossible UTC offset and breaks the page, so the name starts with a plain word.
    run_id = RunIdentifier(run_name=f"batch_{batch_name}", run_time=dt.datetime.now(dt.UTC))
    docs = UpdateDataDocsAction(name="update_data_docs", site_names=[DOCS_SITE])
    checkpoint = run_checkpoint(context, df, suite, batch_name=batch_name, run_id=run_id, actions=[docs])
    ((identifier, result),) = checkpoint.run_results.items()
    docs_dir = local_docs_dir(results_path)
    if docs_dir is not None:
        make_site_offline(docs_dir)
    return Outcome(
        table=table,
        success=bool(result.success),
        evaluated=len(result.results),
        failures=failures(result),
        docs_url=_site_url(context, identifier),
        docs_index_url=_site_url(context, None),
    )


def _site_url(context: AbstractDataContext, page: ValidationResultIdentifier | None) -> str | None:
    """The URL of a result's page (None: the index). Checkpoint.run keeps its actions' results (where
    UpdateDataDocsAction puts the same URL) to itself, so the context is asked (GE 1.24.1 checkpoint.py)."""
    urls = context.get_docs_sites_urls(resource_identifier=page, site_name=DOCS_SITE)
    return urls[0]["site_url"] if urls else None
