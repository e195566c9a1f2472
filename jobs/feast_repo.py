"""Access to the Feast repo (`feast.repo_path`, feature_defs/): its configuration, the store, and `feast apply`.

`repo_config` reads feature_store.yaml with Feast's own `load_repo_config` (which expands ${VARS}) and
points it at the project, registry and online store of the jobs configuration, so every job, Feast's
CLI and the guide's scripts share one registry and one set of DynamoDB tables. A local registry is
written through `AtomicFileRegistryStore` (never half-written); a URI registry by Feast's store for
its scheme. `apply_repo` is `feast apply` confined: the working directory, `sys.path`, the repo's
modules in `sys.modules` and the environment variables it needs are restored when it returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from jobs.aws_credentials import credential_variables, environment
from jobs.config import Config, is_table_name
from jobs.errors import BadInputError, ConfigError
from jobs.tables import FEATURE_TABLES

FEATURE_STORE_YAML = "feature_store.yaml"
ATOMIC_REGISTRY_STORE = "jobs.offline_store.registry_store.AtomicFileRegistryStore"
TABLES_FOLDER_VARIABLE = "FRAUD_FEATURE_TABLES"  # read by feature_defs/sources.py: a folder or a schema
SERVED_LOG_VARIABLE = "FRAUD_SERVED_FEATURES_LOG"  # read by feature_defs/services.py: the logging destination
log = logging.getLogger("jobs.feast_repo")


def repo_config(config: Config, endpoint_url: str | None = None) -> Any:
    """feature_store.yaml of `feast.repo_path` with the project, registry and online store of `config`
    (the online store at `endpoint_url`; None: AWS's regional endpoint)."""
    from feast.repo_config import FeastConfigError, RepoConfig, load_repo_config

    repo_path = Path(config.feast.repo_path)
    yaml_path = repo_path / FEATURE_STORE_YAML
    if not yaml_path.is_file():
        raise ConfigError(f"feast.repo_path {repo_path} holds no {FEATURE_STORE_YAML}")
    try:
        loaded = load_repo_config(repo_path, yaml_path)
    except (FeastConfigError, yaml.YAMLError) as err:
        raise ConfigError(f"{yaml_path}: {err}") from err
    raw = loaded.model_dump(by_alias=True, exclude_unset=True)
    raw["project"] = config.feast.project
    raw["registry"] = _registry(raw.get("registry"), config.feast.registry)
    raw["online_store"] = _online_store(raw.get("online_store") or {}, config, endpoint_url, yaml_path)
    try:
        rc = RepoConfig(**raw)
    except ValueError as err:  # pydantic's ValidationError: e.g. feast.project not a valid Feast name
        raise ConfigError(f"{yaml_path} with feast.project, feast.registry and online_store settings: {err}") from err
    rc.repo_path = repo_path
    return rc


def _registry(configured: Any, path: str) -> dict[str, Any]:
    # Other settings of the file (e.g. cache_ttl_seconds) stay; the store type follows the path.
    kept = configured.items() if isinstance(configured, dict) else ()
    registry = {k: v for k, v in kept if k != "registry_store_type"}
    registry["path"] = path
    if "://" not in path:
        registry["registry_store_type"] = ATOMIC_REGISTRY_STORE
    return registry


def _online_store(configured: dict[str, Any], config: Config, endpoint_url: str | None, yaml_path: Path) -> dict:
    # The jobs write DynamoDB: another store's settings in the file (e.g. a sqlite path) do not carry over.
    same_store = configured.get("type", "dynamodb") == "dynamodb"
    online = {k: v for k, v in configured.items() if k != "endpoint_url"} if same_store else {}
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
    return online


def feature_store(config: Config, endpoint_url: str | None = None) -> Any:
    from feast import FeatureStore

    rc = repo_config(config, endpoint_url)
    return FeatureStore(repo_path=str(rc.repo_path), config=rc)


def feature_tables_folder(config: Config) -> str:
    """The folder (paths) or schema (catalog table names, `catalog.schema`) both feature tables live in,
    under the names feature_defs/sources.py expects (their table names)."""
    folders = set()
    for table in FEATURE_TABLES:
        location = table.location(config)
        if is_table_name(location):
            folder, _, base = location.rpartition(".")
            separator = "."
        else:
            folder, base = posixpath.split(location.rstrip("/"))
            separator = "/"
        if base != table.name:
            raise BadInputError(
                f"{table.setting} must end in {separator}{table.name} for the Feast sources, got {location}"
            )
        folders.add(folder)
    if len(folders) != 1:
        settings = " and ".join(table.setting for table in FEATURE_TABLES)
        raise BadInputError(f"{settings} must share a folder or schema, got {folders}")
    return folders.pop()


def apply_repo(config: Config, endpoint_url: str | None) -> None:
    """`feast apply` of feature_defs into the configured registry (creates the DynamoDB tables too),
    with the views' sources on the configured feature tables (`FRAUD_FEATURE_TABLES`) and the feature
    service logging to `monitoring.served_log` (`FRAUD_SERVED_FEATURES_LOG`)."""
    from feast.repo_operations import apply_total

    repo_path = Path(config.feast.repo_path).resolve()
    folder = feature_tables_folder(config)
    variables = {
        TABLES_FOLDER_VARIABLE: folder if "://" in folder or is_table_name(folder) else os.path.abspath(folder),
        SERVED_LOG_VARIABLE: config.monitoring.served_log,
        **credential_variables(endpoint_url),
    }
    rc = repo_config(config, endpoint_url)
    with environment(variables), _repo_importable(repo_path):
        apply_total(rc, repo_path, skip_source_validation=True)


@contextlib.contextmanager
def _repo_importable(repo_path: Path) -> Iterator[None]:
    """Feast imports the repo's files by bare module name from the repo folder (`feast apply` changes
    into it): make that work for the block and leave cwd, sys.path and sys.modules as they were, so
    another repo applied in this process is read afresh."""
    repo_modules = [p.stem for p in repo_path.glob("*.py")]
    cwd = os.getcwd()
    _forget_modules(repo_modules)
    sys.path.insert(0, str(repo_path))
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path.remove(str(repo_path))
        _forget_modules(repo_modules)


def _forget_modules(modules: list[str]) -> None:
    for name in modules:
        sys.modules.pop(name, None)
