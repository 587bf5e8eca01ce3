#!/usr/bin/env bash
# Is a table stored in random order or sorted by label? Prints, per table, the label changes between consecutive
# rows in stored order (files in name order) against a uniformly random order's expectation (LabelRuns.java).
#   scripts/bench/label-runs.sh TABLE...
# Needs a build (mvn -B -DskipTests install) for jobs/target/runtime-classpath.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
run_java_file LabelRuns -Xmx2g 'local[1]' "$@" 2>&1 | grep -v -E ' (INFO|WARN) '
