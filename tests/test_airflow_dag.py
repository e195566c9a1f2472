"""The Airflow DAGs in deploy/airflow/, loaded by Airflow's own DagBag in the isolated .venv-airflow
(`make airflow-venv`): no import errors, the task graph, commands our CLI accepts, and retries only on
the retryable exit codes of jobs/errors.py."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import errors
from jobs.__main__ import COMMANDS
from jobs.deploy.emr import EmrTarget, start_job_run_request
from jobs.deploy.pipeline import daily_pipeline

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAGS = ROOT / "deploy" / "airflow"
RUN_DATE = "2026-03-12"
VARIABLES = {
    "fraud_artifacts": "s3://my-bucket/fraud/0.1.0",
    "fraud_emr_application_id": "00abc123",
    "fraud_emr_execution_role_arn": "arn:aws:iam::123456789012:role/fraud-jobs",
    "fraud_emr_log_uri": "s3://my-bucket/logs/",
    "fraud_databricks_artifacts": "/Volumes/ml/fraud/artifacts/0.1.0",
}
EMR_DAG = "fraud_features_daily_emr_serverless"
DATABRICKS_DAG = "fraud_features_daily_databricks"
CHAIN = ["features", "validate", "materialize_incremental", "monitor_freshness"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    assert AIRFLOW_PYTHON.exists(), "no .venv-airflow: run `make airflow-venv`"
    home = tmp_path_factory.mktemp("airflow-home")
    output = home / "dagbag.json"
    env = {
        "PATH": os.environ["PATH"],
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        # For the EMR Serverless client the probe builds; botocore's Stubber answers, nothing is sent.
        "AIRFLOW_CONN_AWS_DEFAULT": "aws://",
        "AWS_ACCESS_KEY_ID": "probe",
        "AWS_SECRET_ACCESS_KEY": "probe",
    }
    probe = [str(AIRFLOW_PYTHON), str(ROOT / "tests" / "airflow_probe.py"), str(DAGS), RUN_DATE]
    done = subprocess.run(
        [*probe, json.dumps(VARIABLES), str(output)], env=env, cwd=home, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-4000:]
    return json.loads(output.read_text())


def argv_of(dag_id: str, task: dict) -> list[str]:
    rendered = task["rendered"]
    if dag_id == EMR_DAG:
        return rendered["job_driver"]["sparkSubmit"]["entryPointArguments"]
    (wheel_task,) = rendered["tasks"]
    return wheel_task["python_wheel_task"]["parameters"]


def test_dags_load_without_import_errors(dagbag):
    assert dagbag["import_errors"] == {}
    assert sorted(dagbag["dags"]) == [DATABRICKS_DAG, EMR_DAG]


@pytest.mark.parametrize("dag_id", [EMR_DAG, DATABRICKS_DAG])
def test_task_graph_is_the_daily_chain(dagbag, dag_id):
    dag = dagbag["dags"][dag_id]
    assert sorted(dag["tasks"]) == sorted(CHAIN)
    for before, after in zip(CHAIN, CHAIN[1:], strict=False):
        assert dag["tasks"][before]["downstream"] == [after]
        assert dag["tasks"][after]["upstream"] == [before]
    assert dag["tasks"][CHAIN[0]]["upstream"] == [] and dag["tasks"][CHAIN[-1]]["downstream"] == []
    assert dag["max_active_runs"] == 1  # materialize-incremental continues where the previous run ended


@pytest.mark.parametrize(("dag_id", "env"), [(EMR_DAG, "emr"), (DATABRICKS_DAG, "databricks")])
def test_each_task_runs_the_pipeline_command_for_ds(dagbag, dag_id, env):
    tasks = dagbag["dags"][dag_id]["tasks"]
    expected = daily_pipeline(dt.date.fromisoformat(RUN_DATE), env=env)
    assert [step.name for step in expected] == CHAIN
    for step in expected:
        assert argv_of(dag_id, tasks[step.name]) == list(step.argv)


@pytest.mark.parametrize("dag_id", [EMR_DAG, DATABRICKS_DAG])
def test_each_task_command_parses_with_our_cli(dagbag, dag_id):
    for task in dagbag["dags"][dag_id]["tasks"].values():
        argv = argv_of(dag_id, task)
        module, _ = COMMANDS[argv[0]]
        importlib.import_module(module).build_parser(argv[0]).parse_args(argv[1:])


def test_emr_task_submits_what_deploy_emr_writes(dagbag):
    target = EmrTarget(
        artifacts=VARIABLES["fraud_artifacts"],
        cluster_id="unused",
        application_id=VARIABLES["fraud_emr_application_id"],
        execution_role_arn=VARIABLES["fraud_emr_execution_role_arn"],
        log_uri=VARIABLES["fraud_emr_log_uri"],
    )
    tasks = dagbag["dags"][EMR_DAG]["tasks"]
    for step in daily_pipeline(dt.date.fromisoformat(RUN_DATE), env="emr"):
        request = start_job_run_request(target, dt.date.fromisoformat(RUN_DATE), step)
        rendered = tasks[step.name]["rendered"]
        assert rendered["job_driver"] == request["jobDriver"]
        assert rendered["configuration_overrides"] == request["configurationOverrides"]
        assert rendered["application_id"] == request["applicationId"]
        assert rendered["execution_role_arn"] == request["executionRoleArn"]


@pytest.mark.parametrize("dag_id", [EMR_DAG, DATABRICKS_DAG])
def test_only_retryable_exit_codes_are_retried(dagbag, dag_id):
    documented = {
        value for name, value in vars(errors).items() if name.startswith("EXIT_") and isinstance(value, int)
    } - {errors.EXIT_OK}
    for task in dagbag["dags"][dag_id]["tasks"].values():
        assert task["retries"] > 0
        expected = {str(code): "retry" if code in errors.RETRYABLE_EXIT_CODES else "fail" for code in documented}
        # No exit code at all: the failure happened outside the job (cluster lost, run cancelled): retry.
        assert task["on_failure"] == {**expected, "none": "retry"}


def test_emr_serverless_task_reads_the_exit_code_of_its_failed_run(dagbag):
    documented = {value for name, value in vars(errors).items() if name.startswith("EXIT_") and isinstance(value, int)}
    expected = {str(code): "retry" if code in errors.RETRYABLE_EXIT_CODES else "fail" for code in documented - {0}}
    assert dagbag["serverless_failed_run"] == {**expected, "none": "retry"}


def load_exit_codes_module():
    spec = importlib.util.spec_from_file_location("fraud_exit_codes", DAGS / "fraud_exit_codes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_airflow_mapping_module_equals_jobs_errors():
    module = load_exit_codes_module()
    assert module.RETRYABLE_EXIT_CODES == errors.RETRYABLE_EXIT_CODES
    documented = {value for name, value in vars(errors).items() if name.startswith("EXIT_") and isinstance(value, int)}
    assert set(module.EXIT_CODE_MEANINGS) == documented


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "Job failed, please check complete logs in configured logging destination. ExitCode: 5. Last few",
            5,
        ),
        ("diagnostics: User application exited with status 1\n\t ApplicationMaster host: 10.0.0.1", 1),
        ("[{'task_key': 'features', 'run_id': 7, 'error': 'SystemExit: 2'}]", 2),
        ('ExitCode: 1\n{"command": "features", "exit_code": 3, "status": "failed"}', 3),  # the last report wins
        ("Waiter StepComplete failed: terminal failure, cluster terminated", None),
    ],
)
def test_exit_code_is_read_from_what_the_platforms_report(text, code):
    assert load_exit_codes_module().exit_code_from_text(text) == code


def test_exit_code_is_read_from_a_real_job_run():
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "features", "--env", "local", "--start", "2026-01-05", "--end", "2026-01-01"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == errors.EXIT_BAD_INPUT
    assert load_exit_codes_module().exit_code_from_text(done.stdout) == done.returncode
