# Sourced by local-cluster.sh and submit.sh: a Spark "distribution" made of the Maven build's jars, for machines
# without a Spark installation. Sets SPARK_HOME to $DEEPENS_SPARK_HOME (default work/spark-home) holding jars/
# with a link to every runtime jar of the build except deepens' own and the deep-learning stack (DL4J, ND4J,
# JavaCPP), which reach executors inside the application jar like on a real cluster.
# Also defines OPENS (Spark's Java 17 options) and DEEPENS_ROOT.
DEEPENS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$DEEPENS_ROOT/scripts/java-opens.sh"

deepens_spark_home() {
  # written by the build (jobs/pom.xml, maven-dependency-plugin at generate-resources): third-party jars only
  local cp_file="$DEEPENS_ROOT/jobs/target/runtime-classpath.txt"
  if [[ ! -f "$cp_file" ]]; then
    echo "building (mvn -B -DskipTests package) to get $cp_file and the application jar ..." >&2
    (cd "$DEEPENS_ROOT" && mvn -B -q -DskipTests package >&2) \
      || { echo "could not build $cp_file: run 'mvn -B -DskipTests package'" >&2; return 3; }
  fi
  SPARK_HOME="${DEEPENS_SPARK_HOME:-$DEEPENS_ROOT/work/spark-home}"
  if [[ ! -d "$SPARK_HOME/jars" || "$cp_file" -nt "$SPARK_HOME/jars" ]]; then
    rm -rf "$SPARK_HOME/jars"
    mkdir -p "$SPARK_HOME/jars"
    local jar
    tr ':' '\n' < "$cp_file" | grep '\.jar$' \
      | grep -v -e '/io/deepens/' -e '/deepens-[^/]*\.jar$' -e '/org/deeplearning4j/' -e '/org/nd4j/' -e '/org/bytedeco/' \
      | while read -r jar; do ln -sf "$jar" "$SPARK_HOME/jars/$(basename "$jar")"; done
  fi
  if ! ls "$SPARK_HOME"/jars/spark-core_*.jar >/dev/null 2>&1; then
    echo "$SPARK_HOME/jars has no spark-core jar: is $cp_file complete?" >&2
    return 3
  fi
  export SPARK_HOME
  export SPARK_SCALA_VERSION=2.12
}
