#!/usr/bin/env bash
# Corrupted copies of the Fashion-MNIST test split for the dataset-shift benchmark (see Shift.java): rotations
# 15/30/60 degrees, Gaussian noise sd 0.1/0.2/0.4, contrast 0.4/0.2/0.1. Parquet for deepens (evaluate --shift) and
# raw float32 for the PyTorch peer (pytorch_ensemble.py --shift).
#   scripts/bench/make-shift.sh TEST_TABLE OUT [SEED]
#   scripts/bench/make-shift.sh work/fm/test work/fm-shift
# Needs a build (mvn -B -DskipTests install) for jobs/target/runtime-classpath.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TEST=$1 OUT=$2 SEED=${3:-20261206}
run_java_file Shift -Xmx3g "$TEST" "$OUT" "$SEED"
