"""The daily pipeline for one run date, as the `python -m jobs` argument lists a scheduler runs in order.

features -> validate (the new snapshot day of both feature tables) -> materialize-incremental (up to the
end of that snapshot day: snapshot day D carries event_timestamp D+1 00:00, FEATURES.md) -> monitor
freshness. Every command is idempotent for its run date, so a scheduler may rerun any of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from jobs import tables

FEATURE_TABLES = ",".join(tables.names(tables.FEATURE_TABLES))


@dataclasses.dataclass(frozen=True)
class PipelineStep:
    name: str
    argv: tuple[str, ...]


def daily_pipeline(run_date: dt.date, *, env: str) -> list[PipelineStep]:
    day = run_date.isoformat()
    snapshot_end = f"{(run_date + dt.timedelta(days=1)).isoformat()}T00:00:00"
    where = ("--env", env)
    return [
        PipelineStep("features", ("features", *where, "--run-date", day)),
        PipelineStep("validate", ("validate", *where, "--tables", FEATURE_TABLES, "--run-date", day)),
        PipelineStep("materialize_incremental", ("materialize-incremental", *where, "--end-time", snapshot_end)),
        PipelineStep("monitor_freshness", ("monitor", "freshness", *where, "--run-date", day)),
    ]
