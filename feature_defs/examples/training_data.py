# The guide's training_data.py, unchanged apart from repo_path (this repo's feature_defs/, wherever
# the script is started from) and the `import pandas as pd` the guide forgot.
from pathlib import Path

import pandas as pd
from feast import FeatureStore

store = FeatureStore(repo_path=str(Path(__file__).resolve().parents[1]))

# Entity DataFrame - timestamps and entities for training
entity_df = pd.DataFrame(
    {
        "user_id": ["user_001", "user_002", "user_003", "user_001"],
        "merchant_id": ["merch_100", "merch_200", "merch_100", "merch_300"],
        "event_timestamp": pd.to_datetime(
            [
                "2026-03-01 10:00:00",
                "2026-03-02 14:30:00",
                "2026-03-03 09:15:00",
                "2026-03-05 16:45:00",
            ]
        ),
        "label": [0, 1, 0, 1],  # fraud label
    }
)

# Extract features with point-in-time correctness
training_df = store.get_historical_features(
    entity_df=entity_df,
    features=[
        "user_transaction_features:transaction_count_7d",
        "user_transaction_features:transaction_amount_avg_7d",
        "user_transaction_features:transaction_amount_max_7d",
        "user_transaction_features:unique_merchants_7d",
        "merchant_risk_features:chargeback_rate_30d",
        "merchant_risk_features:risk_score",
    ],
).to_df()

print(training_df.head())
print(f"Training data shape: {training_df.shape}")
