"""Where conf/ and the Feast repo come from: the checkout here, the wheel's packaged copy once installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from package_support import REPO, install_wheel

from jobs import resources

INSTALLED_PROBE = """
import json
from importlib.metadata import entry_points
from jobs import resources
from jobs.config import load_config
config = load_config(env="local")
print(json.dumps({
    "checkout": str(resources.checkout_root()), "conf_dir": str(resources.conf_dir()),
    "raw_transactions": config.tables.raw_transactions, "repo_path": config.feast.repo_path,
    "jars_dir": config.spark.jars_dir,
    "script": [e.value for e in entry_points(group="console_scripts") if e.name == "fraud-jobs"],
}))
"""


def test_a_checkout_reads_its_own_folders():
    assert resources.checkout_root() == REPO
    assert resources.conf_dir() == REPO / "conf"
    assert resources.feature_repo() == REPO / "feature_defs"
    assert resources.base_dir() == REPO


@pytest.mark.integration
def test_the_installed_wheel_reads_its_packaged_copy_and_the_working_directory(tmp_path):
    site = install_wheel(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", INSTALLED_PROBE], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    packaged = site / "jobs" / "_data"
    assert got["checkout"] == "None"
    assert got["conf_dir"] == str(packaged / "conf")
    assert got["raw_transactions"] == str(work / "data" / "raw" / "transactions")
    assert got["jars_dir"] == str(work / "jars")
    assert got["repo_path"] == str(packaged / "feature_defs")
    assert got["script"] == ["jobs.__main__:console_main"]
    for folder in ("conf", "feature_defs"):
        ours = _files(REPO / folder)
        assert ours and _files(packaged / folder) == ours, folder


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
