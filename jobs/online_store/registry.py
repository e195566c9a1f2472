"""The Feast side of materialization: the views to write and the intervals the registry records.

The store comes from jobs.feast_repo. `record_materialization` commits a view's interval as soon as
that view is written, as Feast's `FeatureStore.materialize` does, and skips an interval already
recorded, so a rerun after a crash between the write and the commit ends in the state of one clean run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from jobs.errors import BadInputError


def feature_views(store: Any, names: Sequence[str] | None) -> list[Any]:
    """The online feature views to materialize (all when `names` is None), fresh from the registry."""
    try:
        listed = store.registry.list_feature_views(store.project, allow_cache=False)
    except FileNotFoundError as err:
        raise BadInputError(f"no Feast registry: {err}") from err
    available = {fv.name: fv for fv in listed}
    if not available:
        raise BadInputError(
            f"the Feast registry {store.config.registry.path} holds no feature views: run `feast apply`"
        )
    if names is None:
        return [fv for fv in available.values() if fv.online]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise BadInputError(f"unknown feature view {unknown[0]} (registered: {', '.join(sorted(available))})")
    offline_only = [n for n in names if not available[n].online]
    if offline_only:
        raise BadInputError(f"feature view {offline_only[0]} is not online (online=False)")
    return [available[n] for n in names]


def record_materialization(store: Any, name: str, start: dt.datetime, end: dt.datetime) -> bool:
    """Commit (start, end) to the view's materialization intervals; False if already recorded."""
    registry = store.registry
    project = store.project
    registry.refresh(project)
    view = registry.get_feature_view(name, project, allow_cache=True)
    if (start, end) in [(s, e) for s, e in view.materialization_intervals]:
        return False
    registry.apply_materialization(view, project, start, end, commit=True)
    return True
