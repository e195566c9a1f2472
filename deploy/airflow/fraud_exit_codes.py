"""Which failed runs Airflow may retry: the jobs' exit codes (jobs/errors.py), read back from what the platform reports.

No platform hands a task's exit code to Airflow as a number, so it is read from the text it does report:
- the job's own JSON line (`"exit_code": N`, last line of its stdout): Databricks' run output `logs`,
  the EMR Serverless driver's stdout in the job's S3 log folder;
- EMR on EC2, YARN cluster mode: the step's stderr carries the application's diagnostics,
  `User application exited with status N`;
- EMR Serverless: `jobRun.stateDetails` (`... ExitCode: N ...`);
- Databricks python wheel tasks: the run output's `error` (`SystemExit: N`).
A failure with no exit code in any of them happened outside the job (cluster lost, run cancelled or timed
out, platform error) and is retried like an infrastructure failure.
This module imports nothing from Airflow so the project's tests can compare it with jobs/errors.py.
"""

from __future__ import annotations

import re

EXIT_CODE_MEANINGS = {
    0: "success",
    1: "data-quality failure, nothing published: page the data owner",
    2: "bad input or configuration: fix and rerun",
    3: "infrastructure failure worth retrying",
    4: "unexpected internal error (a bug): report it",
    5: "input not ready: retry later",
}
RETRYABLE_EXIT_CODES = frozenset({3, 5})

_EXIT_CODE_PATTERNS = (
    re.compile(r'"exit_code":\s*(\d+)'),
    re.compile(r"User application exited with status (\d+)"),
    re.compile(r"ExitCode:\s*(\d+)"),
    re.compile(r"SystemExit:\s*(\d+)"),
)


def exit_code_from_text(text: str) -> int | None:
    """The exit code reported last in `text` (the final attempt), or None when none is reported."""
    found = [
        (match.start(), int(match.group(1))) for pattern in _EXIT_CODE_PATTERNS for match in pattern.finditer(text)
    ]
    return max(found)[1] if found else None


def is_retryable(exit_code: int | None) -> bool:
    return exit_code is None or exit_code in RETRYABLE_EXIT_CODES
