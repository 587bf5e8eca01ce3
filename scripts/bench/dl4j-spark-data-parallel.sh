#!/usr/bin/env bash
# Issue 18, point 2: does one member trained data-parallel with Deeplearning4j's Spark training masters reach a
# validation NLL sooner than today's one-task member? Both sides train the reference MLP of CONFIG (784-200-200-200-10
# ReLU, Adam 1e-3, batch 128; member 0's initialisation) on TRAIN (all rows; default the x8 table) on
# local-cluster[2,1,2048] (two one-core executors), and are scored after every epoch on the same EVAL rows
# (default the Fashion-MNIST test split: deepens' data.validation.table, the bench's own evaluation on the driver).
#   one-task: scripts/submit.sh train --members 1 (the manifest's member history: epoch times, validation NLL)
#   pa:       Dl4jSparkDataParallel.java, ParameterAveragingTrainingMaster (2 workers, averaging every AVG batches)
#   shared:   Dl4jSparkDataParallel.java, SharedTrainingMaster (gradient sharing over Aeron)
# Then prints, per run, the training time to reach the one-task member's NLL after TARGET_EPOCH epochs, and the ratio.
#   scripts/bench/dl4j-spark-data-parallel.sh [SIDES="one-task pa"] [EPOCHS=3] [TARGET_EPOCH=1] [AVG=5]
# Environment: TRAIN (/work/data/fm_train_x8), EVAL (/work/data/fm/test), CONFIG (conf/fashion-mnist-mlp.yaml),
#   OUT (work/bench-dl4j-spark). Needs a build (mvn -B -DskipTests install) and, once, Maven Central for the
#   dl4j-spark jars (scripts/bench/dl4j-spark/pom.xml: 1.0.0-M2, the only version served; deepens runs M2.1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIDES=${1:-"one-task pa"} EPOCHS=${2:-3} TARGET_EPOCH=${3:-1} AVG=${4:-5}
TRAIN=${TRAIN:-/work/data/fm_train_x8} EVAL=${EVAL:-/work/data/fm/test}
CONFIG=${CONFIG:-$ROOT/conf/fashion-mnist-mlp.yaml} OUT=${OUT:-$ROOT/work/bench-dl4j-spark}
MASTER='local-cluster[2,1,2048]'
mkdir -p "$OUT"
source "$ROOT/scripts/spark-home.sh"
deepens_spark_home

# the jars dl4j-spark-parameterserver 1.0.0-M2 adds to deepens' runtime classpath (same group/artifact: deepens' wins)
DEPS="$(tr ':' '\n' < "$ROOT/jobs/target/runtime-classpath.txt" | grep -v '/io/deepens/' | paste -sd: -)"
if [[ ! -s "$OUT/dl4j-spark-classpath.txt" ]]; then
  (cd "$ROOT" && mvn -B -q -f scripts/bench/dl4j-spark/pom.xml dependency:build-classpath \
    -Dmdep.outputFile="$OUT/dl4j-spark-classpath.txt" >&2)
fi
have="$(tr ':' '\n' <<< "$DEPS" | sed -E 's#/[^/]+/[^/]+$##' | sort -u)"
EXTRA="$(tr ':' '\n' < "$OUT/dl4j-spark-classpath.txt" | while read -r j; do
  ga="$(sed -E 's#/[^/]+/[^/]+$##' <<< "$j")"; grep -qxF "$ga" <<< "$have" || echo "$j"; done | paste -sd: -)"
MODULES="$ROOT/ensemble-core/target/classes:$ROOT/spark-runner/target/classes"
BENCH="$OUT/classes"
mkdir -p "$BENCH"
javac -nowarn -cp "$MODULES:$DEPS:$EXTRA" -d "$BENCH" "$ROOT/scripts/bench/Dl4jSparkDataParallel.java" 2>&1 \
  | grep -v '^Note:' || true

# nd4j-aeron's embedded media driver sets a 30 s client liveness timeout, above Aeron 1.32's default 15 s
# publication unblock timeout, which Aeron refuses (ConfigurationException): SharedTrainingMaster needs a longer one
AERON="-Daeron.publication.unblock.timeout=60000000000"
spec="$OUT/spec.yaml"
sed -e "s#^    fraction: 0.1#    table: $EVAL#" "$CONFIG" > "$spec"
grep -q "table: $EVAL" "$spec" || { echo "could not set data.validation.table in $spec" >&2; exit 3; }

RUNS=()
echo "machine: $(nproc) cores; head $(git -C "$ROOT" rev-parse --short HEAD); train $TRAIN, eval $EVAL, $MASTER"
for side in $SIDES; do
  log="$OUT/$side-$(date +%s).log"
  echo "== $side, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg); log $log"
  t0=$(date +%s%N)
  if [[ $side == one-task ]]; then
    store="$OUT/store-$(date +%s%N)"
    DEEPENS_DRIVER_MEMORY=3g "$ROOT/scripts/submit.sh" --master "$MASTER" --conf spark.executor.cores=1 \
      --conf spark.task.cpus=1 train --config "$spec" --data "$TRAIN" --store "$store" --members 1 \
      --epochs "$EPOCHS" --run-id dp-one-task > "$log" 2>&1 || { echo "failed: see $log"; continue; }
    python3 - "$store" <<'PY' | tee "$log.epochs"
import glob, json, sys
man = json.load(open(glob.glob(sys.argv[1] + "/versions/*/manifest.json")[0]))
r = man["members"][0]["report"]["report"]
cum = 0.0
print(f"one-task: {r['trainRows']} training rows, {r['validationRows']} eval rows, path {r['compute']['path']}")
for e in r["epochs"]:
    s = e["millis"] / 1000.0
    cum += s
    print(f"epoch {e['epoch'] + 1}: train {s:.1f} s (cumulative {cum:.1f} s), eval NLL {e['validationNll']:.4f}, "
          f"accuracy {e['validationAccuracy']:.4f}, samples/s {r['trainRows'] / s:.0f}")
PY
  else
    (cd "$OUT" && java -Xmx3g "${OPENS[@]}" -Dlog4j2.configurationFile="$ROOT/conf/log4j2.properties" \
      -Dspark.executor.extraClassPath="$BENCH:$MODULES:$DEPS:$EXTRA" \
      -Dspark.executorEnv.SPARK_SCALA_VERSION=2.12 $AERON -Dspark.executor.extraJavaOptions="$AERON" \
      -cp "$BENCH:$MODULES:$DEPS:$EXTRA" Dl4jSparkDataParallel "$spec" "$TRAIN" "$EVAL" "$MASTER" "$side" \
      "$EPOCHS" 2 "$AVG") > "$log" 2>&1 || { echo "failed: see $log"; tail -5 "$log"; continue; }
    grep -E '^(epoch|wall|pa:|shared:)' "$log" | tee "$log.epochs"
  fi
  echo "   whole run $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  RUNS+=("$side=$log.epochs")
done

# time to the target NLL: the one-task member's after TARGET_EPOCH epochs (median over this invocation's one-task
# runs), or TARGET_NLL when given; per run the cumulative training time of the first epoch at or below it
python3 - "$TARGET_EPOCH" "${TARGET_NLL:-}" "${RUNS[@]}" <<'PY'
import re, statistics, sys
target_epoch, target_nll, runs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
line = re.compile(r"epoch (\d+): train ([\d.]+) s \(cumulative ([\d.]+) s\), eval NLL ([\d.]+), accuracy ([\d.]+), samples/s (\d+)")
hist = []
for r in runs:
    side, path = r.split("=", 1)
    eps = [tuple(float(g) for g in m.groups()) for m in map(line.match, open(path)) if m]
    hist.append((side, path, eps))
if target_nll:
    target = float(target_nll)
else:
    base = [eps[target_epoch - 1][3] for side, _, eps in hist if side == "one-task" and len(eps) >= target_epoch]
    if not base:
        sys.exit("no one-task run with %d epochs to take the target NLL from: give TARGET_NLL" % target_epoch)
    target = statistics.median(base)
print(f"target: eval NLL <= {target:.4f}" + ("" if target_nll else f" (one-task member after epoch {target_epoch})"))
reach = {}
for side, path, eps in hist:
    hit = next((e for e in eps if e[3] <= target + 1e-9), None)
    rate = statistics.median(e[5] for e in eps) if eps else 0
    best = min((e[3] for e in eps), default=float("nan"))
    if hit:
        reach.setdefault(side, []).append(hit[2])
        print(f"{side}: reached it after epoch {int(hit[0])}, {hit[2]:.1f} s of training; median {rate:.0f} samples/s; best NLL {best:.4f}")
    else:
        t = eps[-1][2] if eps else 0
        print(f"{side}: not reached in {len(eps)} epochs ({t:.1f} s of training); median {rate:.0f} samples/s; best NLL {best:.4f}")
if "one-task" in reach:
    b = statistics.median(reach["one-task"])
    for side, ts in reach.items():
        if side != "one-task":
            print(f"ratio {side} / one-task time to target: {statistics.median(ts) / b:.2f}")
PY
