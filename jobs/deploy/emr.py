"""EMR request documents for the daily pipeline: AddJobFlowSteps (EMR on EC2) and StartJobRun (EMR Serverless).

Bootstrap-free: every node gets the project and its Python dependencies from the packed environment
(`--archives <artifacts>/environment.tar.gz#environment`), the entry point is the artifact's run_job.py,
and the JVM jars the runtime lacks (Delta for Spark 4.0, Delta's S3DynamoDBLogStore) ship with --jars.
Spark settings stay in conf/<env>.yaml, which the driver applies when it builds its session; only what
must be known before the driver starts (where Python is, the jars) goes on the spark-submit line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from jobs.deploy.pipeline import PipelineStep, daily_pipeline

DELTA_VERSION = "4.0.1"
# Artifact layout (built by `make package` into dist/, copied as a whole to the artifacts prefix).
ENVIRONMENT_ARCHIVE = "environment.tar.gz"
ENTRY_POINT = "run_job.py"
ARTIFACT_JARS = (
    f"jars/delta-spark_2.13-{DELTA_VERSION}.jar",
    f"jars/delta-storage-{DELTA_VERSION}.jar",
    f"emr-jars/delta-storage-s3-dynamodb-{DELTA_VERSION}.jar",
)
PYTHON = "./environment/bin/python"

# A later step reads what the earlier one published: stop the chain, keep the cluster for the next run.
ACTION_ON_FAILURE = "CANCEL_AND_WAIT"


@dataclasses.dataclass(frozen=True)
class EmrTarget:
    artifacts: str
    cluster_id: str
    application_id: str
    execution_role_arn: str
    log_uri: str
    app_name: str = "fraud-features"
    env: str = "emr"
    execution_timeout_minutes: int = 180


def artifact(target: EmrTarget, name: str) -> str:
    return f"{target.artifacts.rstrip('/')}/{name}"


def jars(target: EmrTarget) -> str:
    return ",".join(artifact(target, name) for name in ARTIFACT_JARS)


def ec2_spark_submit(target: EmrTarget, step: PipelineStep) -> list[str]:
    # Cluster deploy mode: the driver runs in a YARN container, which unpacks the archive like every
    # executor does; the primary node needs nothing installed.
    return [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "--archives",
        f"{artifact(target, ENVIRONMENT_ARCHIVE)}#environment",
        "--conf",
        f"spark.yarn.appMasterEnv.PYSPARK_PYTHON={PYTHON}",
        "--conf",
        f"spark.executorEnv.PYSPARK_PYTHON={PYTHON}",
        "--conf",
        f"spark.pyspark.python={PYTHON}",
        "--conf",
        "spark.sql.session.timeZone=UTC",
        "--jars",
        jars(target),
        artifact(target, ENTRY_POINT),
        *step.argv,
    ]


def add_job_flow_steps_request(target: EmrTarget, run_date: dt.date) -> dict[str, Any]:
    """The AddJobFlowSteps request (EMR API shape): one command-runner.jar step per pipeline command."""
    return {
        "JobFlowId": target.cluster_id,
        "Steps": [
            {
                "Name": f"{target.app_name} {run_date.isoformat()} {step.name}",
                "ActionOnFailure": ACTION_ON_FAILURE,
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ec2_spark_submit(target, step)},
            }
            for step in daily_pipeline(run_date, env=target.env)
        ],
    }


def cli_steps(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The same steps in the `aws emr add-steps --steps file://...` format (the CLI's own step shape)."""
    return [
        {
            "Type": "CUSTOM_JAR",
            "Name": step["Name"],
            "ActionOnFailure": step["ActionOnFailure"],
            "Jar": step["HadoopJarStep"]["Jar"],
            "Args": step["HadoopJarStep"]["Args"],
        }
        for step in request["Steps"]
    ]


def serverless_submit_parameters(target: EmrTarget) -> str:
    settings = {
        "spark.pyspark.python": PYTHON,
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": PYTHON,
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": PYTHON,
        "spark.executorEnv.PYSPARK_PYTHON": PYTHON,
        "spark.sql.session.timeZone": "UTC",
    }
    return " ".join(
        [
            "--archives",
            f"{artifact(target, ENVIRONMENT_ARCHIVE)}#environment",
            "--jars",
            jars(target),
            *(f"--conf {key}={value}" for key, value in settings.items()),
        ]
    )


def start_job_run_request(target: EmrTarget, run_date: dt.date, step: PipelineStep) -> dict[str, Any]:
    """One StartJobRun request (EMR Serverless API shape) per pipeline command; the scheduler runs them in order.

    No clientToken: the AWS CLI and SDKs generate one per call, so resubmitting the file after a failure
    starts a new run instead of returning the failed one.
    """
    return {
        "applicationId": target.application_id,
        "executionRoleArn": target.execution_role_arn,
        "name": f"{target.app_name}-{run_date.isoformat()}-{step.name}",
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": artifact(target, ENTRY_POINT),
                "entryPointArguments": list(step.argv),
                "sparkSubmitParameters": serverless_submit_parameters(target),
            }
        },
        "configurationOverrides": {
            "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": target.log_uri}}
        },
        "executionTimeoutMinutes": target.execution_timeout_minutes,
    }


def start_job_run_requests(target: EmrTarget, run_date: dt.date) -> list[tuple[PipelineStep, dict[str, Any]]]:
    return [(step, start_job_run_request(target, run_date, step)) for step in daily_pipeline(run_date, env=target.env)]
