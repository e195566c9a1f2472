"""Failures a job reports, each with the documented exit code a scheduler can act on.

| code | meaning | scheduler action |
| --- | --- | --- |
| 0 | success | none |
| 1 | data-quality failure: a suite failed, nothing was published | page the data owner; do not retry |
| 2 | bad input or configuration (arguments, settings, missing or malformed tables) | fix and rerun |
| 3 | infrastructure failure worth retrying (Spark, storage, the online store unreachable) | retry |
| 4 | unexpected internal error (a bug) | report it |
| 5 | input not ready (a landing day missing, empty or not marked complete); nothing written | retry later |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_DATA_QUALITY = 1
EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3
EXIT_INTERNAL = 4
EXIT_NOT_READY = 5

# The codes after which running the same command again can succeed without anyone changing anything.
RETRYABLE_EXIT_CODES = frozenset({EXIT_INFRASTRUCTURE, EXIT_NOT_READY})


class JobError(Exception):
    exit_code = EXIT_INTERNAL


class DataQualityError(JobError):
    exit_code = EXIT_DATA_QUALITY


class BadInputError(JobError):
    exit_code = EXIT_BAD_INPUT


class ConfigError(BadInputError):
    pass


class InfrastructureError(JobError):
    exit_code = EXIT_INFRASTRUCTURE


class NotReadyError(JobError):
    """The input a run needs has not (all) landed yet: retry later; nothing was written."""

    exit_code = EXIT_NOT_READY
