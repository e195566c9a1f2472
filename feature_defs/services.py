from feast import FeatureService
from features import merchant_risk_features, user_transaction_features

fraud_detection_service = FeatureService(
    name="fraud_detection_v2",
    features=[user_transaction_features, merchant_risk_features],
    tags={"model": "fraud_detector_v2", "owner": "ml-team"},
)
