"""`python -m jobs apply`: `feast apply` of feature_defs/ into the configured registry.

    python -m jobs apply                       # conf/local.yaml: ./data/features, ./data/feast/registry.db
    python -m jobs apply --set feast.registry=data/dq/feast/registry.db \
        --set tables.user_features=data/dq/features/user_transaction_features \
        --set tables.merchant_features=data/dq/features/merchant_risk_features

The same as running `feast apply` in `feast.repo_path`, with the views' sources pointed at the
configured feature tables (`FRAUD_FEATURE_TABLES` is set to their folder, so the two tables must
share one) and the online store at `online_store.endpoint` (with `embedded`, a dynalite started for
the command's duration; `materialize` creates its tables again when it starts its own). Needs no
Spark session; a registry is replaced atomically, so a failed apply leaves the previous one.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from jobs.cli import command_parser, run_command
from jobs.config import Config
from jobs.feast_repo import apply_repo, feature_tables_folder


def build_parser() -> argparse.ArgumentParser:
    return command_parser("apply", "feast apply of the feature repo into the configured registry.")


def main(argv: Sequence[str] | None = None, *, command: str = "apply") -> int:
    return run_command(command, build_parser(), argv, run, needs_spark=False, validate_args=validate_args)


def validate_args(args: argparse.Namespace, config: Config) -> None:
    feature_tables_folder(config)


def run(spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    from jobs.online_store.embedded import online_endpoint

    with online_endpoint(config) as url:
        apply_repo(config, url)
    return {
        "registry": config.feast.registry,
        "project": config.feast.project,
        "feature_tables": feature_tables_folder(config),
    }
