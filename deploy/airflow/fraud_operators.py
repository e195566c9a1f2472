"""The providers' operators, failing for good (no retries) when the job's exit code is not retryable.

Airflow retries any task that raises; raising AirflowFailException instead ends the task without its
remaining retries. Each operator below runs the provider's own execute and, on failure, gathers the text
in which the platform reports the job's exit code (see fraud_exit_codes) and decides.
Deferrable mode is off: a deferred run's failure returns without the run's details.
"""

from __future__ import annotations

import gzip
from typing import Any

from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator
from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from fraud_exit_codes import EXIT_CODE_MEANINGS, exit_code_from_text, is_retryable


class _FailOnNonRetryableExitCode:
    def failure_text(self, error: Exception) -> str:
        return str(error)

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)  # type: ignore[misc]
        except AirflowFailException:
            raise
        except AirflowException as error:
            self.fail_or_retry(error)

    def fail_or_retry(self, error: AirflowException) -> None:
        try:
            text = self.failure_text(error)
        except Exception as reading:  # noqa: BLE001 - the details are a bonus; without them, retry
            self.log.warning("could not read the run's failure details: %s", reading)  # type: ignore[attr-defined]
            text = str(error)
        code = exit_code_from_text(text)
        if is_retryable(code):
            raise error
        raise AirflowFailException(
            f"job exited {code} ({EXIT_CODE_MEANINGS.get(code, 'unknown code')}), not retried: {error}"
        ) from error


class FraudEmrServerlessJobOperator(_FailOnNonRetryableExitCode, EmrServerlessStartJobOperator):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(wait_for_completion=True, deferrable=False, **kwargs)

    def failure_text(self, error: Exception) -> str:
        if not self.job_id:
            return str(error)
        run = self.hook.conn.get_job_run(applicationId=self.application_id, jobRunId=self.job_id)["jobRun"]
        text = f"{error}\n{run.get('stateDetails', '')}"
        if exit_code_from_text(text) is not None:
            return text
        log_uri = (
            (self.configuration_overrides or {})
            .get("monitoringConfiguration", {})
            .get("s3MonitoringConfiguration", {})
            .get("logUri")
        )
        if log_uri:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            bucket, prefix = S3Hook.parse_s3_url(log_uri)
            key = f"{prefix.rstrip('/')}/applications/{self.application_id}/jobs/{self.job_id}/SPARK_DRIVER/stdout.gz"
            body = S3Hook(aws_conn_id=self.aws_conn_id).get_key(key.lstrip("/"), bucket).get()["Body"].read()
            text += "\n" + gzip.decompress(body).decode("utf-8", "replace")
        return text


class FraudDatabricksWheelTaskOperator(_FailOnNonRetryableExitCode, DatabricksSubmitRunOperator):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(wait_for_termination=True, deferrable=False, **kwargs)

    def failure_text(self, error: Exception) -> str:
        text = str(error)
        if self.run_id is None:
            return text
        for task in self._hook.get_run(self.run_id).get("tasks", []):
            if task.get("state", {}).get("result_state") == "FAILED":
                output = self._hook.get_run_output(task["run_id"])
                text += "\n" + "\n".join(str(output.get(field, "")) for field in ("error", "logs"))
        return text
