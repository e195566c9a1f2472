"""What a timed block cost in a running Spark session: wall time, shuffle and spill bytes, driver peaks.

    with measured(spark) as cost:
        frame.write.format("noop").mode("overwrite").save()
    print(cost)  # seconds, shuffle_read_bytes, shuffle_write_bytes, spill_memory_bytes, spill_disk_bytes,
                 # driver_heap_peak_bytes, driver_rss_peak_bytes, driver_jvm_rss_peak_bytes

- Shuffle and spill bytes: Spark's monitoring REST API of the running application. The jobs with ids above the
  highest job id before the block are the block's (any thread's: the benchmarks run one query at a time); their
  stages (`/applications/<app id>/stages/<stage id>?details=false`, every attempt, each stage once although a
  skipped stage is listed by several jobs) give `shuffleReadBytes` (remote + local), `shuffleWriteBytes`,
  `memoryBytesSpilled` and `diskBytesSpilled`, summed. The listener bus is drained first, so the status store
  holds every stage's final metrics; a block whose jobs the UI already dropped raises (`UI_SETTINGS` keeps 100,000).
- The REST API needs the UI server, and conf/local.yaml turns it off (`spark.ui.enabled: false`): a benchmark adds
  `UI_SETTINGS` to its session. The status store behind it runs with or without the UI, so the UI adds only its
  Jetty server (bound to SPARK_LOCAL_IP); benchmarks/RESULTS.md has its cost (within a loaded machine's noise).
- Driver heap: the executors endpoint's driver entry does carry `peakMemoryMetrics.JVMHeapMemory` in local mode, but
  as the peak since the application started, updated at heartbeats (10 s), so it cannot give one block's peak. A
  background thread samples the driver JVM's `MemoryMXBean` heap use (what JVMHeapMemory is) every `interval`
  seconds instead. Heap use includes garbage not yet collected, and in local mode the driver JVM is also the
  executor, so this is the whole JVM's heap, tasks included; `driver_jvm_rss_peak_bytes` (the JVM process's
  resident memory, sampled from /proc) adds what lives off the heap.
- Python driver: peak resident memory, `resource.getrusage`'s ru_maxrss when the process's peak grew during the
  block (then it is the block's peak), else the highest sample of /proc/self/statm.
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import SparkSession

UI_SETTINGS = {"spark.ui.enabled": "true", "spark.ui.retainedJobs": "100000", "spark.ui.retainedStages": "100000"}
STAGE_FIELDS = {
    "shuffle_read_bytes": "shuffleReadBytes",
    "shuffle_write_bytes": "shuffleWriteBytes",
    "spill_memory_bytes": "memoryBytesSpilled",
    "spill_disk_bytes": "diskBytesSpilled",
}
PAGE = os.sysconf("SC_PAGE_SIZE")


class StatusApi:
    """The running application's monitoring REST API, on the loopback address and the UI's port."""

    def __init__(self, spark: SparkSession):
        url = spark.sparkContext.uiWebUrl
        if url is None:
            raise RuntimeError("the Spark UI is off (conf/local.yaml spark.ui.enabled=false): add UI_SETTINGS")
        port = url.rsplit(":", 1)[1].rstrip("/")
        self.base = f"http://127.0.0.1:{port}/api/v1/applications/{spark.sparkContext.applicationId}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            return json.load(response)

    def last_job_id(self) -> int:
        return max((job["jobId"] for job in self.get("/jobs")), default=-1)

    def stage_totals(self, after_job_id: int) -> dict[str, int]:
        jobs = [job for job in self.get("/jobs") if job["jobId"] > after_job_id]
        ids = sorted(job["jobId"] for job in jobs)
        if ids and ids != list(range(after_job_id + 1, ids[-1] + 1)):
            raise RuntimeError(f"the UI dropped jobs of the block ({len(ids)} of {ids[-1] - after_job_id} kept)")
        stage_ids = sorted({stage for job in jobs for stage in job["stageIds"]})
        attempts = [a for stage in stage_ids for a in self.get(f"/stages/{stage}?details=false")]
        return {name: sum(a[field] for a in attempts) for name, field in STAGE_FIELDS.items()}


class DriverSampler(threading.Thread):
    """Highest driver JVM heap use, JVM resident memory and Python resident memory seen while running."""

    def __init__(self, spark: SparkSession, interval: float):
        super().__init__(daemon=True)
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self.memory = jvm.java.lang.management.ManagementFactory.getMemoryMXBean()
        self.jvm_statm = f"/proc/{jvm.java.lang.ProcessHandle.current().pid()}/statm"
        self.interval = interval
        self.stopped = threading.Event()
        self.peaks = {"driver_heap_peak_bytes": 0, "driver_rss_peak_bytes": 0, "driver_jvm_rss_peak_bytes": 0}

    def sample(self) -> None:
        seen = {
            "driver_heap_peak_bytes": self.memory.getHeapMemoryUsage().getUsed(),
            "driver_rss_peak_bytes": resident_bytes("/proc/self/statm"),
            "driver_jvm_rss_peak_bytes": resident_bytes(self.jvm_statm),
        }
        self.peaks = {name: max(value, seen[name]) for name, value in self.peaks.items()}

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.sample()

    def finish(self) -> dict[str, int]:
        self.stopped.set()
        self.join()
        self.sample()
        return self.peaks


def resident_bytes(statm: str) -> int:
    with open(statm) as f:
        return int(f.read().split()[1]) * PAGE


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


@contextmanager
def measured(spark: SparkSession, *, interval: float = 0.2) -> Iterator[dict[str, Any]]:
    """Yields a dict that holds the block's numbers once the block has finished (nothing if it raised)."""
    api = StatusApi(spark)
    jvm = spark.sparkContext._jsc.sc()  # type: ignore[union-attr]
    jvm.listenerBus().waitUntilEmpty()
    after_job_id = api.last_job_id()
    rss_before = peak_rss_bytes()
    sampler = DriverSampler(spark, interval)
    sampler.sample()
    sampler.start()
    cost: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        yield cost
    finally:
        seconds = time.perf_counter() - started
        peaks = sampler.finish()
    if peak_rss_bytes() > rss_before:
        peaks["driver_rss_peak_bytes"] = peak_rss_bytes()
    jvm.listenerBus().waitUntilEmpty()
    cost.update(seconds=seconds, **api.stage_totals(after_job_id), **peaks)
