"""`python -m jobs COMMAND [options]`: the one entry point for every job (also used by spark-submit.sh)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from jobs.cli import EXIT_CODES_HELP
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
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0 if args else EXIT_BAD_INPUT
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest, command=command))


if __name__ == "__main__":
    sys.exit(main())
