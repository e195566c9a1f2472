"""Demo step: a training set for the generated labels through the Feast SDK; prints its shape and rows.

    (cd feature_defs && ../.venv/bin/feast apply)        # once the feature tables exist
    .venv/bin/python -m jobs.offline_store.demo [--env local]

The labels table (`tables.labels`) is the entity frame; features are the `fraud_detection_v2`
service; the retrieval is our offline store (feature_store.yaml), returned as a Spark DataFrame.
Only the row count and the first rows reach the driver.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from feast.infra.offline_stores.contrib.spark_offline_store.spark import SparkRetrievalJob

from jobs import delta_io
from jobs.config import Config, load_config
from jobs.feast_repo import feature_store

SERVICE = "fraud_detection_v2"


def print_training_set(spark: Any, config: Config, *, rows: int = 5) -> dict[str, Any]:
    store = feature_store(config)
    labels = delta_io.read(spark, config.tables.labels)
    job = store.get_historical_features(entity_df=labels, features=store.get_feature_service(SERVICE))
    assert isinstance(job, SparkRetrievalJob), "feature_store.yaml must name a Spark offline store"
    training = job.to_spark_df()
    shape = (training.count(), len(training.columns))
    print(f"Training data shape: {shape}")
    training.orderBy("event_timestamp", "user_id").show(rows, truncate=False)
    return {"rows": shape[0], "columns": shape[1], "service": SERVICE}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="local")
    args = parser.parse_args(argv)
    config = load_config(env=args.env)
    from jobs.session import build_session

    print_training_set(build_session(config.spark), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
