"""A Spark standalone master and worker on 127.0.0.1, and `spark-submit.sh` run against them from a
clean environment (no PYTHONPATH; neither the checkout nor .venv on PATH), as a user outside the
checkout would. Used by tests/test_local_cluster.py and benchmarks/bench_deploy.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pyspark

from jobs.online_store.embedded import LOOPBACK, free_port, stop

REPO = Path(__file__).resolve().parent.parent
VENV = (REPO / ".venv").resolve()
SPARK_HOME = Path(pyspark.__file__).resolve().parent  # the pinned Spark: launcher scripts and jars


@dataclasses.dataclass
class Cluster:
    url: str
    work_dir: Path
    folder: Path  # the submitting user's folder: the working directory of every submission
    env: dict[str, str]
    driver_memory: str = "1g"
    executor_memory: str = "1g"
    java_options: str = ""  # for every JVM of a submission: its driver and its executors

    def submit_options(self) -> str:
        options = (
            f"--master {self.url} --driver-memory {self.driver_memory} --executor-memory {self.executor_memory} "
            f"--conf spark.ui.enabled=false --conf spark.driver.host={LOOPBACK} "
            f"--conf spark.driver.bindAddress={LOOPBACK}"
        )
        if self.java_options:
            options += f" --driver-java-options {self.java_options}"
            options += f" --conf spark.executor.extraJavaOptions={self.java_options}"
        return options

    def submit(self, *args: str, timeout_s: float = 900) -> dict:
        """`spark-submit.sh ARGS` by absolute path from `folder`; returns the command's JSON line."""
        done = subprocess.run(
            [str(REPO / "spark-submit.sh"), *args],
            cwd=self.folder,
            env={**self.env, "SPARK_SUBMIT_OPTS_EXTRA": self.submit_options()},
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise AssertionError(f"{args[0]} exited {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}")
        return dict(json.loads(lines[-1]))


def inside_project(path: Path) -> bool:
    resolved = path.resolve()
    return any(p.is_relative_to(REPO) or p.is_relative_to(VENV) for p in (path, resolved))


def clean_env() -> dict[str, str]:
    """No PYTHONPATH, no .venv or checkout on PATH: only the system, Java and a Spark installation."""
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p and not inside_project(Path(p))]
    env = {"PATH": os.pathsep.join(path), "HOME": str(Path.home()), "SPARK_HOME": str(SPARK_HOME)}
    env |= {"SPARK_LOCAL_IP": LOOPBACK, "SPARK_DAEMON_MEMORY": "512m", "LANG": "C.UTF-8"}
    env["FRAUD_ENV_CACHE"] = os.environ.get("FRAUD_ENV_CACHE", str(Path.home() / ".cache" / "fraud-feature-jobs"))
    for name in ("JAVA_HOME", "JAVA_TOOL_OPTIONS"):  # the JVM the caller chose, and its options
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@contextlib.contextmanager
def standalone_cluster(
    base: Path, *, cores: int = 2, worker_memory: str = "2g", java_options: str = ""
) -> Iterator[Cluster]:
    """Master and worker processes for the duration of the block, always stopped at its end.
    `java_options` (one option, no spaces) go to the master, the worker and every submission's JVMs."""
    folder, work_dir = base / "user", base / "work"
    folder.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    env = clean_env()
    if java_options:
        env["SPARK_DAEMON_JAVA_OPTS"] = java_options
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port = free_port()
    url = f"spark://{LOOPBACK}:{port}"
    processes: list[subprocess.Popen] = []
    try:
        master_log = base / "master.log"
        processes.append(
            _start(
                [spark_class, "org.apache.spark.deploy.master.Master", "--host", LOOPBACK, "--port", str(port)]
                + ["--webui-port", str(free_port())],
                master_log,
                env,
            )
        )
        _wait_for(master_log, "Starting Spark master", processes[0])
        worker_log = base / "worker.log"
        processes.append(
            _start(
                [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", LOOPBACK, "--cores", str(cores)]
                + ["--memory", worker_memory, "--work-dir", str(work_dir), "--webui-port", str(free_port())],
                worker_log,
                env,
            )
        )
        _wait_for(worker_log, "Successfully registered with master", processes[1])
        yield Cluster(url=url, work_dir=work_dir, folder=folder, env=env, java_options=java_options)
    finally:
        for process in reversed(processes):
            stop(process, timeout_s=30)


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)


def _wait_for(log: Path, text: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        if process.poll() is not None:
            raise AssertionError(f"{log.name}: the process exited:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in {log} after {timeout_s:.0f}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
