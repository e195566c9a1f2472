#!/usr/bin/env bash
# Run any `python -m jobs COMMAND [options]` through spark-submit.
#
#   ./spark-submit.sh features --env local --run-date 2026-03-12
#   SPARK_SUBMIT_OPTS_EXTRA="--master yarn --deploy-mode client" ./spark-submit.sh features --env emr --run-date 2026-03-12
#
# The driver and executors get this checkout's code as dist/jobs.zip through --py-files, and
# FRAUD_REPO_ROOT points the driver at this checkout's conf/ and ./data. Delta jars come from ./jars (resolved by `make setup`), never
# downloaded at start. On Databricks, Delta is in the runtime: set FRAUD_SHIP_JARS=0.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  echo
  exec "${here}/.venv/bin/python" -m jobs --help
fi

spark_submit="${SPARK_SUBMIT:-}"
if [[ -z "$spark_submit" ]]; then
  if [[ -x "${here}/.venv/bin/spark-submit" ]]; then spark_submit="${here}/.venv/bin/spark-submit"
  else spark_submit="$(command -v spark-submit)"; fi
fi
python="${PYSPARK_PYTHON:-${here}/.venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"

mkdir -p "${here}/dist"
"$python" - "${here}" <<'PY'
import pathlib, sys, zipfile
root = pathlib.Path(sys.argv[1])
with zipfile.ZipFile(root / "dist" / "jobs.zip", "w", zipfile.ZIP_DEFLATED) as archive:
    for path in sorted((root / "jobs").rglob("*.py")):
        archive.write(path, path.relative_to(root))
PY

args=(--conf spark.sql.session.timeZone=UTC --py-files "${here}/dist/jobs.zip")
if [[ "${FRAUD_SHIP_JARS:-1}" == "1" ]]; then
  jars="$(ls "${here}"/jars/*.jar 2>/dev/null | paste -sd, -)"
  [[ -n "$jars" ]] || { echo "no jars in ${here}/jars: run 'make setup'" >&2; exit 2; }
  args+=(--jars "$jars")
fi

export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
export PYSPARK_PYTHON="$python"
export PYSPARK_DRIVER_PYTHON="$python"
export FRAUD_REPO_ROOT="${here}"
# shellcheck disable=SC2086 # extra options are meant to split into words
exec "$spark_submit" "${args[@]}" ${SPARK_SUBMIT_OPTS_EXTRA:-} "${here}/jobs/__main__.py" "$@"
