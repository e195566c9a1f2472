"""deploy/databricks/databricks.yml: the daily job's settings are what the Databricks SDK's own model
accepts (a `JobSettings` round trip loses nothing, so a misspelt or unknown field fails), every task
runs an entry point of the wheel built from this checkout with parameters the CLI parses, and the
tasks run features -> validate -> materialize-incremental -> monitor freshness on a Spark 4.0 runtime.
conf/databricks.yaml names a Unity Catalog table for every table and keeps files in volumes."""

from __future__ import annotations

import configparser
import copy
import importlib
import inspect
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from databricks.sdk.service.jobs import JobSettings

from jobs.__main__ import COMMANDS
from jobs.config import REPO_ROOT, is_table_name, load_config

BUNDLE = REPO_ROOT / "deploy" / "databricks" / "databricks.yml"
JOB = "fraud_features_daily"
WHEEL = "fraud_feature_jobs-0.1.0-py3-none-any.whl"
# What Databricks puts in place of the dynamic value references when the job runs.
RUN_VALUES = {
    "{{job.parameters.run_date}}": "2026-03-12",
    "{{job.start_time.iso_date}}": "2026-03-12",
    "{{job.start_time.iso_datetime}}": "2026-03-12T02:30:00.000Z",
}
PIPELINE = [("features", []), ("validate", ["features"]), ("materialize", ["validate"]), ("freshness", ["materialize"])]
COMMAND_OF_TASK = {
    "features": "features",
    "validate": "validate",
    "materialize": "materialize-incremental",
    "freshness": "monitor",
}
BUILD_IGNORED = {".venv", "jars", "node_modules", ".git", "data", "dist", "build", "spark-warehouse", "metastore_db"}


def resolve(node, variables: dict):
    """The bundle's `${var.NAME}` references replaced by the variables' defaults, as `bundle deploy` does
    (a value that is one whole reference keeps the variable's type)."""
    if isinstance(node, dict):
        return {k: resolve(v, variables) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, variables) for v in node]
    if isinstance(node, str):
        whole = re.fullmatch(r"\$\{var\.(\w+)\}", node)
        if whole:
            return variables[whole.group(1)]
        resolved = re.sub(r"\$\{var\.(\w+)\}", lambda m: str(variables[m.group(1)]), node)
        assert "${" not in resolved, f"unresolved bundle reference in {node!r}"
        return resolved
    return node


@pytest.fixture(scope="module")
def bundle() -> dict:
    return yaml.safe_load(BUNDLE.read_text())


@pytest.fixture(scope="module")
def settings(bundle) -> dict:
    variables = {name: spec["default"] for name, spec in bundle["variables"].items()}
    return resolve(bundle["resources"]["jobs"][JOB], variables)


def round_trip(settings: dict) -> dict:
    return JobSettings.from_dict(settings).as_dict()


def test_the_job_settings_survive_the_sdk_round_trip(settings):
    assert round_trip(settings) == settings


@pytest.mark.parametrize(
    "misspell",
    [
        lambda s: s["tasks"][0]["python_wheel_task"].update(
            entrypoint=s["tasks"][0]["python_wheel_task"].pop("entry_point")
        ),
        lambda s: s["job_clusters"][0]["new_cluster"].update(num_worker=4),
        lambda s: s.update(schedules=s.pop("schedule")),
    ],
)
def test_a_misspelt_field_does_not_survive_it(settings, misspell):
    broken = copy.deepcopy(settings)
    misspell(broken)
    assert round_trip(broken) != broken


def test_tasks_run_the_pipeline_in_order_on_a_spark_4_job_cluster(settings):
    tasks = settings["tasks"]
    assert [(t["task_key"], [d["task_key"] for d in t.get("depends_on", [])]) for t in tasks] == PIPELINE
    assert [t["python_wheel_task"]["parameters"][0] for t in tasks] == [COMMAND_OF_TASK[k] for k, _ in PIPELINE]
    (cluster,) = settings["job_clusters"]
    assert {t["job_cluster_key"] for t in tasks} == {cluster["job_cluster_key"]}
    # Databricks Runtime 17.x runs Spark 4.0 (the pinned pyspark's line).
    assert re.fullmatch(r"17\.\d+\.x-scala2\.13", cluster["new_cluster"]["spark_version"])
    assert "spark.master" not in cluster["new_cluster"].get("spark_conf", {})


def test_every_task_parameter_list_parses_with_the_cli(settings):
    for task in settings["tasks"]:
        argv = [RUN_VALUES.get(p, p) for p in task["python_wheel_task"]["parameters"]]
        assert not [p for p in argv if "{{" in p], f"task {task['task_key']}: unknown dynamic value in {argv}"
        command, rest = argv[0], argv[1:]
        module = importlib.import_module(COMMANDS[command][0])
        takes_command = "command" in inspect.signature(module.build_parser).parameters
        parser = module.build_parser(command) if takes_command else module.build_parser()
        args = parser.parse_args(rest)
        assert args.env == "databricks", task["task_key"]
        load_config(env=args.env, overrides=args.overrides)


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel` builds from a copy of this checkout (so no build/ or egg-info is left here)."""
    root = tmp_path_factory.mktemp("wheel_build")
    source = root / "source"
    shutil.copytree(
        REPO_ROOT,
        source,
        ignore=lambda _, names: [
            n for n in names if n in BUILD_IGNORED or n.endswith((".egg-info", "_cache")) or n == "__pycache__"
        ],
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root), str(source)],
        check=True,
        capture_output=True,
    )
    return root / WHEEL


def wheel_entry_points(wheel: Path) -> configparser.ConfigParser:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(archive.read(name).decode())
    return parser


@pytest.mark.integration
def test_every_task_runs_an_entry_point_of_the_built_wheel(settings, built_wheel):
    assert built_wheel.is_file(), f"the build made no {WHEEL}"
    scripts = dict(wheel_entry_points(built_wheel)["console_scripts"])
    for task in settings["tasks"]:
        wheel_task = task["python_wheel_task"]
        assert re.sub(r"[-_.]+", "_", wheel_task["package_name"]) == WHEEL.split("-")[0]
        target = scripts[wheel_task["entry_point"]]
        module_name, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module_name), function)), target
        libraries = task["libraries"]
        assert [Path(lib["whl"]).name for lib in libraries if "whl" in lib] == [WHEEL]
        assert [Path(lib["requirements"]).name for lib in libraries if "requirements" in lib] == [
            "requirements-databricks.txt"
        ]


def test_the_artifact_and_library_paths_point_at_dist_of_the_checkout(bundle, settings):
    here = BUNDLE.parent
    assert (here / bundle["artifacts"]["fraud_feature_jobs"]["path"]).resolve() == REPO_ROOT.resolve()
    for task in settings["tasks"]:
        for library in task["libraries"]:
            (path,) = library.values()
            assert (here / path).resolve().parent == (REPO_ROOT / "dist").resolve(), path


def test_the_databricks_configuration_names_unity_catalog_tables_and_volumes():
    config = load_config(env="databricks")
    assert (config.spark.master, config.spark.jars_dir) == (None, None)
    tables = vars(config.tables)
    folders = {"staging", "training_sets"}  # schemas: a staged batch or a training set is one of their tables
    for key, location in tables.items():
        assert is_table_name(location), f"tables.{key} = {location}"
        assert len(location.split(".")) == (2 if key in folders else 3), f"tables.{key} = {location}"
    assert config.feast.registry.startswith("/Volumes/")
    assert config.quality.results_path.startswith("/Volumes/")
