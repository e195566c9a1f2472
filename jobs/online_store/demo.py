"""For `make demo`: run the guide's inference.py against the online store.

`run_inference_script(config, url)` runs feature_defs/examples/inference.py from the folder above the
Feast repo, with FRAUD_DYNAMODB_ENDPOINT pointing at the online store at `url` (and the loopback
server's placeholder credentials), and returns what it printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from jobs.aws_credentials import client_environment
from jobs.config import Config
from jobs.errors import InfrastructureError

INFERENCE_SCRIPT = Path("examples") / "inference.py"


def run_inference_script(config: Config, url: str | None, *, timeout_s: float = 300) -> str:
    """Run the guide's inference.py (repo_path="feature_defs") from the folder above the Feast repo."""
    repo = Path(config.feast.repo_path)
    completed = subprocess.run(
        [sys.executable, str(repo / INFERENCE_SCRIPT)],
        cwd=repo.parent,
        env=client_environment(url),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        raise InfrastructureError(f"{INFERENCE_SCRIPT} failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return completed.stdout
