"""Daily fraud features on EMR Serverless: features -> validate -> materialize-incremental -> monitor freshness.

Each task is one StartJobRun of the packaged artifact (the same request `python -m jobs deploy emr` writes)
with `{{ ds }}` as --run-date. Set these Airflow Variables (read when a task runs, not at parse time):
fraud_emr_application_id, fraud_emr_execution_role_arn, fraud_artifacts (the S3 copy of dist/),
fraud_emr_log_uri. Connection: aws_default.
"""

from __future__ import annotations

from airflow.sdk import DAG
from fraud_operators import FraudEmrServerlessJobOperator
from fraud_pipeline import DAILY_SCHEDULE, daily_commands

ARTIFACTS = "{{ var.value.get('fraud_artifacts', 's3://fraud-artifacts/fraud-features/0.1.0') }}"
PYTHON = "./environment/bin/python"
JARS = ",".join(
    f"{ARTIFACTS}/{jar}"
    for jar in (
        "jars/delta-spark_2.13-4.0.1.jar",
        "jars/delta-storage-4.0.1.jar",
        "emr-jars/delta-storage-s3-dynamodb-4.0.1.jar",
    )
)
SPARK_SUBMIT_PARAMETERS = " ".join(
    [
        f"--archives {ARTIFACTS}/environment.tar.gz#environment",
        f"--jars {JARS}",
        f"--conf spark.pyspark.python={PYTHON}",
        f"--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON={PYTHON}",
        f"--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON={PYTHON}",
        f"--conf spark.executorEnv.PYSPARK_PYTHON={PYTHON}",
        "--conf spark.sql.session.timeZone=UTC",
    ]
)

with DAG(
    dag_id="fraud_features_daily_emr_serverless",
    description=__doc__.split("\n")[0],
    tags=["fraud-features", "emr"],
    **DAILY_SCHEDULE,
) as dag:
    previous = None
    for name, argv in daily_commands("emr").items():
        task = FraudEmrServerlessJobOperator(
            task_id=name,
            application_id="{{ var.value.fraud_emr_application_id }}",
            execution_role_arn="{{ var.value.fraud_emr_execution_role_arn }}",
            name=f"fraud-features-{{{{ ds }}}}-{name}",
            job_driver={
                "sparkSubmit": {
                    "entryPoint": f"{ARTIFACTS}/run_job.py",
                    "entryPointArguments": argv,
                    "sparkSubmitParameters": SPARK_SUBMIT_PARAMETERS,
                }
            },
            configuration_overrides={
                "monitoringConfiguration": {
                    "s3MonitoringConfiguration": {
                        "logUri": "{{ var.value.get('fraud_emr_log_uri', 's3://fraud-lake/logs/emr-serverless/') }}"
                    }
                }
            },
        )
        if previous is not None:
            previous >> task
        previous = task
