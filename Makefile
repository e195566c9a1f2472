# Every target that runs code depends on `setup`, which is idempotent and safe to rerun.
SHELL := /bin/bash
VENV := .venv
PY := $(abspath $(VENV)/bin/python)
export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(PY)
export PYSPARK_DRIVER_PYTHON := $(PY)

.PHONY: setup demo test test-unit dq browser lint clean airflow-venv emr-jars

setup: $(VENV)/.installed jars/.resolved node_modules/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e ".[dev]"
	touch $@

jars/.resolved: pom.xml
	mvn -q -B dependency:copy-dependencies -DoutputDirectory=jars -DincludeScope=runtime
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

demo: setup
	$(PY) -m jobs demo

test: setup browser airflow-venv
	$(PY) -m pytest -q --durations=15
	$(MAKE) dq

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
		--table raw_transactions,raw_chargebacks,user_transaction_features,merchant_risk_features
	$(PY) -m jobs apply $(DQ_SET)
	$(PY) -m jobs training-set $(DQ_SET) --entities $(DQ_DIR)/raw/labels --feature-service fraud_detection_v2 \
		--output $(DQ_DIR)/training_sets/fraud_detection_v2
	$(PY) -m jobs validate $(DQ_SET) --table training_sets --path $(DQ_DIR)/training_sets/fraud_detection_v2 \
		--entities $(DQ_DIR)/raw/labels
	@echo "data quality: every table passed; Data Docs: $(abspath $(DQ_DIR))/quality/data_docs/index.html"

lint: setup
	$(VENV)/bin/ruff check jobs tests expectations feature_defs benchmarks
	$(VENV)/bin/ruff format --check jobs tests expectations feature_defs benchmarks
	$(VENV)/bin/mypy jobs

clean:
	rm -rf data spark-warehouse metastore_db derby.log

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
