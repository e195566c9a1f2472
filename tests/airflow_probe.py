"""Run inside .venv-airflow (Airflow's own DagBag): print the DAGs in a folder as JSON for tests/test_airflow_dag.py.

usage: airflow_probe.py DAG_FOLDER RUN_DATE VARIABLES_JSON OUTPUT_JSON
Every templated field is rendered with Airflow's template environment for the given run date; the
variables stand in for Airflow Variables, which live in Airflow's database at run time.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import BundleDagBag
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from airflow.sdk.execution_time import macros


class _Values:
    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key, default)

    def __getattr__(self, key: str) -> str:
        return self._values[key]


class _Variables:
    def __init__(self, values: dict[str, str]) -> None:
        self.value = _Values(values)


def decision(task: Any, message: str) -> str:
    """What the task's failure handling does with a failure reported as `message`."""
    try:
        task.fail_or_retry(AirflowException(message))
    except AirflowFailException:
        return "fail"
    except AirflowException:
        return "retry"
    return "no exception"


def serverless_decision(state_details: str) -> str:
    """The EMR Serverless task's decision when its job run ended FAILED with these stateDetails, the run read
    back through the real EMR Serverless client (botocore's Stubber answers GetJobRun, checking the request
    and the response against the service model)."""
    from botocore.stub import Stubber
    from fraud_operators import FraudEmrServerlessJobOperator

    role = "arn:aws:iam::123456789012:role/fraud-jobs"
    task = FraudEmrServerlessJobOperator(
        task_id="probe", application_id="00abc", execution_role_arn=role, job_driver={}, region_name="ap-northeast-2"
    )
    task.job_id = "00run"
    at = datetime.datetime(2026, 3, 12, tzinfo=datetime.UTC)
    run = {
        "applicationId": "00abc",
        "jobRunId": "00run",
        "arn": "arn:aws:emr-serverless:ap-northeast-2:123456789012:/applications/00abc/jobruns/00run",
        "createdBy": role,
        "createdAt": at,
        "updatedAt": at,
        "executionRole": role,
        "state": "FAILED",
        "stateDetails": state_details,
        "releaseLabel": "emr-7.9.0",
        "jobDriver": {"sparkSubmit": {"entryPoint": "s3://bucket/run_job.py"}},
    }
    with Stubber(task.hook.conn) as stub:
        stub.add_response("get_job_run", {"jobRun": run}, {"applicationId": "00abc", "jobRunId": "00run"})
        return decision(task, "Serverless Job failed: Waiter job_complete failed: terminal failure")


def main(folder: str, run_date: str, variables: str, output: str) -> None:
    # As Airflow's DAG processor loads a local bundle: its folder is importable (the DAGs' helper modules).
    bag = BundleDagBag(dag_folder=folder, bundle_path=Path(folder))
    context = {"ds": run_date, "macros": macros, "var": _Variables(json.loads(variables))}
    dags: dict[str, Any] = {}
    for dag in bag.dags.values():
        env = dag.get_template_env()
        tasks = {}
        for task in dag.tasks:
            rendered = {
                field: task.render_template(getattr(task, field), context, jinja_env=env)
                for field in task.template_fields
                if not field.endswith("conn_id")
            }
            tasks[task.task_id] = {
                "operator": type(task).__name__,
                "upstream": sorted(task.upstream_task_ids),
                "downstream": sorted(task.downstream_task_ids),
                "retries": task.retries,
                "rendered": json.loads(json.dumps(rendered, default=str)),
                "on_failure": {
                    code: decision(task, text)
                    for code, text in {
                        "none": "terminal failure: cluster terminated",
                        **{
                            str(n): f'failed\n{{"command": "x", "exit_code": {n}, "status": "failed"}}'
                            for n in range(1, 6)
                        },
                    }.items()
                },
            }
        dags[dag.dag_id] = {"tasks": tasks, "max_active_runs": dag.max_active_runs}
    serverless = {
        str(code): serverless_decision(f"Job failed, please check complete logs. ExitCode: {code}. Last few exceptions")
        for code in range(1, 6)
    }
    serverless["none"] = serverless_decision("Job failed: the application was stopped")
    result = {
        "serverless_failed_run": serverless,
        "import_errors": {str(k): v for k, v in bag.import_errors.items()},
        "dags": dags,
    }
    Path(output).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:5])
