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
from typing import Any

from jobs.config import Config, load_config
from jobs.errors import EXIT_BAD_INPUT, EXIT_INFRASTRUCTURE, EXIT_INTERNAL, EXIT_OK, BadInputError, JobError

log = logging.getLogger("jobs")

EXIT_CODES_HELP = (
    "exit codes: 0 success, 1 data-quality failure (nothing published), 2 bad input or configuration, "
    "3 infrastructure failure worth retrying, 4 unexpected internal error"
)


def command_parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m jobs {command}",
        description=description,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--env", help="environment whose conf/<env>.yaml to load (default: local)")
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
        raise argparse.ArgumentTypeError(f"not a timestamp (YYYY-MM-DDTHH:MM:SS): {text!r}") from err
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
    except SystemExit as exit_:
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
        code = _classify(err)
        result.update(status="failed", exit_code=code, error=f"{type(err).__name__}: {err}")
        log.exception("%s failed", command)
    result["duration_s"] = round(time.monotonic() - started, 3)
    print(json.dumps(result, default=str, sort_keys=True), flush=True)
    return code


def _session(config: Config) -> Any:
    from jobs.session import build_session

    return build_session(config.spark)


def _classify(err: Exception) -> int:
    """Spark analysis errors mean bad input (missing table or column); other JVM errors are retryable."""
    name = type(err).__name__
    if isinstance(err, BadInputError) or name in {"AnalysisException", "ParseException"}:
        return EXIT_BAD_INPUT
    if name in {"Py4JJavaError", "Py4JNetworkError", "SparkException", "ConnectionError", "OSError"}:
        return EXIT_INFRASTRUCTURE
    return EXIT_INTERNAL


def exit_with(code: int) -> None:
    sys.exit(code)
