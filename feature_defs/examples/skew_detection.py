# The guide's skew_detection.py (Training-Serving Skew Prevention Strategies), unchanged apart from
# repo_path (this repo's feature_defs/, wherever the script is started from) and the imports the
# guide forgot (numpy, pandas). The `__main__` block is ours: it runs the check for one feature,
# with the training values taken from the offline store (Feast's point-in-time join) for the
# same entities the guide samples online. `python -m jobs monitor skew` is the Spark-scale check.
from pathlib import Path

import numpy as np
import pandas as pd
from feast import FeatureStore
from scipy import stats

store = FeatureStore(repo_path=str(Path(__file__).resolve().parents[1]))


def detect_training_serving_skew(
    feature_name: str,
    training_values: pd.Series,
    sample_size: int = 1000,
):
    """Compare feature distributions between training data and Online Store."""
    # Sample from Online Store
    online_features = []  # noqa: F841 - the guide's
    entity_rows = [{"user_id": f"user_{i:04d}"} for i in range(sample_size)]
    online_result = store.get_online_features(
        features=[feature_name],
        entity_rows=entity_rows,
    ).to_df()
    serving_values = online_result[feature_name.split(":")[-1]].dropna()

    # KS test for distribution comparison
    ks_stat, p_value = stats.ks_2samp(
        training_values.dropna(),
        serving_values,
    )

    # PSI (Population Stability Index) calculation
    psi = calculate_psi(training_values.dropna(), serving_values)

    return {
        "feature": feature_name,
        "ks_statistic": ks_stat,
        "p_value": p_value,
        "psi": psi,
        "skew_detected": psi > 0.2 or p_value < 0.05,
    }


def calculate_psi(expected, actual, bins=10):
    """Calculate Population Stability Index (PSI)."""
    breakpoints = np.linspace(
        min(expected.min(), actual.min()),
        max(expected.max(), actual.max()),
        bins + 1,
    )
    expected_counts = np.histogram(expected, breakpoints)[0] / len(expected)
    actual_counts = np.histogram(actual, breakpoints)[0] / len(actual)

    # Avoid division by zero
    expected_counts = np.clip(expected_counts, 0.001, None)
    actual_counts = np.clip(actual_counts, 0.001, None)

    psi = np.sum((actual_counts - expected_counts) * np.log(actual_counts / expected_counts))
    return psi


if __name__ == "__main__":
    feature = "user_transaction_features:transaction_amount_avg_7d"
    entity_df = pd.DataFrame(
        {
            "user_id": [f"user_{i:04d}" for i in range(1000)],
            "event_timestamp": pd.Timestamp.now(tz="UTC"),
        }
    )
    training_df = store.get_historical_features(entity_df=entity_df, features=[feature]).to_df()
    print(detect_training_serving_skew(feature, training_df[feature.split(":")[-1]]))
