#!/usr/bin/env bash
# Fashion-MNIST's training table repeated 8 times with fresh ids (480,000 rows; features array<float> 784, label,
# id long as the import writes them): copy k has id + k * 100,000,000 (copy 0 keeps the import's ids), so the
# result is deterministic and its ids unique. Row order: its own seeded random order over all rows (ascending
# xxhash64(8, id)), whatever the source's: not the source's order per copy, whose period of 60,000 rows a streaming
# member's buffer does not undo (MakeX8.java). Written to OUTPUT.tmp, checked (rows, distinct ids), then renamed.
#   scripts/bench/make-x8.sh [SOURCE=/work/data/fm/train] [OUTPUT=/work/data/fm_train_x8] [COPIES=8]
# Needs a build (mvn -B -DskipTests install) for jobs/target/runtime-classpath.txt.
set -euo pipefail
SOURCE=${1:-/work/data/fm/train} OUTPUT=${2:-/work/data/fm_train_x8} COPIES=${3:-8}
if [[ -e "$OUTPUT" ]]; then echo "make-x8: $OUTPUT exists; remove it first" >&2; exit 2; fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
run_java_file MakeX8 -Xmx2g "$SOURCE" "$OUTPUT" "$COPIES" 'local[2]'
