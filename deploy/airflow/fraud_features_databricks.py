"""Daily fraud features on Databricks: features -> validate -> materialize-incremental -> monitor freshness.

Each task is a one-time run of a python wheel task (package fraud_feature_jobs, entry point fraud-jobs, the
same wheel and pinned requirements as the bundle in deploy/databricks/) on a Spark 4.0 job cluster, with
`{{ ds }}` as --run-date. To run the bundle's job as a whole instead, use the provider's
DatabricksRunNowOperator(job_name="fraud_features_daily"); one Airflow task per command keeps retries per
command. Airflow Variables: fraud_databricks_artifacts (a /Volumes folder holding the wheel and
requirements-databricks.txt), fraud_databricks_node_type. Connection: databricks_default.
"""

from __future__ import annotations

from airflow.sdk import DAG
from fraud_operators import FraudDatabricksWheelTaskOperator
from fraud_pipeline import DAILY_SCHEDULE, daily_commands

ARTIFACTS = "{{ var.value.get('fraud_databricks_artifacts', '/Volumes/ml/fraud_features/artifacts/0.1.0') }}"
JOB_CLUSTER = {
    "spark_version": "17.3.x-scala2.13",  # Databricks Runtime 17.3 LTS: Spark 4.0, Delta in the runtime
    "node_type_id": "{{ var.value.get('fraud_databricks_node_type', 'i3.xlarge') }}",
    "num_workers": 2,
    "data_security_mode": "SINGLE_USER",
    "spark_conf": {"spark.sql.session.timeZone": "UTC"},
}
LIBRARIES = [
    {"whl": f"{ARTIFACTS}/fraud_feature_jobs-0.1.0-py3-none-any.whl"},
    {"requirements": f"{ARTIFACTS}/requirements-databricks.txt"},
]

with DAG(
    dag_id="fraud_features_daily_databricks",
    description=__doc__.split("\n")[0],
    tags=["fraud-features", "databricks"],
    **DAILY_SCHEDULE,
) as dag:
    previous = None
    for name, argv in daily_commands("databricks").items():
        task = FraudDatabricksWheelTaskOperator(
            task_id=name,
            run_name=f"fraud-features-{{{{ ds }}}}-{name}",
            tasks=[
                {
                    "task_key": name,
                    "python_wheel_task": {
                        "package_name": "fraud_feature_jobs",
                        "entry_point": "fraud-jobs",
                        "parameters": argv,
                    },
                    "new_cluster": JOB_CLUSTER,
                    "libraries": LIBRARIES,
                }
            ],
        )
        if previous is not None:
            previous >> task
        previous = task
