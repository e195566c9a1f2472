# The guide's feature freshness check script (Failure Case 2: Materialization Pipeline Failure),
# unchanged apart from repo_path (this repo's feature_defs/, wherever the script is started from)
# and two fixes it needs to run on Feast 0.67: `materialization_intervals` holds (start, end)
# tuples, so the last one is read into a named tuple with the guide's `.end_date`, and its times
# are timezone-aware (UTC), so "now" must be too (`datetime.utcnow()` is naive).
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

from feast import FeatureStore


class MaterializationInterval(NamedTuple):
    start_date: datetime
    end_date: datetime


store = FeatureStore(repo_path=str(Path(__file__).resolve().parents[1]))

# Check last materialization time per Feature View
for fv in store.list_feature_views():
    if fv.materialization_intervals:
        last_mat = MaterializationInterval(*fv.materialization_intervals[-1])
        staleness = datetime.now(timezone.utc) - last_mat.end_date  # noqa: UP017 - the guide's style
        if staleness > timedelta(hours=24):
            print(f"ALERT: {fv.name} is stale by {staleness}")
        else:
            print(f"OK: {fv.name} last materialized at {last_mat.end_date}")
    else:
        print(f"WARNING: {fv.name} has never been materialized")
