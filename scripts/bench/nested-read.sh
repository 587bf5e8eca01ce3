#!/usr/bin/env bash
# How fast Spark's scan decodes an array<float> feature column on one core, with Spark's vectorized reader for nested
# columns off and on (on is Spark 3.5's default, and what a streaming member's reads use; README, "Placement of the
# training rows"): rows/s per repetition, alternating, and the medians' ratio. NestedRead.java is compiled against
# the build's runtime classpath.
#   scripts/bench/nested-read.sh TABLE [COLUMN=features] [REPS=7]
#   scripts/bench/nested-read.sh /work/data/fm/train
# Needs a build (mvn -B -DskipTests install) for jobs/target/runtime-classpath.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TABLE=$1 COLUMN=${2:-features} REPS=${3:-7}
echo "== $TABLE, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
run_java_file NestedRead -Xmx2g "$TABLE" "$COLUMN" "$REPS" 2>&1 | grep -E '^(rep|median)|Exception'
