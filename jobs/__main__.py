"""`python -m jobs COMMAND [options]`: the one entry point for every job (also used by spark-submit.sh)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from jobs.cli import EXIT_CODES_HELP, classify, report_failure
from jobs.errors import EXIT_BAD_INPUT

# Command name -> (module with main(argv), one-line summary). Modules are imported only when run.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("jobs.demo", "run the whole pipeline end to end on generated sample data (make demo)"),
    "generate": ("jobs.generate_job", "generate deterministic sample raw data (transactions, chargebacks, labels)"),
    "features": ("jobs.features_job", "compute the user and merchant feature tables for a date range or run date"),
    "validate": ("jobs.validate_job", "run a table's Great Expectations suite on chosen partitions"),
    "apply": ("jobs.apply_job", "feast apply of feature_defs/ into the configured registry, on the configured tables"),
    "training-set": ("jobs.training_set_job", "build a point-in-time correct training set into Delta"),
    "materialize": ("jobs.materialize_job", "write the latest feature values of a window to the online store"),
    "monitor": ("jobs.monitor_job", "freshness, drift and training-serving skew checks of the feature tables"),
    "materialize-incremental": (
        "jobs.materialize_job",
        "materialize from where the registry says the last run ended",
    ),
    "deploy": ("jobs.deploy.command", "write the EMR request documents (steps, Serverless job runs) for a run date"),
    "check-deployment": (
        "jobs.check_deployment_job",
        "where the driver and each executor import the project from, and whether Delta is on the classpath",
    ),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return (
        "usage: python -m jobs COMMAND [options]   (python -m jobs COMMAND --help for each)\n\ncommands:\n"
        + "\n".join(lines)
        + f"\n\n{EXIT_CODES_HELP}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    if not args:
        print(usage(), file=sys.stderr)
        return report_failure("", EXIT_BAD_INPUT, "bad command line: no command given")
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return report_failure(command, EXIT_BAD_INPUT, f"bad command line: unknown command {command!r}")
    module_name = COMMANDS[command][0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        # The shipped code or its environment lacks a module: a broken deployment, not the data.
        code, message = classify(err)
        return report_failure(command, code, f"cannot import {module_name}: {message}")
    return int(module.main(rest, command=command))


def console_main() -> None:
    """The `fraud-jobs` entry point: exits with the command's code (a Databricks python wheel task calls
    the entry point's function and goes by how the process ends, not by a returned value)."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
