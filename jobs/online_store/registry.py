"""The Feast side of materialization: the store, its views, and the intervals it records.

`repo_config` reads feature_defs/feature_store.yaml the way Feast does (expanding ${VARS}) and
points it at the registry, project and online store of the jobs configuration, so the job, Feast's
CLI and the guide's scripts share one registry and one set of DynamoDB tables.
`record_materialization` commits a view's interval as soon as that view is written, as Feast's
`FeatureStore.materialize` does, and skips an interval already recorded, so a rerun after a crash
between the write and the commit ends in the state of one clean run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import posixpath
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from jobs.config import Config, is_table_name
from jobs.errors import BadInputError, ConfigError

FEATURE_STORE_YAML = "feature_store.yaml"
TABLES_FOLDER_VARIABLE = "FRAUD_FEATURE_TABLES"  # read by feature_defs/sources.py: a folder or a schema
SERVED_LOG_VARIABLE = "FRAUD_SERVED_FEATURES_LOG"  # read by feature_defs/services.py: the logging destination
log = logging.getLogger("jobs.online_store")


def repo_config(config: Config, endpoint_url: str | None) -> Any:
    from feast.repo_config import RepoConfig

    repo_path = Path(config.feast.repo_path)
    yaml_path = repo_path / FEATURE_STORE_YAML
    if not yaml_path.is_file():
        raise ConfigError(f"feast.repo_path {repo_path} holds no {FEATURE_STORE_YAML}")
    raw = yaml.safe_load(os.path.expandvars(yaml_path.read_text()))
    raw["project"] = config.feast.project
    if isinstance(raw.get("registry"), dict):
        raw["registry"] = {**raw["registry"], "path": config.feast.registry}
    else:
        raw["registry"] = config.feast.registry
    online = {k: v for k, v in (raw.get("online_store") or {}).items() if k != "endpoint_url"}
    for key, ours in (
        ("table_name_template", config.online_store.table_name_template),
        ("region", config.online_store.region),
    ):
        if online.get(key, ours) != ours:
            log.warning(
                "%s says online_store.%s=%r but the job writes with %r: Feast clients reading that file will "
                "not see these items",
                yaml_path,
                key,
                online[key],
                ours,
            )
    online.update(type="dynamodb", region=config.online_store.region)
    online["table_name_template"] = config.online_store.table_name_template
    if endpoint_url:
        online["endpoint_url"] = endpoint_url
    raw["online_store"] = online
    rc = RepoConfig(**raw)
    rc.repo_path = repo_path
    return rc


def open_store(config: Config, endpoint_url: str | None) -> Any:
    from feast import FeatureStore

    return FeatureStore(config=repo_config(config, endpoint_url))


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


def feature_tables_folder(config: Config) -> str:
    """The folder (paths) or schema (catalog table names, `catalog.schema`) both feature tables live in,
    under the names feature_defs/sources.py expects."""
    expected = {
        "tables.user_features": (config.tables.user_features, "user_transaction_features"),
        "tables.merchant_features": (config.tables.merchant_features, "merchant_risk_features"),
    }
    folders = set()
    for key, (location, name) in expected.items():
        if is_table_name(location):
            folder, _, base = location.rpartition(".")
            separator = "."
        else:
            folder, base = posixpath.split(location.rstrip("/"))
            separator = "/"
        if base != name:
            raise BadInputError(f"{key} must end in {separator}{name} for the Feast sources, got {location}")
        folders.add(folder)
    if len(folders) != 1:
        raise BadInputError(
            f"tables.user_features and tables.merchant_features must share a folder or schema, got {folders}"
        )
    return folders.pop()


def apply_repo(config: Config, endpoint_url: str | None) -> None:
    """`feast apply` of feature_defs into the configured registry (creates the DynamoDB tables too),
    with the views' sources on the configured feature tables (`FRAUD_FEATURE_TABLES`) and the feature
    service logging to `monitoring.served_log` (`FRAUD_SERVED_FEATURES_LOG`)."""
    from feast.repo_operations import apply_total

    from jobs.online_store.embedded import EMBEDDED_CREDENTIALS
    from jobs.online_store.tables import is_loopback

    repo_path = Path(config.feast.repo_path).resolve()
    # Feast imports the repo's files by bare module name (`feast apply` puts the repo on sys.path);
    # forget them before and after, so another repo applied in this process is read afresh.
    repo_modules = [p.stem for p in repo_path.glob("*.py")]
    cwd = os.getcwd()
    tables_folder = feature_tables_folder(config)
    saved = {
        name: os.environ.get(name)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", TABLES_FOLDER_VARIABLE, SERVED_LOG_VARIABLE)
    }
    os.environ[SERVED_LOG_VARIABLE] = config.monitoring.served_log
    os.environ[TABLES_FOLDER_VARIABLE] = (
        tables_folder if "://" in tables_folder or is_table_name(tables_folder) else os.path.abspath(tables_folder)
    )
    if is_loopback(endpoint_url):
        # Feast's own boto3 client signs with the default chain; the loopback server checks nothing.
        os.environ["AWS_ACCESS_KEY_ID"] = EMBEDDED_CREDENTIALS["aws_access_key_id"]
        os.environ["AWS_SECRET_ACCESS_KEY"] = EMBEDDED_CREDENTIALS["aws_secret_access_key"]
    _forget_modules(repo_modules)
    sys.path.insert(0, str(repo_path))
    try:
        apply_total(repo_config(config, endpoint_url), repo_path, skip_source_validation=True)
    finally:
        os.chdir(cwd)
        sys.path.remove(str(repo_path))
        _forget_modules(repo_modules)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _forget_modules(names: Sequence[str]) -> None:
    for name in names:
        sys.modules.pop(name, None)
