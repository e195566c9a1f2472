"""The artifact `make package` builds (dist/), for the tests that run the installed package.

`built(target)` runs `make package` (or one of its pieces): a no-op when dist/ is fresh, a rebuild of
the stale pieces otherwise, and a clear failure when the build fails. `make test` has built it already.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "dist"
WHEEL = DIST / "fraud_feature_jobs-0.1.0-py3-none-any.whl"
ARCHIVE = DIST / "environment.tar.gz"
# The setup stamps are `make test`'s business: packaging must not reinstall the development venv.
_KEEP = ["-o", ".venv/.installed", "-o", "jars/.resolved", "-o", "node_modules/.installed"]


def built(target: str = "package") -> Path:
    done = subprocess.run(["make", "-s", *_KEEP, target], cwd=REPO, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise AssertionError(f"`make {target}` failed; run it by hand:\n{(done.stdout + done.stderr)[-3000:]}")
    return DIST


def install_wheel(target: Path) -> Path:
    """The wheel alone (no dependencies: the test's venv has them) in `target`, as pip installs it."""
    built(str(WHEEL.relative_to(REPO)))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            str(WHEEL),
        ],
        check=True,
        timeout=300,
    )
    return target
