#!/usr/bin/env bash
# train -> score -> evaluate on the embedded UCI digits, with an in-process Spark master. Builds what is missing.
# Protocol: classes 0-7 are seen in training; 8 and 9 are the out-of-distribution set (see README).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="${1:-$ROOT/work/quickstart}"
mkdir -p "$WORK"
D=scripts/deepens
START=$(date +%s)

if [[ ! -f jobs/target/classes/io/deepens/jobs/Main.class || ! -f jobs/target/runtime-classpath.txt ]]; then
  echo "== building (mvn install -DskipTests) ..."
  mvn -B -q -DskipTests install   # also writes jobs/target/runtime-classpath.txt
fi

RUN="quickstart-$(date -u +%Y%m%d-%H%M%S)"
echo "== import -> train -> score -> evaluate in one JVM (run $RUN; work folder $WORK)"
# A lone '+' chains commands in one JVM and one SparkSession; each is the same command as run alone.
$D import optdigits --output "$WORK/data" \
  + train --config conf/digits-mlp.yaml --data "$WORK/data/train" --store "$WORK/store" --run-id "$RUN" \
  + score --ensemble "$WORK/store" --input "$WORK/data/test" --output "$WORK/scored" --mode overwrite \
  + evaluate --ensemble "$WORK/store" --test "$WORK/data/test" --ood "$WORK/data/ood" --report "$WORK/report"

echo
echo "ensemble store : $WORK/store  (scripts/deepens inspect --ensemble $WORK/store)"
echo "scored Parquet : $WORK/scored"
echo "report         : $WORK/report/index.html  (metrics: $WORK/report/metrics.json)"
echo "quickstart finished in $(( $(date +%s) - START )) s"
