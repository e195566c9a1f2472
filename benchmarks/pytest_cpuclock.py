"""A pytest plugin for comparing test runs on a shared machine: at session end it prints the wall time,
the CPU seconds of pytest and every descendant (driver, JVMs, Python workers, subprocesses) and the load.

    PYTHONPATH=$PWD:$PWD/benchmarks .venv/bin/python -m pytest -q -p pytest_cpuclock tests/test_x.py
"""

from __future__ import annotations

import os
import time

import psutil

_STARTED = time.time()


def _tree_cpu_seconds() -> float:
    total = 0.0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            cpu = process.cpu_times()
        except psutil.Error:
            continue
        total += cpu.user + cpu.system + cpu.children_user + cpu.children_system
    return total


def pytest_sessionfinish(session, exitstatus):
    print(
        f"\n[cpuclock] wall {time.time() - _STARTED:.1f} s, tree CPU {_tree_cpu_seconds():.1f} s, "
        f"load {os.getloadavg()}"
    )
