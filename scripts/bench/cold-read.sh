#!/usr/bin/env bash
# The floor under train's table pass (issue 8, target 2): a Spark job that only reads a table and sums every
# feature value, on a fresh local-cluster of two one-core executors, ITERATIONS times in one session (the first on
# cold executor JVMs). MODES alternate: 'spark' (Spark infers the Parquet schema with a job, as deepens does) and
# 'driver-schema' (the schema read from one footer on the driver). ColdRead.java is compiled against the build's
# runtime classpath.
#   scripts/bench/cold-read.sh TABLE [ROUNDS=3] [ITERATIONS=3] [MODES="spark driver-schema"]
#   scripts/bench/cold-read.sh /work/bench/fmnist/fashion/train
# Needs a build (mvn -B -DskipTests install) for jobs/target/runtime-classpath.txt and scripts/spark-home.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TABLE=$1 ROUNDS=${2:-3} ITER=${3:-3} MODES=${4:-"spark driver-schema"}
source "$ROOT/scripts/spark-home.sh"
deepens_spark_home
source "$ROOT/scripts/java-opens.sh"
DEPS="$(tr ':' '\n' < "$ROOT/jobs/target/runtime-classpath.txt" | grep -v '/io/deepens/' | paste -sd: -)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
javac -nowarn -cp "$DEPS" -d "$TMP" "$ROOT/scripts/bench/ColdRead.java" 2>&1 | grep -v '^Note:' || true
(cd "$TMP" && jar cf cold-read.jar ColdRead*.class)
export SPARK_SCALA_VERSION=2.12
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for r in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    echo "== round $r, $mode, $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
    java -Xmx3g "${OPENS[@]}" -Dspark.jars="$TMP/cold-read.jar" \
      -Dlog4j2.configurationFile="$ROOT/conf/log4j2.properties" -cp "$TMP/cold-read.jar:$DEPS" \
      ColdRead "$TABLE" 'local-cluster[2,1,3072]' "$ITER" "$mode" 2>&1 | grep -E '^(iteration|session)|Exception'
  done
done
