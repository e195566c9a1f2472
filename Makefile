# Every target that runs code depends on `setup`, which is idempotent and safe to rerun.
SHELL := /bin/bash
VENV := .venv
PY := $(abspath $(VENV)/bin/python)
export SPARK_LOCAL_IP := 127.0.0.1
export PYSPARK_PYTHON := $(PY)
export PYSPARK_DRIVER_PYTHON := $(PY)

.PHONY: setup demo test test-unit dq lint clean

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

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check jobs tests expectations feature_defs benchmarks
	$(VENV)/bin/ruff format --check jobs tests expectations feature_defs benchmarks

clean:
	rm -rf data spark-warehouse metastore_db derby.log
