#!/usr/bin/env bash
# Corrupted copies of the Fashion-MNIST test split for the dataset-shift benchmark (see Shift.java): rotations
# 15/30/60 degrees, Gaussian noise sd 0.1/0.2/0.4, contrast 0.4/0.2/0.1. Parquet for deepens (evaluate --shift) and
# raw float32 for the PyTorch peer (pytorch_ensemble.py --shift).
#   scripts/bench/make-shift.sh TEST_TABLE OUT [SEED]
#   scripts/bench/make-shift.sh work/fm/test work/fm-shift
# Needs a build (mvn -B -DskipTests install) for jobs/target/runtime-classpath.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TEST=$1 OUT=$2 SEED=${3:-20261206}
DEPS="$(tr ':' '\n' < "$ROOT/jobs/target/runtime-classpath.txt" | grep -v '/io/deepens/' | paste -sd: -)"
source "$ROOT/scripts/java-opens.sh"
export SPARK_SCALA_VERSION=2.12
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
javac -nowarn -cp "$DEPS" -d "$TMP" "$ROOT/scripts/bench/Shift.java" 2>&1 | grep -v '^Note:' || true
java -Xmx3g "${OPENS[@]}" -Dlog4j2.configurationFile="$ROOT/conf/log4j2.properties" -cp "$TMP:$DEPS" \
  Shift "$TEST" "$OUT" "$SEED"
