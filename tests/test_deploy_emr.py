"""`python -m jobs deploy emr`: the requests pass botocore's own validator, their commands parse with our CLI,
and Delta on S3 is configured with its DynamoDB log store."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import botocore.handlers
import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from jobs.__main__ import COMMANDS
from jobs.__main__ import main as jobs_main
from jobs.cli import BadCommandLine
from jobs.config import load_config
from jobs.deploy.emr import ARTIFACT_JARS
from jobs.deploy.logstore import check_exclusive_commits
from jobs.errors import EXIT_BAD_INPUT, ConfigError
from jobs.session import session_settings

ROOT = Path(__file__).resolve().parent.parent
RUN_DATE = "2026-03-12"
ARTIFACTS = "s3://my-bucket/fraud/0.1.0"
# The daily pipeline for RUN_DATE, written out by hand from the README (the oracle for the generated steps).
EXPECTED_COMMANDS = [
    ["features", "--env", "emr", "--run-date", "2026-03-12"],
    [
        "validate",
        "--env",
        "emr",
        "--tables",
        "user_transaction_features,merchant_risk_features",
        "--run-date",
        "2026-03-12",
    ],
    ["materialize-incremental", "--env", "emr", "--end-time", "2026-03-13T00:00:00"],
    ["monitor", "freshness", "--env", "emr", "--run-date", "2026-03-12"],
]
# Delta's names (docs "Multi-cluster setup", S3DynamoDBLogStore.java): the class and its settings.
DELTA_LOG_STORE = "io.delta.storage.S3DynamoDBLogStore"
DELTA_LOG_STORE_KEYS = {
    "spark.delta.logStore.s3.impl",
    "spark.delta.logStore.s3a.impl",
    "spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName",
    "spark.io.delta.storage.S3DynamoDBLogStore.ddb.region",
}


def generate(tmp_path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    code = jobs_main(
        ["deploy", "emr", "--run-date", RUN_DATE, "--artifacts", ARTIFACTS, "--output", str(tmp_path), *extra]
    )
    return code, {path.name: json.loads(path.read_text()) for path in sorted(tmp_path.glob("*.json"))}


def validation_errors(service: str, operation: str, params: dict[str, object]) -> str:
    """botocore's own check of a request against the service model, as the SDK runs it before sending."""
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    params = copy.deepcopy(params)
    botocore.handlers.generate_idempotent_uuid(params, model)  # the SDK fills clientToken the same way
    report = ParamValidator().validate(params, model.input_shape)
    return report.generate_report() if report.has_errors() else ""


def parse_with_our_cli(argv: list[str]) -> None:
    module, _ = COMMANDS[argv[0]]
    parser = importlib.import_module(module).build_parser(argv[0])
    parser.parse_args(argv[1:])  # raises BadCommandLine on anything the command does not accept


@pytest.fixture
def documents(tmp_path):
    code, docs = generate(tmp_path)
    assert code == 0
    return docs


def serverless(documents):
    return [doc for name, doc in documents.items() if name.startswith("emr-serverless-")]


def test_every_request_passes_botocore_validation(documents):
    assert validation_errors("emr", "AddJobFlowSteps", documents["emr-ec2-add-job-flow-steps.json"]) == ""
    assert len(serverless(documents)) == 4
    for request in serverless(documents):
        assert validation_errors("emr-serverless", "StartJobRun", request) == ""


@pytest.mark.parametrize(
    ("service", "operation", "document", "break_it"),
    [
        ("emr", "AddJobFlowSteps", "emr-ec2-add-job-flow-steps.json", lambda d: d.pop("JobFlowId")),
        (
            "emr",
            "AddJobFlowSteps",
            "emr-ec2-add-job-flow-steps.json",
            lambda d: d["Steps"][0]["HadoopJarStep"].pop("Jar"),
        ),
        ("emr", "AddJobFlowSteps", "emr-ec2-add-job-flow-steps.json", lambda d: d["Steps"][1].update(Args="a b")),
        ("emr-serverless", "StartJobRun", "emr-serverless-1-features.json", lambda d: d.pop("executionRoleArn")),
        (
            "emr-serverless",
            "StartJobRun",
            "emr-serverless-1-features.json",
            lambda d: d["jobDriver"]["sparkSubmit"].pop("entryPoint"),
        ),
        (
            "emr-serverless",
            "StartJobRun",
            "emr-serverless-2-validate.json",
            lambda d: d["jobDriver"]["sparkSubmit"].update(entryPointArguments="validate --run-date x"),
        ),
    ],
)
def test_a_broken_request_is_rejected(documents, service, operation, document, break_it):
    broken = copy.deepcopy(documents[document])
    break_it(broken)
    assert validation_errors(service, operation, broken) != ""


def ec2_commands(documents) -> list[list[str]]:
    commands = []
    for step in documents["emr-ec2-add-job-flow-steps.json"]["Steps"]:
        args = step["HadoopJarStep"]["Args"]
        commands.append(args[args.index(f"{ARTIFACTS}/run_job.py") + 1 :])
    return commands


def test_steps_run_the_daily_pipeline_in_order_and_stop_on_failure(documents):
    request = documents["emr-ec2-add-job-flow-steps.json"]
    assert ec2_commands(documents) == EXPECTED_COMMANDS
    for step in request["Steps"]:
        assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
        assert step["HadoopJarStep"]["Args"][0] == "spark-submit"
        assert step["ActionOnFailure"] == "CANCEL_AND_WAIT"  # a later command must not run on a failed one's output
    assert [r["jobDriver"]["sparkSubmit"]["entryPointArguments"] for r in serverless(documents)] == EXPECTED_COMMANDS


def test_every_command_is_one_our_cli_accepts(documents):
    commands = ec2_commands(documents) + [
        r["jobDriver"]["sparkSubmit"]["entryPointArguments"] for r in serverless(documents)
    ]
    for argv in commands:
        parse_with_our_cli(argv)
    with pytest.raises(BadCommandLine):  # the check itself can fail
        parse_with_our_cli(["features", "--env", "emr", "--run-day", RUN_DATE])


def test_everything_travels_in_the_artifact(documents):
    jars = ",".join(f"{ARTIFACTS}/{name}" for name in ARTIFACT_JARS)
    for step in documents["emr-ec2-add-job-flow-steps.json"]["Steps"]:
        args = step["HadoopJarStep"]["Args"]
        options = dict(zip(args[1:-1:2], args[2::2], strict=False))
        assert options["--deploy-mode"] == "cluster"
        assert options["--archives"] == f"{ARTIFACTS}/environment.tar.gz#environment"
        assert options["--jars"] == jars
        confs = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args[args.index("--conf") :] if "=" in a}
        assert confs["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
        assert confs["spark.executorEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    for request in serverless(documents):
        submit = request["jobDriver"]["sparkSubmit"]
        assert submit["entryPoint"] == f"{ARTIFACTS}/run_job.py"
        words = shlex.split(submit["sparkSubmitParameters"])
        assert words[words.index("--archives") + 1] == f"{ARTIFACTS}/environment.tar.gz#environment"
        assert words[words.index("--jars") + 1] == jars
        confs = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--conf")
        for key in (
            "spark.pyspark.python",
            "spark.emr-serverless.driverEnv.PYSPARK_PYTHON",
            "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON",
            "spark.executorEnv.PYSPARK_PYTHON",
        ):
            assert confs[key] == "./environment/bin/python", key


def test_cli_steps_are_the_same_steps(documents):
    api = documents["emr-ec2-add-job-flow-steps.json"]["Steps"]
    cli = documents["emr-ec2-cli-steps.json"]
    assert [(s["Type"], s["Name"], s["ActionOnFailure"], s["Jar"], s["Args"]) for s in cli] == [
        ("CUSTOM_JAR", s["Name"], s["ActionOnFailure"], s["HadoopJarStep"]["Jar"], s["HadoopJarStep"]["Args"])
        for s in api
    ]


def test_committed_examples_are_what_the_command_writes(tmp_path):
    code = jobs_main(["deploy", "emr", "--run-date", RUN_DATE, "--output", str(tmp_path)])
    assert code == 0
    committed = ROOT / "deploy" / "emr" / RUN_DATE
    assert sorted(p.name for p in committed.glob("*.json")) == sorted(p.name for p in tmp_path.glob("*.json"))
    for path in tmp_path.glob("*.json"):
        assert json.loads((committed / path.name).read_text()) == json.loads(path.read_text()), path.name


def test_emr_configuration_sets_delta_log_store_and_the_session_gets_it():
    config = load_config(env="emr")
    settings = session_settings(config.spark)
    assert set(settings) >= DELTA_LOG_STORE_KEYS
    assert settings["spark.delta.logStore.s3.impl"] == DELTA_LOG_STORE
    assert settings["spark.delta.logStore.s3a.impl"] == DELTA_LOG_STORE
    assert settings["spark.io.delta.storage.S3DynamoDBLogStore.ddb.region"] == config.online_store.region
    check_exclusive_commits(config)


@pytest.mark.parametrize("missing", sorted(DELTA_LOG_STORE_KEYS))
def test_s3_tables_without_the_log_store_are_refused(missing):
    config = load_config(env="emr")
    conf = {k: v for k, v in config.spark.conf.items() if k != missing}
    broken = dataclasses.replace(config, spark=dataclasses.replace(config.spark, conf=conf))
    with pytest.raises(ConfigError, match=missing.replace(".", r"\.")):
        check_exclusive_commits(broken)


def test_local_tables_need_no_log_store():
    check_exclusive_commits(load_config(env="local"))


def test_deploy_exits_2_naming_the_missing_log_store_setting(tmp_path, capsys):
    raw = yaml.safe_load((ROOT / "conf" / "emr.yaml").read_text())
    del raw["spark"]["conf"]["spark.delta.logStore.s3.impl"]
    config_file = tmp_path / "emr-without-log-store.yaml"
    config_file.write_text(yaml.safe_dump(raw))
    code, docs = generate(tmp_path / "out", "--config", str(config_file))
    assert code == EXIT_BAD_INPUT
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "spark.delta.logStore.s3.impl" in line["error"]
    assert docs == {}


def test_shipped_log_store_jar_is_the_one_the_pom_resolves():
    pom = ET.parse(ROOT / "deploy" / "emr" / "pom.xml").getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    dependency = pom.find("m:dependencies/m:dependency", ns)
    version = pom.find("m:properties/m:delta.version", ns).text
    artifact = dependency.find("m:artifactId", ns).text
    assert (dependency.find("m:groupId", ns).text, artifact, version) == (
        "io.delta",
        "delta-storage-s3-dynamodb",
        "4.0.1",
    )
    assert f"emr-jars/{artifact}-{version}.jar" in ARTIFACT_JARS
    # EMR provides the AWS SDK and Hadoop on its classpath; a second copy must not ship.
    excluded = {e.find("m:groupId", ns).text for e in dependency.findall("m:exclusions/m:exclusion", ns)}
    assert {"com.amazonaws", "software.amazon.awssdk", "org.apache.hadoop"} <= excluded
