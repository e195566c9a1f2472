"""What Spark's and Delta's errors mean for a run, read from their error conditions and parameters."""

from __future__ import annotations

import re
from typing import Any

# A Delta commit file or checkpoint: `<table>/_delta_log/<20-digit version>.json` (or `.checkpoint...`).
_DELTA_LOG_FILE = re.compile(r"^(?P<table>.*)/_delta_log/(?P<version>\d{20})\.(json|checkpoint\b.*)$")


def unreadable_delta_log_file(err: BaseException) -> tuple[str, str, str] | None:
    """(table, version, file) when Spark failed reading a Delta log file ([FAILED_READ_FILE] on
    `_delta_log/<version>.json`: a truncated commit fails JSON parsing, or its checksum)."""
    java = getattr(err, "java_exception", None)
    while java is not None:
        if _java_condition(java).startswith("FAILED_READ_FILE"):
            path = str(dict(java.getMessageParameters()).get("path", ""))
            found = _DELTA_LOG_FILE.match(path)
            if found:
                return found["table"].removeprefix("file://"), found["version"], path
        java = java.getCause()
    return None


def _java_condition(java: Any) -> str:
    try:
        return str(java.getCondition() or "")
    except Exception:  # noqa: BLE001 - a Java throwable that is not a SparkThrowable has no condition
        return ""
