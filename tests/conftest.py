"""One SparkSession for the whole test session: local[2], few shuffle partitions, UI off, UTC, Delta."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.config import CONF_DIR, load_config
from jobs.session import session_settings

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]


TEST_SPARK_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.driver.memory": "2g",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    # One test JVM runs thousands of queries, many of them the same shapes again (a job run per test,
    # day after day); Spark's default cache of 100 compiled classes evicts them between runs. It changes
    # no plan or result, only how often the same generated code is compiled (benchmarks/RESULTS.md,
    # "The test JVM keeps its compiled code; short-lived JVMs use the JIT's quick tier").
    "spark.sql.codegen.cache.maxEntries": "10000",
    # PySpark records the Python call site of every Column and DataFrame call in the JVM for error
    # messages' query context: some ten calls into the JVM per Column operation. The tests build
    # expressions by the thousand (Great Expectations' suites, the profiles, every job run); without
    # it a Column operation is one call. It changes no plan or result, only that context (benchmarks/
    # RESULTS.md, "Fewer calls into the JVM: the profiles' expressions, and the tests' call sites").
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}


# A JVM a test starts for one command (a job in a subprocess, `spark-submit.sh`, the standalone cluster's
# master, worker, drivers and executors) runs with the JIT's quick tier only: it compiles less and
# computes the same. This session's own JVM keeps the default tiers: it lives for the whole run, and
# under the quick tier its long tests got slower (benchmarks/RESULTS.md, "The test JVM keeps its
# compiled code; short-lived JVMs use the JIT's quick tier").
SHORT_LIVED_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"

# The class-data-sharing archive `make test` builds (tests/class_archive.py), for every JVM the tests
# start: through the environment, which the session's JVM, the jobs' subprocesses and the standalone
# cluster all inherit. A JVM the archive does not fit (Spark's launcher has another class path) loads
# its classes from the jars as always, without a word: the JVM's warnings about the archive are off,
# and all others go to stderr, never to stdout, where the launcher and the jobs write what is read.
CLASS_ARCHIVE = Path(__file__).resolve().parent.parent / "build" / "spark-classes.jsa"
CLASS_ARCHIVE_OPTIONS = f"-XX:SharedArchiveFile={CLASS_ARCHIVE} -Xlog:disable -Xlog:all=warning,cds*=off:stderr"


def use_class_archive() -> None:
    if CLASS_ARCHIVE.is_file() and "JAVA_TOOL_OPTIONS" not in os.environ:
        os.environ["JAVA_TOOL_OPTIONS"] = CLASS_ARCHIVE_OPTIONS


def write_job_config(root: Path, *, audit_feature_writes: bool = True) -> Path:
    """conf/local.yaml with every table and output under `root` and the test session's Spark settings,
    so a job run from a test (`--config <file>`) reuses the test SparkSession unchanged."""
    raw = yaml.safe_load((CONF_DIR / "local.yaml").read_text())
    raw["spark"]["conf"] = dict(TEST_SPARK_CONF)
    raw["tables"] = {name: str(root / "tables" / name) for name in raw["tables"]}
    raw["feast"]["registry"] = str(root / "feast" / "registry.db")
    raw["quality"]["results_path"] = str(root / "quality")
    raw["monitoring"]["profiles_table"] = str(root / "monitoring" / "profiles")
    raw["monitoring"]["checks_table"] = str(root / "monitoring" / "checks")
    raw["monitoring"]["served_log"] = str(root / "monitoring" / "served_features")
    raw["quality"]["audit_feature_writes"] = audit_feature_writes
    path = root / "job_config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def job_config_file(tmp_path) -> Path:
    return write_job_config(tmp_path)


@functools.cache
def local_config():
    """The local configuration, as the jobs load it (tests point tables at tmp paths themselves)."""
    return load_config(env="local")


@pytest.fixture(scope="session")
def config():
    return local_config()


def start_test_session(config) -> SparkSession:
    builder = SparkSession.builder.master("local[2]").appName("tests")
    for key, value in {**session_settings(config.spark), **TEST_SPARK_CONF}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # The session's first Delta write loads and compiles most of what any later one needs (about 9 s on
    # two cores); done here, on the thread below, it costs no test its wait.
    with tempfile.TemporaryDirectory(prefix="delta-warm-up-") as folder:
        session.range(2).withColumn("day", F.current_date()).write.format("delta").partitionBy("day").save(folder)
        session.read.format("delta").load(folder).collect()
    return session


# Collection (importing Feast, Great Expectations, pyspark and the test modules) keeps one core busy
# for about 13 s. The JVM's start and warm-up run beside it on the other core; the fixture then waits
# for what is left of them. (An xdist controller runs no test, and --collect-only none either.)
session_starting: Future | None = None


def pytest_configure(config: pytest.Config) -> None:
    global session_starting
    use_class_archive()
    runs_tests = not config.option.collectonly and not getattr(config.option, "numprocesses", None)
    if runs_tests or hasattr(config, "workerinput"):
        starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spark-start")
        session_starting = starter.submit(start_test_session, local_config())
        starter.shutdown(wait=False)  # its one thread ends once the session has started


def pytest_sessionfinish() -> None:
    """A session started for tests that were then deselected (`-m`, `-k`) is stopped too."""
    if session_starting is not None:
        with contextlib.suppress(Exception):
            session_starting.result().stop()


@pytest.fixture(scope="session")
def spark(config):
    global session_starting
    starting, session_starting = session_starting, None
    session = starting.result() if starting is not None else start_test_session(config)
    # Active sessions are per thread; the session was built on the start-up thread.
    SparkSession._get_j_spark_session_class(session._jvm).setActiveSession(session._jsparkSession)
    yield session
    session.stop()


# Feast's Spark offline store turns this on in the session it finds (its queries pick columns by
# regular expression), and under it Delta's min/max-from-statistics queries fail with
# [INVALID_USAGE_OF_STAR_OR_REGEX]. A module that lets Feast set it must put it back.
FEAST_REGEX_SETTING = "spark.sql.parser.quotedRegexColumnNames"


def feast_regex_setting(session: SparkSession | None = None) -> str | None:
    session = session or SparkSession.getActiveSession()
    return None if session is None else session.conf.get(FEAST_REGEX_SETTING, None)


@contextlib.contextmanager
def feast_regex_setting_restored() -> Iterator[None]:
    session = SparkSession.getActiveSession()
    before = feast_regex_setting(session)
    try:
        yield
    finally:
        session = session or SparkSession.getActiveSession()  # the block may have started it
        if session is not None and before is None:
            session.conf.unset(FEAST_REGEX_SETTING)
        elif session is not None:
            session.conf.set(FEAST_REGEX_SETTING, before)


@pytest.fixture(autouse=True, scope="module")
def feast_regex_setting_unchanged() -> Iterator[None]:
    """Every module leaves the setting as it found it, so no module depends on which ran before it
    (or on which pytest worker)."""
    before = feast_regex_setting()
    yield
    after = feast_regex_setting()
    assert after == before, f"{FEAST_REGEX_SETTING} left at {after!r} (was {before!r}): restore it"
