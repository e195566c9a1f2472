"""The model's feature service. Feast's feature logging records what it serves (jobs.online_store.serving
logs each request through `FeatureStore.write_logged_features`), into Parquet files under
`FRAUD_SERVED_FEATURES_LOG` (`monitoring.served_log`, exported by the jobs; locally ./data/monitoring/
served_features), which `python -m jobs monitor skew` compares with the point-in-time join."""

import os
from pathlib import Path

from feast import FeatureService
from feast.feature_logging import LoggingConfig
from feast.infra.offline_stores.file_source import FileLoggingDestination
from features import merchant_risk_features, user_transaction_features

_LOCAL_LOG = Path(__file__).resolve().parent.parent / "data" / "monitoring" / "served_features"
SERVED_FEATURES_LOG = os.environ.get("FRAUD_SERVED_FEATURES_LOG", str(_LOCAL_LOG)).rstrip("/")

fraud_detection_service = FeatureService(
    name="fraud_detection_v2",
    features=[user_transaction_features, merchant_risk_features],
    tags={"model": "fraud_detector_v2", "owner": "ml-team"},
    logging_config=LoggingConfig(destination=FileLoggingDestination(path=SERVED_FEATURES_LOG), sample_rate=1.0),
)
