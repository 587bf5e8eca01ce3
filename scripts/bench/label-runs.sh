#!/usr/bin/env bash
# Is a table stored in random order or sorted by label? Prints, per table, the label changes between consecutive
# rows in stored order (files in name order) against a uniformly random order's expectation (LabelRuns.java).
#   scripts/bench/label-runs.sh TABLE...
# Needs a build (mvn -B -DskipTests install) for jobs/target/runtime-classpath.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/java-opens.sh"
DEPS="$(tr ':' '\n' < "$ROOT/jobs/target/runtime-classpath.txt" | grep -v '/io/deepens/' | paste -sd: -)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
javac -nowarn -cp "$DEPS" -d "$TMP" "$ROOT/scripts/bench/LabelRuns.java" 2>&1 | grep -v '^Note:' || true
export SPARK_SCALA_VERSION=2.12
java -Xmx2g "${OPENS[@]}" -Dlog4j2.configurationFile="$ROOT/conf/log4j2.properties" -cp "$TMP:$DEPS" \
  LabelRuns 'local[1]' "$@" 2>&1 | grep -v -E ' (INFO|WARN) '
