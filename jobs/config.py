"""Configuration: one YAML file per environment in conf/, loaded once into frozen dataclasses.

Every key is required (no silent defaults), unknown keys are rejected, and every error names the
dotted key, so a bad setting fails before Spark starts: the sections are pydantic dataclasses, which
check types and keys. `--set dotted.key=value` overrides any setting; the value is parsed as a YAML
scalar and then checked by the same model (`--set features.late_arrival_lookback_days=5`). Window
lengths must agree with the feature names and Feast TTLs (jobs.feature_windows).

`--env NAME` loads the conf/ of the checkout or of the installed wheel (jobs.resources), `--config`
a file or URI (jobs.config_source). Relative paths resolve as jobs.resources says. `FRAUD_SHIP_JARS=0`
in the environment means the platform's Spark already has Delta (Databricks, a spark-submit with
jars given): `spark.jars_dir` is then ignored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic.dataclasses import dataclass

from jobs import resources
from jobs.config_source import read_config_text
from jobs.errors import ConfigError
from jobs.feature_windows import check_windows

# The folder holding conf/ and feature_defs/ (the checkout, or the wheel's packaged copy).
REPO_ROOT = resources.project_files()
CONF_DIR = resources.conf_dir()
SHIP_JARS_VARIABLE = "FRAUD_SHIP_JARS"


def is_table_name(value: str) -> bool:
    """A `tables.*` setting without a slash is a catalog table name (`catalog.schema.table`); with one,
    a path or URI."""
    return "/" not in value


def _is_absolute(value: str) -> bool:
    return "://" in value or value.startswith("/") or value.startswith("dbfs:")


def _data_path(value: str) -> str:
    """Keys holding filesystem locations; relative ones are resolved when loaded (jobs.resources), so a
    job from a checkout behaves the same whatever directory it is started from."""
    return value if _is_absolute(value) else str(resources.base_dir() / value)


def _project_path(value: str) -> str:
    """A folder of the project itself (feature_defs), not data."""
    return value if _is_absolute(value) else str(resources.project_files() / value)


def _table(value: str) -> str:
    """A Delta table: a catalog name (no slash) as given, or a path."""
    return value if is_table_name(value) else _data_path(value)


# Types are strict (a number is not read from "7", a bool not from "yes"), whole numbers are accepted
# for floats, and text settings must not be empty.
Int = StrictInt
Float = StrictFloat
Bool = StrictBool
Text = Annotated[StrictStr, Field(min_length=1)]
DataPath = Annotated[Text, AfterValidator(_data_path)]
ProjectPath = Annotated[Text, AfterValidator(_project_path)]
Table = Annotated[Text, AfterValidator(_table)]
# Spark's settings are text whatever YAML made of them (`spark.sql.shuffle.partitions: 8`).
SparkValue = Annotated[str, BeforeValidator(str)]

# Every key is required and unknown keys are rejected (extra="forbid"); `dataclasses.replace` works on
# these and validates again.
_SECTION = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_SECTION)
class SparkConfig:
    master: Text | None
    app_name: Text
    jars_dir: DataPath | None
    conf: dict[str, SparkValue]


@dataclass(frozen=True, config=_SECTION)
class TablesConfig:
    raw_transactions: Table
    raw_chargebacks: Table
    labels: Table
    quarantine: Table
    user_features: Table
    merchant_features: Table
    staging: Table
    training_sets: Table
    # The feature job's stored state (jobs/features/stateful.py): silver tables, daily tiles, landed days.
    silver_transactions: Table
    silver_chargebacks: Table
    resolved_chargebacks: Table
    user_tiles: Table
    merchant_tiles: Table
    landed_days: Table


@dataclass(frozen=True, config=_SECTION)
class FeaturesConfig:
    user_window_days: Int
    merchant_window_days: Int
    late_arrival_lookback_days: Int
    # How many days a later duplicate may move a transaction's event date (a correction across
    # midnight): the silver MERGE looks for the stored row that far around the incoming event dates.
    correction_horizon_days: Int


@dataclass(frozen=True, config=_SECTION)
class InputsConfig:
    """When a raw landing day counts as complete (the `features` job's readiness check).

    `completion_marker`: a file name (e.g. `_SUCCESS`) upstream writes into the landing day's
    partition folder (`<table>/ingest_date=YYYY-MM-DD/<name>`) once it finished loading; checked for
    the last landing day a run reads, in both raw tables; null: not checked.
    `min_rows_run_date`: the fewest transactions that last landing day may hold (1: any).
    """

    completion_marker: Text | None
    min_rows_run_date: Int


@dataclass(frozen=True, config=_SECTION)
class FeastConfig:
    repo_path: ProjectPath
    registry: DataPath
    project: Text


@dataclass(frozen=True, config=_SECTION)
class OnlineStoreConfig:
    endpoint: Text
    region: Text
    table_name_template: Text
    write_rate_cap: Int
    max_in_flight_per_partition: Int
    ttl_attribute_enabled: Bool
    retry_max_seconds: Float


@dataclass(frozen=True, config=_SECTION)
class QualityConfig:
    results_path: DataPath
    freshness_max_lag_days: Int
    row_count_min_ratio: Float
    row_count_max_ratio: Float
    row_count_band_min_rows: Int
    max_null_rate: Float
    max_invalid_rate: Float
    audit_feature_writes: Bool
    audit_training_sets: Bool


@dataclass(frozen=True, config=_SECTION)
class MonitoringConfig:
    """Thresholds of `python -m jobs monitor` (drift: the guide's check_drift_alerts, PSI and KS)."""

    mean_change: Float
    null_rate_change: Float
    max_multiplier: Float
    psi: Float
    ks_p_value: Float
    histogram_bins: Int
    freshness_max_staleness_hours: Float
    skew_tolerance: Float
    skew_max_mismatch_rate: Float
    skew_feature_service: Text
    served_log: DataPath
    profiles_table: Table
    checks_table: Table
    reference_days: Int


@dataclass(frozen=True, config=_SECTION)
class Config:
    env: Text
    spark: SparkConfig
    tables: TablesConfig
    features: FeaturesConfig
    inputs: InputsConfig
    feast: FeastConfig
    online_store: OnlineStoreConfig
    quality: QualityConfig
    monitoring: MonitoringConfig


_CONFIG = TypeAdapter(Config)


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
    config = _validate(raw)
    check_windows(dataclasses.asdict(config.features), config.feast.repo_path)
    return config


def _validate(raw: dict[str, Any]) -> Config:
    try:
        return _CONFIG.validate_python(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        if first["type"] == "missing":
            raise ConfigError(f"missing setting {key}") from None
        if first["type"] in {"unexpected_keyword_argument", "extra_forbidden"}:
            raise ConfigError(f"unknown setting {key}") from None
        raise ConfigError(f"setting {key}: {first['msg']}, got {first['input']!r}") from None


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
