#!/usr/bin/env bash
# Submits deepens to a Spark master the way spark-submit does: the application jar
# jobs/target/deepens-jobs-*-all.jar with main class io.deepens.jobs.Main, client deploy mode unless
# --deploy-mode cluster (YARN: the driver then runs in the ApplicationMaster's container; give every path as a URI
# the cluster reaches, e.g. --config hdfs:///specs/x.yaml).
#   scripts/submit.sh [spark-submit options] <train|score|evaluate|inspect|import|gc> [deepens arguments]
#   scripts/submit.sh --master spark://127.0.0.1:7177 --executor-memory 1g \
#       train --config conf/digits-mlp.yaml --data work/digits/train --store work/store --members 2
# Uses $SPARK_HOME/bin/spark-submit or spark-submit on PATH when there is one; otherwise runs
# org.apache.spark.deploy.SparkSubmit (the class spark-submit runs) from the build's jars (scripts/spark-home.sh),
# with Spark's Java 17 options. Relative paths in the deepens arguments are resolved by the driver (this
# machine) and by executors; use absolute paths or URIs on a real cluster. Spark settings for a cluster:
# --properties-file conf/spark-defaults-standalone.conf (or -yarn, -k8s).
# Environment: HADOOP_CONF_DIR / YARN_CONF_DIR (the cluster's client configuration, for --master yarn and hdfs://
# paths without a host), DEEPENS_APP_JAR (another application jar, e.g. the GPU build's
# jobs/target-cuda/deepens-jobs-*-all.jar: scripts/gpu-smoke.sh), DEEPENS_DRIVER_MEMORY (2g), DEEPENS_SPARK_SUBMIT
# (a spark-submit to use, or 'build' for the build's SparkSubmit even when Spark is installed, as the submission
# tests do), DEEPENS_SUBMIT_DRY_RUN=1
# prints the command instead of running it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/spark-home.sh"

shopt -s nullglob
if [[ -n "${DEEPENS_APP_JAR:-}" ]]; then
  [[ -f "$DEEPENS_APP_JAR" ]] || { echo "DEEPENS_APP_JAR=$DEEPENS_APP_JAR is not a file" >&2; exit 3; }
  APP_JAR="$DEEPENS_APP_JAR"
else
  jars=("$DEEPENS_ROOT"/jobs/target/deepens-jobs-*-all.jar)
  if [[ ${#jars[@]} -ne 1 ]]; then
    echo "expected one jobs/target/deepens-jobs-*-all.jar, found ${#jars[@]}: run 'mvn -B -DskipTests package'" >&2
    exit 3
  fi
  APP_JAR="${jars[0]}"
fi

spark_opts=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    train|score|evaluate|inspect|import|gc|help|--help) break ;;
    *) spark_opts+=("$1"); shift ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "usage: $0 [spark-submit options] <train|score|evaluate|inspect|import|gc> [arguments]" >&2
  exit 2
fi

# In cluster deploy mode (YARN) the driver runs in a container on some node, where this checkout's paths do not
# exist: it logs with Spark's default configuration there (INFO to the container's stderr, outcome lines included).
cluster_mode=0
for ((i = 0; i < ${#spark_opts[@]}; i++)); do
  case "${spark_opts[$i]}" in
    --deploy-mode) if [[ "${spark_opts[$((i + 1))]:-}" == cluster ]]; then cluster_mode=1; fi ;;
    --deploy-mode=cluster | spark.submit.deployMode=cluster) cluster_mode=1 ;;
  esac
done
common=(--class io.deepens.jobs.Main --driver-memory "${DEEPENS_DRIVER_MEMORY:-2g}")
if [[ $cluster_mode -eq 0 ]]; then
  common+=(--conf "spark.driver.extraJavaOptions=-Dlog4j2.configurationFile=$DEEPENS_ROOT/conf/log4j2.properties")
fi

SUBMIT=""
if [[ -n "${DEEPENS_SPARK_SUBMIT:-}" ]]; then
  [[ "$DEEPENS_SPARK_SUBMIT" == build ]] || SUBMIT="$DEEPENS_SPARK_SUBMIT"
elif [[ -n "${SPARK_HOME:-}" && -x "$SPARK_HOME/bin/spark-submit" ]]; then
  SUBMIT="$SPARK_HOME/bin/spark-submit"
elif command -v spark-submit >/dev/null 2>&1; then
  SUBMIT="$(command -v spark-submit)"
fi

if [[ -n "$SUBMIT" ]]; then
  cmd=("$SUBMIT" "${common[@]}" "${spark_opts[@]}" "$APP_JAR" "$@")
else
  deepens_spark_home
  # The class path spark-submit's launcher builds: Spark's jars, then the Hadoop client configuration folders
  # (core-site.xml, yarn-site.xml: where HDFS and YARN's ResourceManager are, for --master yarn).
  classpath="$SPARK_HOME/jars/*"
  for d in "${HADOOP_CONF_DIR:-}" "${YARN_CONF_DIR:-}"; do
    if [[ -n "$d" ]]; then classpath+=":$d"; fi
  done
  # SparkSubmit in this JVM is the driver (client mode): it needs Spark's Java 17 options itself;
  # SparkContext adds them to the executors' options.
  cmd=(java -Xmx"${DEEPENS_DRIVER_MEMORY:-2g}" "${OPENS[@]}"
    "-Dlog4j2.configurationFile=$DEEPENS_ROOT/conf/log4j2.properties"
    -cp "$classpath" org.apache.spark.deploy.SparkSubmit
    "${common[@]}" "${spark_opts[@]}" "$APP_JAR" "$@")
fi
if [[ "${DEEPENS_SUBMIT_DRY_RUN:-0}" == 1 ]]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
exec "${cmd[@]}"
