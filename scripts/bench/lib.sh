# Shared by the benchmarks: the runtime classpath (as scripts/deepens builds it) plus spark-runner's test
# classes (where the bench drivers live), and Spark's Java 17 options. Source it; it defines ROOT, DEPS, CP, OPENS,
# bench and run_java_file.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CP_FILE="$ROOT/jobs/target/runtime-classpath.txt"
if [[ ! -f "$CP_FILE" || ! -f "$ROOT/jobs/target/classes/io/deepens/jobs/Main.class" ]]; then
  (cd "$ROOT" && mvn -B -q -DskipTests install >&2) # the build writes $CP_FILE
fi
if [[ ! -f "$ROOT/spark-runner/target/test-classes/io/deepens/spark/bench/ScoringBench.class" ]]; then
  (cd "$ROOT" && mvn -B -q -o -pl spark-runner test-compile >&2)
fi
DEPS="$(tr ':' '\n' < "$CP_FILE" | grep -v '/io/deepens/' | paste -sd: -)"
CP="$ROOT/spark-runner/target/test-classes:$ROOT/jobs/target/classes:$ROOT/spark-runner/target/classes:$ROOT/ensemble-core/target/classes:$DEPS"
# BENCH_CP_PREFIX: classes to put first (e.g. an older build of a few classes, for an A/B run)
CP="${BENCH_CP_PREFIX:+$BENCH_CP_PREFIX:}$CP"
source "$ROOT/scripts/java-opens.sh"
export SPARK_SCALA_VERSION=2.12
# bench SUBCOMMAND ARGS...: runs io.deepens.spark.bench.ScoringBench (BENCH_JAVA_OPTS, default -Xmx4g)
bench() {
  # shellcheck disable=SC2086
  java ${BENCH_JAVA_OPTS:--Xmx4g} "${OPENS[@]}" -Dlog4j2.configurationFile="$ROOT/conf/log4j2.properties" \
    -cp "$CP" io.deepens.spark.bench.ScoringBench "$@"
}
# run_java_file NAME HEAP ARGS...: compiles scripts/bench/NAME.java against the runtime classpath (Spark, DL4J) and
# runs its class NAME with HEAP (e.g. -Xmx2g) and Spark's Java 17 options; the compiled classes are removed after.
run_java_file() {
  local name=$1 heap=$2 tmp rc=0
  shift 2
  tmp=$(mktemp -d)
  javac -nowarn -cp "$DEPS" -d "$tmp" "$ROOT/scripts/bench/$name.java" 2>&1 | grep -v '^Note:' || true
  java "$heap" "${OPENS[@]}" -Dlog4j2.configurationFile="$ROOT/conf/log4j2.properties" -cp "$tmp:$DEPS" \
    "$name" "$@" || rc=$?
  rm -rf "$tmp"
  return $rc
}
