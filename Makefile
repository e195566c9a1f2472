# Every target that runs code depends on `setup`, which is idempotent and safe to rerun.
SHELL := /bin/bash
VENV := .venv
PY := $(abspath $(VENV)/bin/python)
CLASS_ARCHIVE := build/spark-classes.jsa
export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(PY)
export PYSPARK_DRIVER_PYTHON := $(PY)

.PHONY: setup demo test test-unit class-archive test-integration dq browser lint clean airflow-venv emr-jars package feast-suite

setup: $(VENV)/.installed jars/.resolved node_modules/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e ".[dev,spark]"
	touch $@

jars/.resolved: pom.xml
	mvn -q -B dependency:copy-dependencies -DoutputDirectory=jars -DincludeScope=runtime
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

demo: setup
	$(PY) -m jobs demo

# Two pytest workers (pytest-xdist), each its own session, whole test files per worker so a module's
# fixtures are built once: the integration tests wait on subprocesses and servers, which the other
# worker's tests fill (benchmarks/RESULTS.md). The unit tests alone keep both cores busy, so one process.
XDIST := -n 2 --dist loadfile
test: setup browser airflow-venv package $(CLASS_ARCHIVE)
	$(PY) -m pytest -q $(XDIST) --durations=15
	$(MAKE) dq

# The unit tests alone (pure transformations on tiny DataFrames in the one local SparkSession, parsers,
# config): no server, subprocess, job run or packaged artifact, so nothing to build first but the class archive.
test-unit: setup $(CLASS_ARCHIVE)
	$(PY) -m pytest -q -m "not integration" --durations=10

# The tests marked `integration` (jobs end to end, dynalite, Spark standalone, Chromium, subprocesses).
test-integration: setup browser airflow-venv package $(CLASS_ARCHIVE)
	$(PY) -m pytest -q -m integration $(XDIST) --durations=15

# The class-data-sharing archive every JVM of the tests starts from (tests/class_archive.py, about 45 s
# to build; tests/conftest.py's CLASS_ARCHIVE, the same path, hands it on): rebuilt when Spark, Delta or
# the workload that fills it changes.
class-archive: $(CLASS_ARCHIVE)
$(CLASS_ARCHIVE): requirements.lock pom.xml tests/class_archive.py | $(VENV)/.installed jars/.resolved
	$(PY) tests/class_archive.py $@

# Headless Chromium for the Data Docs browser test (Debian's package); installs only when missing.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# CI data-quality check (issue #4): sample data -> feature job (write-audit-publish) -> every table's
# suite -> feast apply -> a training set (audited by its suite) -> its suite again; any failed
# expectation fails the target. Runs in its own folder so it never touches data/.
DQ_DIR := data/dq
DQ_SET := --set tables.raw_transactions=$(DQ_DIR)/raw/transactions --set tables.raw_chargebacks=$(DQ_DIR)/raw/chargebacks \
	--set tables.labels=$(DQ_DIR)/raw/labels --set tables.quarantine=$(DQ_DIR)/quarantine \
	--set tables.user_features=$(DQ_DIR)/features/user_transaction_features \
	--set tables.merchant_features=$(DQ_DIR)/features/merchant_risk_features \
	--set tables.staging=$(DQ_DIR)/staging --set quality.results_path=$(DQ_DIR)/quality \
	--set tables.training_sets=$(DQ_DIR)/training_sets --set feast.registry=$(DQ_DIR)/feast/registry.db \
	--set monitoring.profiles_table=$(DQ_DIR)/monitoring/profiles --set monitoring.checks_table=$(DQ_DIR)/monitoring/checks
DQ_DAYS := --start 2026-02-01 --end 2026-02-09
dq: setup
	rm -rf $(DQ_DIR)
	$(PY) -m jobs generate $(DQ_SET) --users 300 --merchants 30 --days 40 --transactions 20000 --bad-rows 2 \
		--start-date 2026-01-01
	$(PY) -m jobs features $(DQ_SET) $(DQ_DAYS)
	$(PY) -m jobs validate $(DQ_SET) $(DQ_DAYS) \
		--tables raw_transactions,raw_chargebacks,user_transaction_features,merchant_risk_features
	$(PY) -m jobs apply $(DQ_SET)
	$(PY) -m jobs training-set $(DQ_SET) --entities $(DQ_DIR)/raw/labels --feature-service fraud_detection_v2 \
		--output $(DQ_DIR)/training_sets/fraud_detection_v2
	$(PY) -m jobs validate $(DQ_SET) --tables training_sets --path $(DQ_DIR)/training_sets/fraud_detection_v2 \
		--entities $(DQ_DIR)/raw/labels
	@echo "data quality: every table passed; Data Docs: $(abspath $(DQ_DIR))/quality/data_docs/index.html"

lint: setup
	$(VENV)/bin/ruff check jobs tests expectations feature_defs benchmarks
	$(VENV)/bin/ruff format --check jobs tests expectations feature_defs benchmarks
	$(VENV)/bin/mypy jobs

# The artifact spark-submit.sh submits (issue #12), in dist/: the wheel (jobs, expectations, conf/ and
# feature_defs/ as package data), its pinned runtime requirements, the venv-pack archive of a fresh
# venv with both (without pyspark, which the platform's Spark provides: PACK_PYSPARK=1 keeps it), the
# spark-submit main file and the Delta jars. Each piece is rebuilt only when its inputs changed.
# venv-pack links the archive's python to this machine's interpreter: build where Python lives at the
# cluster's path, or give it with PACK_PYTHON_PREFIX (venv-pack --python-prefix, e.g. /usr).
WHEEL := dist/fraud_feature_jobs-0.1.0-py3-none-any.whl
DOCS_VENDOR := jobs/quality/vendor
PACK_VENV := build/pack-venv
PACK_PYTHON ?= python3.11
PACK_PYSPARK ?= 0
PACK_PYTHON_PREFIX ?=
PKG_SOURCES := pyproject.toml $(shell find jobs expectations conf feature_defs -type f ! -path '*/__pycache__/*' ! -name '*.pyc')
SITE := lib/python3.11/site-packages
# Test suites of the dependencies (~110 MB unpacked) never run on a node.
PACK_EXCLUDES := --exclude '$(SITE)/*/tests/*' \
	$(if $(filter 1,$(PACK_PYSPARK)),,--exclude '$(SITE)/pyspark/*' --exclude '$(SITE)/pyspark-*.dist-info/*')

package: $(WHEEL) dist/requirements.txt dist/requirements-databricks.txt dist/environment.tar.gz dist/run_job.py \
	dist/jars/.copied

$(WHEEL): $(PKG_SOURCES) $(DOCS_VENDOR)/.copied | $(VENV)/.installed
	mkdir -p dist
	rm -f dist/*.whl
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .

# A fresh venv whenever the lock changes; a new wheel only replaces the project in it (and installs
# a dependency the wheel gained, pinned by the lock).
$(PACK_VENV)/.created: requirements.lock
	rm -rf $(PACK_VENV)
	$(PACK_PYTHON) -m venv $(PACK_VENV)
	touch $@

$(PACK_VENV)/.installed: $(PACK_VENV)/.created $(WHEEL)
	$(PACK_VENV)/bin/python -m pip install -q -c requirements.lock "$(abspath $(WHEEL))[spark]"
	$(PACK_VENV)/bin/python -m pip install -q --no-deps --force-reinstall $(WHEEL)
	touch $@

# Databricks provides Spark and Delta: its libraries leave them out (installing pyspark there shadows the runtime's).
dist/requirements-databricks.txt: dist/requirements.txt
	grep -v -i -E '^(pyspark|py4j|delta-spark)==' $< > $@

# The pinned copies of the assets GE's Data Docs load from CDNs (jobs/quality/docs_assets.py) travel in
# the wheel as package data (pyproject: artifacts), copied from node_modules.
$(DOCS_VENDOR)/.copied: node_modules/.installed jobs/quality/docs_assets.py
	rm -rf $(DOCS_VENDOR)
	$(PY) -c "from pathlib import Path; from jobs.quality.docs_assets import copy_assets; copy_assets(Path('node_modules'), Path('$(DOCS_VENDOR)'))"
	touch $@

dist/requirements.txt: $(PACK_VENV)/.installed
	{ echo "# Runtime requirements of $(notdir $(WHEEL)), pinned by requirements.lock (make package)."; \
	  $(PACK_VENV)/bin/python -m pip freeze --exclude fraud-feature-jobs --exclude pip --exclude setuptools; } > $@

dist/environment.tar.gz: $(PACK_VENV)/.installed
	@start=$$(date +%s); \
	$(VENV)/bin/venv-pack -q -p $(PACK_VENV) -o dist/environment.partial.tar.gz --force $(PACK_EXCLUDES) \
		$(if $(PACK_PYTHON_PREFIX),--python-prefix $(PACK_PYTHON_PREFIX)) && \
	chmod 644 dist/environment.partial.tar.gz && mv dist/environment.partial.tar.gz $@ && \
	echo "packed $@: $$(du -h $@ | cut -f1) in $$(( $$(date +%s) - start )) s (PACK_PYSPARK=$(PACK_PYSPARK))"

dist/run_job.py: Makefile
	mkdir -p dist
	printf '%s\n' '"""spark-submit'"'"'s main file: `python -m jobs` of the installed package (environment.tar.gz)."""' \
		'import sys' '' 'from jobs.__main__ import main' '' 'sys.exit(main())' > $@

dist/jars/.copied: jars/.resolved
	rm -rf dist/jars
	mkdir -p dist/jars
	cp jars/*.jar dist/jars/
	touch $@

clean:
	rm -rf data spark-warehouse metastore_db derby.log build dist

# Airflow in its own venv (its pins conflict with Feast's), exactly pinned; tests/test_airflow_dag.py parses
# deploy/airflow/ with it. 1.5 to 4 minutes from PyPI (measured on this 2-core machine).
AIRFLOW_VENV := .venv-airflow
airflow-venv: $(AIRFLOW_VENV)/.installed
$(AIRFLOW_VENV)/.installed: deploy/airflow/requirements.txt
	python3.11 -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install -q -r deploy/airflow/requirements.txt
	touch $@

# Delta's S3DynamoDBLogStore for EMR (deploy/emr/pom.xml) into dist/emr-jars, shipped by the EMR requests
# with --jars; fails unless the resolved jar holds the log store class conf/emr.yaml names.
emr-jars: dist/emr-jars/.resolved
dist/emr-jars/.resolved: deploy/emr/pom.xml
	mvn -q -B -f deploy/emr/pom.xml dependency:copy-dependencies -DoutputDirectory=$(abspath dist/emr-jars) -DincludeScope=runtime
	unzip -l dist/emr-jars/delta-storage-s3-dynamodb-*.jar | grep -q 'io/delta/storage/S3DynamoDBLogStore.class'
	touch $@

# Feast's own historical-retrieval suite (issue #13) against our offline store and Feast's stock Spark store,
# same fixtures; fails when a case passing on the stock store does not pass on ours. Not part of `test`: it
# needs Feast's test files from Feast's git repository (FEAST_GIT, default GitHub; FEAST_REF, default the
# installed version's tag), which PyPI's sdist does not ship. Test-only packages go into an overlay venv
# (build/feast-suite/venv). Four runs (2 stores x 2 fixture sets): 45 minutes on this loaded 2-core machine.
# See README "Feast's historical-retrieval suite".
feast-suite: setup
	tests/feast_universal/run_suite.sh
	$(PY) tests/feast_universal/compare.py build/feast-suite/results/fraud-json.xml build/feast-suite/results/spark-json.xml
	$(PY) tests/feast_universal/compare.py build/feast-suite/results/fraud-feast.xml build/feast-suite/results/spark-feast.xml
