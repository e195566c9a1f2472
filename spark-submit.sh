#!/usr/bin/env bash
# Run any `python -m jobs COMMAND [options]` through spark-submit, from the artifact `make package` built.
#
#   ./spark-submit.sh features --env local --run-date 2026-03-12                                  # local[*]
#   SPARK_SUBMIT_OPTS_EXTRA="--master spark://host:7077" ./spark-submit.sh features --config conf.yaml ...
#   SPARK_SUBMIT_OPTS_EXTRA="--master yarn --deploy-mode cluster" ./spark-submit.sh features --env emr ...
#
# Ships dist/environment.tar.gz (venv-pack: the pinned dependencies and the project's wheel) with
# --archives ...#environment; executors run ./environment/bin/python. In client mode the driver runs
# the same environment, unpacked once into $FRAUD_ENV_CACHE (default ~/.cache/fraud-feature-jobs);
# unpacks unused for $FRAUD_ENV_KEEP_DAYS whole days (default 7) are deleted there.
# Spark standalone refuses cluster deploy mode for Python applications; YARN and Kubernetes take it.
# FRAUD_SHIP_JARS=1 (default) ships dist/jars/*.jar (Delta); 0 where the platform has Delta.
# Also: FRAUD_DIST (the artifact folder, default dist/ next to this script), SPARK_SUBMIT or SPARK_HOME.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dist="${FRAUD_DIST:-${here}/dist}"
archive="${dist}/environment.tar.gz"
main="${dist}/run_job.py"
if [[ ! -f "$archive" || ! -f "$main" ]]; then
  echo "spark-submit.sh: no ${archive} or ${main}: run 'make package'" >&2
  exit 2
fi

# shellcheck disable=SC2206 # extra options are meant to split into words
extra=(${SPARK_SUBMIT_OPTS_EXTRA:-})
master="local[*]"
deploy_mode="client"
for ((i = 0; i < ${#extra[@]}; i++)); do
  case "${extra[i]}" in
    --master) master="${extra[i + 1]:-}" ;;
    --master=*) master="${extra[i]#--master=}" ;;
    --deploy-mode) deploy_mode="${extra[i + 1]:-}" ;;
    --deploy-mode=*) deploy_mode="${extra[i]#--deploy-mode=}" ;;
    spark.master=*) master="${extra[i]#spark.master=}" ;;
    spark.submit.deployMode=*) deploy_mode="${extra[i]#spark.submit.deployMode=}" ;;
  esac
done
if [[ "$deploy_mode" == "cluster" && "$master" == spark://* ]]; then
  echo "spark-submit.sh: Spark standalone runs Python applications in client deploy mode only" >&2
  exit 2
fi
keep_days="${FRAUD_ENV_KEEP_DAYS:-7}"
if [[ ! "$keep_days" =~ ^[0-9]+$ ]]; then
  echo "spark-submit.sh: FRAUD_ENV_KEEP_DAYS must be a whole number of days, not '${keep_days}'" >&2
  exit 2
fi
case "$master" in
  local | local\[*) is_local=1 ;;
  *) is_local=0 ;;
esac

# The driver's Python in client mode: the archive, unpacked once per build of it. Each unpacked build
# is about 830 MB, so builds unused for FRAUD_ENV_KEEP_DAYS days (default 7) are deleted.
driver_env() {
  local cache="${FRAUD_ENV_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/fraud-feature-jobs}"
  local key  # a rebuilt archive has another size or time, so it gets its own folder
  key="$(stat -c '%s-%Y' "$archive")"
  local target="${cache}/env-${key}"
  if [[ ! -x "${target}/bin/python" ]]; then
    mkdir -p "$cache"
    local staging
    staging="$(mktemp -d "${cache}/.unpack.XXXXXX")"
    tar -xzf "$archive" -C "$staging"
    # Another submission may have unpacked the same archive meanwhile: either copy is complete.
    mv -T "$staging" "$target" 2>/dev/null || rm -rf "$staging"
  fi
  touch "$target"  # its last use, which keeps it from the pruning below
  prune_driver_envs "$cache" "$target"
  echo "$target"
}

prune_driver_envs() {
  local cache="$1" current="$2" minutes=$((10#${keep_days} * 1440))
  # Also unpacks left half-done by an interrupted submission a day ago or more.
  find "$cache" -mindepth 1 -maxdepth 1 -type d ! -path "$current" \
    \( \( -name 'env-*' -mmin "+${minutes}" \) -o \( -name '.unpack.*' -mmin +1440 \) \) \
    -exec rm -rf {} + 2>/dev/null || true
}

spark_submit="${SPARK_SUBMIT:-}"
if [[ -z "$spark_submit" ]]; then
  if [[ -n "${SPARK_HOME:-}" && -x "${SPARK_HOME}/bin/spark-submit" ]]; then spark_submit="${SPARK_HOME}/bin/spark-submit"
  elif command -v spark-submit >/dev/null; then spark_submit="$(command -v spark-submit)"
  elif [[ -x "${here}/.venv/bin/spark-submit" ]]; then spark_submit="${here}/.venv/bin/spark-submit"
  else echo "spark-submit.sh: no spark-submit: set SPARK_HOME or SPARK_SUBMIT, or put it on PATH" >&2; exit 2; fi
fi
if [[ -z "${SPARK_HOME:-}" ]]; then
  # A pip-installed pyspark's spark-submit finds its Spark with whatever `python3` is on PATH; name it.
  for home in "$(dirname "$spark_submit")"/../lib/python3*/site-packages/pyspark; do
    [[ -x "${home}/bin/spark-class" ]] && export SPARK_HOME="$(cd "$home" && pwd)"
  done
fi

# The archive holds no pyspark (Spark brings its own), so even the commands' help runs through
# spark-submit, which puts Spark's pyspark on the driver's path; no SparkContext starts.
if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  echo
  python="$(driver_env)/bin/python"
  export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
  env -u PYTHONPATH "$spark_submit" --master "local[1]" --conf "spark.pyspark.driver.python=${python}" "$main" --help
  exit $?
fi

args=(--conf spark.sql.session.timeZone=UTC)
if [[ "$is_local" == 1 ]]; then
  # One JVM: the Python workers are local processes, so the driver's environment serves them too.
  python="$(driver_env)/bin/python"
  args+=(--conf "spark.pyspark.python=${python}" --conf "spark.pyspark.driver.python=${python}")
  export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
else
  args+=(--archives "${archive}#environment" --conf spark.pyspark.python=./environment/bin/python)
  if [[ "$deploy_mode" == "cluster" ]]; then
    args+=(--conf spark.yarn.appMasterEnv.PYSPARK_PYTHON=./environment/bin/python)
  else
    args+=(--conf "spark.pyspark.driver.python=$(driver_env)/bin/python")
  fi
fi
if [[ "${FRAUD_SHIP_JARS:-1}" == "1" ]]; then
  jars="$(ls "${dist}"/jars/*.jar 2>/dev/null | paste -sd, -)"
  [[ -n "$jars" ]] || { echo "spark-submit.sh: no jars in ${dist}/jars: run 'make package'" >&2; exit 2; }
  args+=(--jars "$jars")
fi

# The artifact is the code that runs: nothing from the caller's PYTHONPATH (a checkout) may shadow it.
unset PYTHONPATH PYSPARK_PYTHON PYSPARK_DRIVER_PYTHON
exec "$spark_submit" "${args[@]}" "${extra[@]}" "$main" "$@"
