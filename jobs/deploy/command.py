"""`python -m jobs deploy emr --run-date D`: write the EMR request documents for one day's pipeline.

Writes, under --output (default dist/emr/<run date>):
  emr-ec2-add-job-flow-steps.json   AddJobFlowSteps request (boto3 emr.add_job_flow_steps(**request))
  emr-ec2-cli-steps.json            the same steps for `aws emr add-steps --cluster-id J --steps file://...`
  emr-serverless-N-<step>.json      one StartJobRun request per command, run in order
                                    (`aws emr-serverless start-job-run --cli-input-json file://...`)
The run date, cluster and application are in the documents; nothing is submitted. --env defaults to
emr here. Exits 2 when the configuration writes Delta tables on S3 without Delta's S3DynamoDBLogStore.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jobs import cli
from jobs.config import Config
from jobs.deploy.emr import EmrTarget, add_job_flow_steps_request, cli_steps, start_job_run_requests
from jobs.deploy.logstore import check_exclusive_commits
from jobs.errors import BadInputError

COMMAND = "deploy"


def build_parser(command: str = COMMAND) -> argparse.ArgumentParser:
    parser = cli.command_parser(command, __doc__.split(": ", 1)[1])
    parser.add_argument("platform", choices=["emr"], help="the platform to write request documents for")
    parser.add_argument(
        "--run-date", required=True, type=cli.parse_date, metavar=cli.DATE, help="the pipeline's run date"
    )
    parser.add_argument(
        "--artifacts",
        default="s3://fraud-artifacts/fraud-features/0.1.0",
        help="S3 prefix holding a copy of dist/ (environment.tar.gz, run_job.py, jars/, emr-jars/)",
    )
    parser.add_argument("--cluster-id", default="j-FRAUDFEATURES", help="EMR on EC2 cluster (JobFlowId), j-...")
    parser.add_argument("--application-id", default="00fraudfeatures0", help="EMR Serverless application id")
    parser.add_argument(
        "--execution-role-arn",
        default="arn:aws:iam::123456789012:role/fraud-features-emr-serverless",
        help="EMR Serverless job runtime role",
    )
    parser.add_argument(
        "--log-uri", default="s3://fraud-lake/logs/emr-serverless/", help="EMR Serverless driver and executor logs"
    )
    parser.add_argument("--output", help="folder for the documents (default: dist/emr/<run date>)")
    return parser


def validate_args(args: argparse.Namespace, config: Config) -> None:
    if not args.artifacts.startswith("s3://"):
        raise BadInputError(f"--artifacts must be an s3:// prefix every node can read, got {args.artifacts!r}")
    check_exclusive_commits(config)


def run(_spark: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    target = EmrTarget(
        artifacts=args.artifacts,
        cluster_id=args.cluster_id,
        application_id=args.application_id,
        execution_role_arn=args.execution_role_arn,
        log_uri=args.log_uri,
        app_name=config.spark.app_name,
        env=config.env,
    )
    output = Path(args.output or f"dist/emr/{args.run_date.isoformat()}")
    output.mkdir(parents=True, exist_ok=True)
    steps = add_job_flow_steps_request(target, args.run_date)
    documents: dict[str, Any] = {
        "emr-ec2-add-job-flow-steps.json": steps,
        "emr-ec2-cli-steps.json": cli_steps(steps),
    }
    for number, (step, request) in enumerate(start_job_run_requests(target, args.run_date), start=1):
        documents[f"emr-serverless-{number}-{step.name}.json"] = request
    for name, document in documents.items():
        (output / name).write_text(json.dumps(document, indent=2) + "\n")
    return {"run_date": args.run_date.isoformat(), "output": str(output), "files": sorted(documents)}


def main(argv: Sequence[str] | None = None, *, command: str = COMMAND) -> int:
    args = list(argv or [])
    if not {"--env", "--config"} & {arg.split("=", 1)[0] for arg in args}:
        args = ["--env", "emr", *args]  # the EMR documents describe the EMR environment unless told otherwise
    return cli.run_command(command, build_parser(command), args, run, needs_spark=False, validate_args=validate_args)
