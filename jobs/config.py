"""Configuration: one YAML file per environment in conf/, loaded once into frozen dataclasses.

Every key is required (no silent defaults), unknown keys are rejected, and every error names the
dotted key, so a bad setting fails before Spark starts. `--set dotted.key=value` overrides any
setting; the value is parsed as a YAML scalar (`--set features.user_window_days=7`).

`--env NAME` loads the conf/ of the checkout or of the installed wheel (jobs.resources), `--config`
a file or URI (jobs.config_source). Relative paths resolve as jobs.resources says. `FRAUD_SHIP_JARS=0`
in the environment means the platform's Spark already has Delta (Databricks, a spark-submit with
jars given): `spark.jars_dir` is then ignored.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from jobs import resources
from jobs.config_source import read_config_text
from jobs.errors import ConfigError

# The folder holding conf/ and feature_defs/ (the checkout, or the wheel's packaged copy).
REPO_ROOT = resources.project_files()
CONF_DIR = resources.conf_dir()
SHIP_JARS_VARIABLE = "FRAUD_SHIP_JARS"


@dataclasses.dataclass(frozen=True)
class SparkConfig:
    master: str | None
    app_name: str
    jars_dir: str | None
    conf: dict[str, str]


@dataclasses.dataclass(frozen=True)
class TablesConfig:
    raw_transactions: str
    raw_chargebacks: str
    labels: str
    quarantine: str
    user_features: str
    merchant_features: str
    staging: str
    training_sets: str
    # The feature job's stored state (jobs/features/stateful.py): silver tables, daily tiles, landed days.
    silver_transactions: str
    silver_chargebacks: str
    user_tiles: str
    merchant_tiles: str
    landed_days: str


@dataclasses.dataclass(frozen=True)
class FeaturesConfig:
    user_window_days: int
    merchant_window_days: int
    late_arrival_lookback_days: int
    # How many days a later duplicate may move a transaction's event date (a correction across
    # midnight): the silver MERGE looks for the stored row that far around the incoming event dates.
    correction_horizon_days: int


@dataclasses.dataclass(frozen=True)
class InputsConfig:
    """When a raw landing day counts as complete (the `features` job's readiness check).

    `completion_marker`: a file name (e.g. `_SUCCESS`) upstream writes into the landing day's
    partition folder (`<table>/ingest_date=YYYY-MM-DD/<name>`) once it finished loading; checked for
    the last landing day a run reads, in both raw tables; null: not checked.
    `min_rows_run_date`: the fewest transactions that last landing day may hold (1: any).
    """

    completion_marker: str | None
    min_rows_run_date: int


@dataclasses.dataclass(frozen=True)
class FeastConfig:
    repo_path: str
    registry: str
    project: str


@dataclasses.dataclass(frozen=True)
class OnlineStoreConfig:
    endpoint: str
    region: str
    table_name_template: str
    write_rate_cap: int
    max_in_flight_per_partition: int
    ttl_attribute_enabled: bool
    retry_max_seconds: float


@dataclasses.dataclass(frozen=True)
class QualityConfig:
    results_path: str
    freshness_max_lag_days: int
    row_count_min_ratio: float
    row_count_max_ratio: float
    row_count_band_min_rows: int
    max_null_rate: float
    max_invalid_rate: float
    audit_feature_writes: bool
    audit_training_sets: bool


@dataclasses.dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds of `python -m jobs monitor` (drift: the guide's check_drift_alerts, PSI and KS)."""

    mean_change: float
    null_rate_change: float
    max_multiplier: float
    psi: float
    ks_p_value: float
    histogram_bins: int
    freshness_max_staleness_hours: float
    skew_sample_size: int
    skew_tolerance: float
    profiles_table: str
    checks_table: str
    reference_days: int


@dataclasses.dataclass(frozen=True)
class Config:
    env: str
    spark: SparkConfig
    tables: TablesConfig
    features: FeaturesConfig
    inputs: InputsConfig
    feast: FeastConfig
    online_store: OnlineStoreConfig
    quality: QualityConfig
    monitoring: MonitoringConfig


# Keys holding filesystem locations; relative ones are resolved when loaded (jobs.resources), so a
# job from a checkout behaves the same whatever directory it is started from.
_PATH_KEYS = {"spark.jars_dir", "feast.repo_path", "feast.registry", "quality.results_path"}
_PATH_SECTIONS = {"tables"}
# Settings outside `tables` that name a Delta table (a path, or a catalog name like tables.*).
_TABLE_KEYS = {"monitoring.profiles_table", "monitoring.checks_table"}
_PROJECT_PATH_KEYS = {"feast.repo_path"}  # folders of the project itself, not data


def load_config(*, env: str | None = None, config_file: str | None = None, overrides: Sequence[str] = ()) -> Config:
    """Load `conf/<env>.yaml` (or an explicit file), apply `key=value` overrides, validate."""
    if (env is None) == (config_file is None):
        raise ConfigError("give exactly one of --env NAME or --config FILE")
    if config_file:
        source, text = config_file, read_config_text(config_file)
    else:
        path = CONF_DIR / f"{env}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in CONF_DIR.glob("*.yaml")))
            raise ConfigError(f"configuration file {path} does not exist (environments: {known})")
        source, text = str(path), path.read_text()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must hold a mapping of sections")
    for override in overrides:
        _apply_override(raw, override)
    if os.environ.get(SHIP_JARS_VARIABLE) == "0" and isinstance(raw.get("spark"), dict):
        raw["spark"]["jars_dir"] = None
    return _build(Config, raw, prefix="")


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set takes dotted.key=value, got {override!r}")
    if key.startswith("spark.conf."):
        # Spark's own keys contain dots: everything after `spark.conf.` is one key, kept as text.
        raw.setdefault("spark", {}).setdefault("conf", {})[key.removeprefix("spark.conf.")] = value
        return
    *parents, leaf = key.split(".")
    node = raw
    for i, part in enumerate(parents):
        child = node.get(part)
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parents[: i + 1])} is not a section")
        node = child
    if leaf not in node:
        raise ConfigError(f"--set {key}: unknown setting {key}")
    node[leaf] = yaml.safe_load(value) if value else None


def _build(cls: type, data: Any, *, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix or 'configuration'} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown setting {_join(prefix, unknown[0])}")
    values = {}
    for name in names:
        key = _join(prefix, name)
        if name not in data:
            raise ConfigError(f"missing setting {key}")
        values[name] = _coerce(hints[name], data[name], key=key)
    return cls(**values)


def _coerce(hint: Any, value: Any, *, key: str) -> Any:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, prefix=key)
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _coerce(inner, value, key=key)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"setting {key} must be a mapping")
        return {str(k): str(v) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"setting {key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"setting {key} must be a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"setting {key} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"setting {key} must be a non-empty string, got {value!r}")
        if (key.startswith("tables.") or key in _TABLE_KEYS) and is_table_name(value):
            return value
        return _resolve_path(value, key=key) if _is_path_key(key) else value
    raise ConfigError(f"setting {key} has an unsupported type {hint!r}")


def is_table_name(value: str) -> bool:
    """A `tables.*` setting without a slash is a catalog table name (`catalog.schema.table`); with one,
    a path or URI."""
    return "/" not in value


def _is_path_key(key: str) -> bool:
    return key in _PATH_KEYS or key in _TABLE_KEYS or key.split(".")[0] in _PATH_SECTIONS


def _resolve_path(value: str, *, key: str) -> str:
    if "://" in value or value.startswith("/") or value.startswith("dbfs:"):
        return value
    base = resources.project_files() if key in _PROJECT_PATH_KEYS else resources.base_dir()
    return str(base / value)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
