"""The embedded DynamoDB: dynalite (npm) on a free loopback port, for the job, the tests and `make demo`.

`embedded_dynamodb()` starts `node_modules/.bin/dynalite --host 127.0.0.1` (in memory), waits until
it answers a DynamoDB call, yields its URL, and always stops it. dynalite enforces DynamoDB's
batch rules (at most 25 items, no duplicate keys in a batch), which keeps the writer honest.
`online_endpoint(config)` is the endpoint of a run: such a server when `online_store.endpoint` is
`embedded`, else the configured one.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from jobs import resources
from jobs.config import Config
from jobs.errors import ConfigError, InfrastructureError
from jobs.online_store.tables import EMBEDDED, dynamodb_client, endpoint_url

# The checkout's npm install; installed from the wheel, the one under the working directory.
DYNALITE = resources.base_dir() / "node_modules" / ".bin" / "dynalite"
LOOPBACK = "127.0.0.1"


@contextlib.contextmanager
def online_endpoint(config: Config) -> Iterator[str | None]:
    """The endpoint URL for this run: a fresh embedded server, or the configured one (None = AWS)."""
    if config.online_store.endpoint == EMBEDDED:
        with embedded_dynamodb() as url:
            yield url
    else:
        yield endpoint_url(config.online_store.endpoint, None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def embedded_dynamodb(*, startup_timeout_s: float = 30.0, executable: Path = DYNALITE) -> Iterator[str]:
    """Run dynalite on a free loopback port for the duration of the block; yields `http://127.0.0.1:PORT`."""
    if not executable.exists():
        raise ConfigError(f"{executable} is missing: run `make setup` (npm install) to install dynalite")
    port = free_port()
    command = [str(executable), "--host", LOOPBACK, "--port", str(port)]
    command += ["--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://{LOOPBACK}:{port}"
    try:
        _wait_until_ready(process, url, startup_timeout_s)
        yield url
    finally:
        stop(process, timeout_s=10)
        if process.stderr:
            process.stderr.close()


def stop(process: subprocess.Popen, *, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, timeout_s: float) -> None:
    client = dynamodb_client(url, region="us-east-1", connect_timeout_s=1, read_timeout_s=2)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise InfrastructureError(f"embedded dynalite exited with code {process.returncode}: {err.strip()}")
        try:
            client.list_tables(Limit=1)
            return
        except Exception as exc:  # noqa: BLE001 - any failure before the deadline means "not ready yet"
            if time.monotonic() > deadline:
                message = f"embedded dynalite at {url} not ready after {timeout_s:.0f}s: {exc}"
                raise InfrastructureError(message) from exc
            time.sleep(0.1)
