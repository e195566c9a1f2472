"""A pytest plugin for comparing test runs on a shared machine: at session end it prints the wall time,
the CPU seconds of pytest and every descendant (driver, JVMs, Python workers, subprocesses) and the load,
then the wall and CPU seconds per test file (setup, call and teardown of its tests; a session fixture's
cost lands on the first file that asks for it), most CPU first. The tree's CPU is read just before the
last test's teardown: stopping the session's JVM takes its CPU seconds out of the process tree.

    PYTHONPATH=$PWD:$PWD/benchmarks .venv/bin/python -m pytest -q -p pytest_cpuclock tests/test_x.py
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

import psutil
import pytest

_STARTED = time.time()
_PER_FILE: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
_BEFORE_LAST_TEARDOWN: dict[str, float] = {}


def _tree_cpu_seconds() -> float:
    total = 0.0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            cpu = process.cpu_times()
        except psutil.Error:
            continue
        total += cpu.user + cpu.system + cpu.children_user + cpu.children_system
    return total


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    wall, cpu = time.time(), _tree_cpu_seconds()
    yield
    totals = _PER_FILE[item.location[0]]
    totals[0] += time.time() - wall
    totals[1] += _BEFORE_LAST_TEARDOWN.get("cpu", _tree_cpu_seconds()) - cpu
    totals[2] += 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    if nextitem is None:
        _BEFORE_LAST_TEARDOWN["cpu"] = _tree_cpu_seconds()
    yield


def pytest_sessionfinish(session, exitstatus):
    cpu = _BEFORE_LAST_TEARDOWN.get("cpu", _tree_cpu_seconds())
    print(f"\n[cpuclock] wall {time.time() - _STARTED:.1f} s, tree CPU {cpu:.1f} s, load {os.getloadavg()}")
    for path, (wall, cpu, tests) in sorted(_PER_FILE.items(), key=lambda kv: -kv[1][1]):
        print(f"[cpuclock] {cpu:7.1f} s CPU {wall:7.1f} s wall {tests:4d} tests  {path}")
