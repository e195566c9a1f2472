#!/usr/bin/env bash
# Feast's own historical-retrieval suite (sdk/python/tests/integration/offline_store/
# test_universal_historical_retrieval.py) against the project's offline store and against Feast's stock
# SparkOfflineStore, with the same fixtures; `make feast-suite` runs it. Feast's test files are read from
# a Feast git repository and never copied into this one; PyPI's sdist of Feast does not ship them.
#
#   FEAST_GIT       a Feast git directory or clone URL (default https://github.com/feast-dev/feast)
#   FEAST_REF       the commit or tag to take the tests from (default v<installed feast version>)
#   STORES          which stores, in this order (default "fraud spark")
#   FIXTURES        feast (Feast's Spark creator unchanged) and/or json (dict columns as JSON; see
#                   fraud_repo_configuration.py) (default "json feast")
#   OUT             where the tests, the overlay venv and the results go (default build/feast-suite)
#   PYTEST_ARGS     extra pytest arguments (e.g. -k filter_by_created_timestamp)
# Results: $OUT/results/<store>-<fixtures>.xml (JUnit) and .log, and a summary line per run on stdout;
# failing cases do not fail this script (compare.py judges the two stores' results).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(mkdir -p "${OUT:-$ROOT/build/feast-suite}" && cd "${OUT:-$ROOT/build/feast-suite}" && pwd)
PY="$ROOT/.venv/bin/python"
FEAST_VERSION=$("$PY" -c 'import importlib.metadata as m; print(m.version("feast"))')
FEAST_GIT=${FEAST_GIT:-https://github.com/feast-dev/feast}
FEAST_REF=${FEAST_REF:-v$FEAST_VERSION}
STORES=${STORES:-fraud spark}
FIXTURES=${FIXTURES:-json feast}
SUITE=tests/integration/offline_store/test_universal_historical_retrieval.py

# Feast's sdk/python/tests and pytest.ini at FEAST_REF, without Feast's own package source (the
# installed feast must be the one imported).
SRC="$OUT/src-$(echo "$FEAST_REF" | tr '/' '_')"
if [ ! -f "$SRC/.complete" ]; then
  rm -rf "$SRC" && mkdir -p "$SRC"
  if [ -d "$FEAST_GIT" ]; then
    GIT_DIR_ARGS=(-C "$FEAST_GIT")
  else
    git clone -q --bare --filter=blob:none "$FEAST_GIT" "$OUT/feast.git"
    GIT_DIR_ARGS=(--git-dir "$OUT/feast.git")
  fi
  git "${GIT_DIR_ARGS[@]}" archive --format=tar "$FEAST_REF:sdk/python" tests pytest.ini | tar x -C "$SRC"
  test -f "$SRC/$SUITE"
  git "${GIT_DIR_ARGS[@]}" rev-parse "$FEAST_REF^{commit}" > "$SRC/.complete"
fi

# Feast's conftest needs a few test-only packages; they go into an overlay venv that sees the
# project's .venv through a .pth file, so .venv itself is untouched.
VENV="$OUT/venv"
if [ ! -f "$VENV/.installed" ] || [ "$ROOT/tests/feast_universal/requirements.txt" -nt "$VENV/.installed" ]; then
  rm -rf "$VENV"
  python3.11 -m venv "$VENV"
  "$PY" -c 'import site; print(site.getsitepackages()[0])' > "$VENV/lib/python3.11/site-packages/_project_venv.pth"
  "$VENV/bin/pip" install -q --no-deps -r "$ROOT/tests/feast_universal/requirements.txt"
  touch "$VENV/.installed"
fi

mkdir -p "$OUT/results"
echo "Feast $FEAST_VERSION; tests from $FEAST_GIT at $FEAST_REF ($(cat "$SRC/.complete"))"
for fixtures in $FIXTURES; do
  for store in $STORES; do
    name="$store-$fixtures"
    (
      cd "$SRC"
      export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$VENV/bin/python" FEAST_IS_LOCAL_TEST=True \
        FULL_REPO_CONFIGS_MODULE=fraud_repo_configuration FEAST_SUITE_STORE="$store" FEAST_SUITE_FIXTURES="$fixtures" \
        PYTHONPATH="$SRC:$ROOT:$ROOT/tests/feast_universal"
      # `-k "not File"`: Feast adds its file store to tests marked only=["file"]; that is not a Spark store.
      "$VENV/bin/python" -m pytest --integration "$SUITE" -k "not File" -p no:cacheprovider -o timeout=1800 \
        --junitxml="$OUT/results/$name.xml" ${PYTEST_ARGS:-} > "$OUT/results/$name.log" 2>&1
    ) || true
    echo "$name: $(grep -E '^=+ .*(passed|failed|error).* in ' "$OUT/results/$name.log" | tail -1 | tr -d '=')"
  done
done
