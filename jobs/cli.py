"""What every command shares: configuration options, the JSON result line and exit codes.

A job module defines `build_parser()` and `run(spark, config, args) -> dict` and calls
`run_command(...)` from its `main(argv)`. The result dict becomes the last line printed on stdout;
failures print a JSON line with `status` and `error` and exit with the code from `jobs.errors`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from jobs.config import Config, load_config
from jobs.errors import EXIT_BAD_INPUT, EXIT_INFRASTRUCTURE, EXIT_INTERNAL, EXIT_OK, BadInputError, JobError
from jobs.spark_errors import unreadable_delta_log_file

log = logging.getLogger("jobs")

EXIT_CODES_HELP = (
    "exit codes: 0 success, 1 data-quality failure (nothing published), 2 bad input or configuration "
    "(also a broken deployment), 3 infrastructure failure worth retrying, 4 unexpected internal error, "
    "5 input not ready (retry later; nothing written)"
)


class BadCommandLine(BadInputError):
    pass


class CommandParser(argparse.ArgumentParser):
    """argparse that raises on a bad command line (after printing usage and the error on stderr), so
    the run still ends with its JSON line."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise BadCommandLine(message)


def command_parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=f"python -m jobs {command}",
        description=description,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--env",
        metavar="NAME",
        help="environment whose conf/<env>.yaml to load: local, emr, databricks (default: local)",
    )
    where.add_argument("--config", metavar="FILE", help="explicit configuration file")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="overrides",
        help="override one setting, e.g. --set features.late_arrival_lookback_days=5 (repeatable)",
    )
    return parser


# What date and instant options show in --help.
DATE = "YYYY-MM-DD"
INSTANT = "YYYY-MM-DDTHH:MM:SSZ"
INSTANT_HELP = "ISO-8601 instant with its zone (Z or +HH:MM; none means UTC)"


class _DeprecatedAlias(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, *, replacement: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        log.warning("%s is deprecated, use %s (same value)", option_string, self.replacement)
        setattr(namespace, self.dest, values)


def add_option_with_alias(
    parser: argparse.ArgumentParser, option: str, alias: str, *, dest: str, required: bool = False, **kwargs: Any
) -> None:
    """`option`, plus `alias`: its older spelling, still accepted because deployed schedulers may pass it,
    hidden from --help and logged as deprecated when used."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(option, dest=dest, **kwargs)
    hidden = {k: v for k, v in kwargs.items() if k not in {"help", "metavar"}}
    group.add_argument(alias, dest=dest, action=_DeprecatedAlias, replacement=option, help=argparse.SUPPRESS, **hidden)


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from err


def parse_timestamp(text: str) -> dt.datetime:
    """An ISO-8601 instant, read as UTC when it carries no offset (as `feast materialize` does)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 instant ({INSTANT}): {text!r}") from err
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


RunFn = Callable[[Any, Config, argparse.Namespace], dict[str, Any]]


def run_command(
    command: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    run: RunFn,
    *,
    needs_spark: bool = True,
    validate_args: Callable[[argparse.Namespace, Config], None] | None = None,
) -> int:
    """Parse, load configuration, build the session, run, and report one JSON line."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    try:
        args = parser.parse_args(argv)
    except BadCommandLine as err:
        return report_failure(command, EXIT_BAD_INPUT, f"bad command line: {err}", started=started)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0) and EXIT_BAD_INPUT
    result: dict[str, Any] = {"command": command}
    try:
        config = load_config(
            env=args.env if args.env or args.config else "local", config_file=args.config, overrides=args.overrides
        )
        if validate_args:
            validate_args(args, config)
        spark = _session(config) if needs_spark else None
        result.update(run(spark, config, args))
        result["status"] = "ok"
        code = EXIT_OK
    except JobError as err:
        code = err.exit_code
        result.update(status="failed", exit_code=code, error=str(err), **getattr(err, "details", {}))
        log.error("%s failed: %s", command, err)
    except Exception as err:  # noqa: BLE001 - every failure must end in a documented exit code
        code, message = classify(err)
        result.update(status="failed", exit_code=code, error=message)
        log.exception("%s failed", command)
    result["duration_s"] = round(time.monotonic() - started, 3)
    print(json.dumps(result, default=str, sort_keys=True), flush=True)
    return code


def report_failure(command: str, code: int, error: str, *, started: float | None = None) -> int:
    """The JSON line of a run that failed before it could start (command line, start-up imports)."""
    result: dict[str, Any] = {"command": command, "status": "failed", "exit_code": code, "error": error}
    if started is not None:
        result["duration_s"] = round(time.monotonic() - started, 3)
    log.error("%s failed: %s", command, error)
    print(json.dumps(result, default=str, sort_keys=True), flush=True)
    return code


def _session(config: Config) -> Any:
    from jobs.session import build_session

    return build_session(config.spark)


def classify(err: BaseException) -> tuple[int, str]:
    """Exit code and message of a failure that is not a JobError, by the error's type and condition.

    Not retryable (2): Spark analysis errors (missing table, column, path), a Delta log file that
    cannot be read (retrying reads the same bytes), a module that does not import (a broken
    deployment). Retryable (3): Delta commit conflicts, the JVM or the network gone, storage I/O,
    other Spark job failures. Anything else is a bug (4).
    """
    text = f"{type(err).__name__}: {err}".split("\n\tat ", 1)[0]
    if isinstance(err, BadInputError):
        return EXIT_BAD_INPUT, str(err)
    if isinstance(err, ImportError):
        return EXIT_BAD_INPUT, f"broken deployment: {text}"
    from delta import exceptions as delta_errors
    from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError
    from pyspark.errors import AnalysisException, PySparkException

    broken = unreadable_delta_log_file(err)
    if broken is not None:
        table, version, path = broken
        return EXIT_BAD_INPUT, (
            f"Delta table {table}: version {int(version)} of its log cannot be read ({path}); the commit is "
            "truncated or corrupt, so retrying cannot help: restore it, or remove it if nothing used that version"
        )
    if isinstance(err, AnalysisException):
        return EXIT_BAD_INPUT, text
    conflicts = (
        delta_errors.DeltaConcurrentModificationException,
        delta_errors.ConcurrentWriteException,
        delta_errors.ConcurrentAppendException,
        delta_errors.ConcurrentDeleteReadException,
        delta_errors.ConcurrentDeleteDeleteException,
        delta_errors.ConcurrentTransactionException,
        delta_errors.MetadataChangedException,
        delta_errors.ProtocolChangedException,
    )
    if isinstance(err, conflicts):
        return EXIT_INFRASTRUCTURE, f"Delta commit conflict, retry: {text}"
    if isinstance(err, Py4JNetworkError | ConnectionError | TimeoutError):
        return EXIT_INFRASTRUCTURE, text
    if isinstance(err, Py4JJavaError):
        return EXIT_INFRASTRUCTURE, f"{_java_class(err.java_exception)}: {_java_message(err.java_exception)}"
    if isinstance(err, PySparkException | Py4JError | OSError):
        return EXIT_INFRASTRUCTURE, text
    return EXIT_INTERNAL, text


def _java_class(java: Any) -> str:
    return str(java.getClass().getName())


def _java_message(java: Any) -> str:
    return str(java.getMessage() or "").split("\n", 1)[0]


def exit_with(code: int) -> None:
    sys.exit(code)
