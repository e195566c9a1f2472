"""The Great Expectations context the jobs use: suites from code, results and Data Docs under a path.

Suites and validation definitions live in memory (the code in `expectations/` is their source of
truth); validation results (GE's JSON) and the Data Docs site go under `quality.results_path`, on a
local disk or S3, so every run's results and the docs index accumulate there.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import great_expectations as gx
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

DOCS_SITE = "local_site"
VALIDATIONS_DIR = "validations"
DOCS_DIR = "data_docs"


def store_backend(results_path: str, subdir: str) -> dict[str, Any]:
    """A GE tuple store backend under `results_path/subdir`: a local folder or an S3 prefix."""
    url = urlparse(results_path)
    if url.scheme in ("s3", "s3a"):
        prefix = "/".join(p for p in (url.path.strip("/"), subdir) if p)
        return {"class_name": "TupleS3StoreBackend", "bucket": url.netloc, "prefix": prefix}
    return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(Path(results_path) / subdir)}


def local_docs_dir(results_path: str) -> Path | None:
    """The Data Docs folder when it is on a local disk (None on S3)."""
    if urlparse(results_path).scheme in ("s3", "s3a"):
        return None
    return Path(results_path) / DOCS_DIR


def build_context(results_path: str) -> AbstractDataContext:
    # GE logs every datasource load at INFO; the jobs' own summary says what matters.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": store_backend(results_path, VALIDATIONS_DIR),
    }
    config = DataContextConfig(
        stores=stores,
        expectations_store_name=defaults.expectations_store_name,
        validation_results_store_name=defaults.validation_results_store_name,
        checkpoint_store_name=defaults.checkpoint_store_name,
        data_docs_sites={
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": store_backend(results_path, DOCS_DIR),
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)
