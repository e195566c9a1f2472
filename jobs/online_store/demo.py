"""For `make demo`: materialize into the online store and run the guide's inference.py against it.

`materialize_and_serve(spark, config, start=..., end=...)` starts the embedded dynalite when
`online_store.endpoint` is `embedded` (otherwise uses the configured endpoint), applies the Feast
repo (registers the views, creates the tables), materializes every online view, then runs
feature_defs/examples/inference.py from the repository root with FRAUD_DYNAMODB_ENDPOINT pointing
at the server, and returns the job's result and the script's printed output. The server is stopped
before it returns.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from jobs.config import Config
from jobs.errors import InfrastructureError
from jobs.online_store.embedded import EMBEDDED_CREDENTIALS
from jobs.online_store.registry import apply_repo
from jobs.online_store.tables import is_loopback

INFERENCE_SCRIPT = Path("examples") / "inference.py"


def feast_environment(url: str | None) -> dict[str, str]:
    """Environment for a Feast client process reading the online store at `url`."""
    env = dict(os.environ)
    if url:
        env["FRAUD_DYNAMODB_ENDPOINT"] = url
    if is_loopback(url):
        env["AWS_ACCESS_KEY_ID"] = EMBEDDED_CREDENTIALS["aws_access_key_id"]
        env["AWS_SECRET_ACCESS_KEY"] = EMBEDDED_CREDENTIALS["aws_secret_access_key"]
    return env


def run_inference_script(config: Config, url: str | None, *, timeout_s: float = 300) -> str:
    """Run the guide's inference.py (repo_path="feature_defs") from the folder above the Feast repo."""
    repo = Path(config.feast.repo_path)
    completed = subprocess.run(
        [sys.executable, str(repo / INFERENCE_SCRIPT)],
        cwd=repo.parent,
        env=feast_environment(url),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        raise InfrastructureError(f"{INFERENCE_SCRIPT} failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return completed.stdout


def materialize_and_serve(spark: Any, config: Config, *, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    from jobs.materialize_job import materialize, online_endpoint

    with online_endpoint(config) as url:
        apply_repo(config, url)
        result = materialize(spark, config, url, start=start, end=end)
        output = run_inference_script(config, url)
    print(output, end="", flush=True)
    return {"materialize": result, "inference_output": output}
