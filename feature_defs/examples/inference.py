# The guide's inference.py, serving through the model's feature service so that what it serves is
# logged (Feast's feature logging: jobs.online_store.serving, read back by `python -m jobs monitor skew`).
# It prints the guide's five features, as the guide's script does.
from feast import FeatureStore

from jobs.online_store.serving import get_online_features_logged

store = FeatureStore(repo_path="feature_defs")

features = [
    "user_transaction_features:transaction_count_7d",
    "user_transaction_features:transaction_amount_avg_7d",
    "user_transaction_features:unique_merchants_7d",
    "merchant_risk_features:chargeback_rate_30d",
    "merchant_risk_features:risk_score",
]

# Real-time feature retrieval
served = get_online_features_logged(
    store,
    "fraud_detection_v2",
    entity_rows=[
        {"user_id": "user_001", "merchant_id": "merch_100"},
    ],
).to_dict()
feature_vector = {name: served[name] for name in ["user_id", "merchant_id", *(f.split(":")[1] for f in features)]}

print(feature_vector)
