#!/usr/bin/env bash
# The streaming placement against the copy placement (issue 18): trains CONFIG on DATA with MASTER and prints, from
# the manifest's provenance.timing, the placement, Spark's shuffle write bytes of the run (task metrics), and per
# member its rows per epoch, the epochs' time and samples/s (rows x epochs / time of the epochs: for stream this
# includes reading the table from its source, for copy it does not), samples/s over the whole member task (copy:
# receiving the shuffled rows + training; stream: set-up + training) and the wall time; then, with TEST, the
# ensemble's test accuracy and NLL (scripts/deepens evaluate). With 3 or more epochs also each member's steady state:
# the median epoch after the first (every epoch's time includes its validation pass; the first also the JIT's warm-up,
# and for stream the validation rows' gathering), as samples/s.
#   scripts/bench/stream-placement.sh CONFIG DATA OUT MASTER [TEST] [-- EXTRA_TRAIN_ARGS...]
#   scripts/bench/stream-placement.sh conf/fashion-mnist-mlp-stream.yaml /work/data/fm/train /tmp/sp 'local[2]' \
#       /work/data/fm/test -- --members 2 --epochs 2
# MASTER local[N] runs scripts/deepens (DEEPENS_JAVA_OPTS, default -Xmx4g); local-cluster[...] runs
# scripts/submit.sh with the shaded jar (mvn -B -DskipTests install first). Run one at a time (2 cores here).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONFIG=$1 DATA=$2 OUT=$3 MASTER=$4
shift 4
TEST=""
if [[ $# -gt 0 && $1 != "--" ]]; then TEST=$1; shift; fi
[[ $# -gt 0 && $1 == "--" ]] && shift
mkdir -p "$OUT"
S="$OUT/store-$(basename "$CONFIG" .yaml)-$(date +%s%N)"
echo "== $CONFIG on $DATA, $MASTER, $* ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), head $(git -C "$ROOT" rev-parse --short HEAD))"
t0=$(date +%s%N)
rc=0
if [[ $MASTER == local-cluster* ]]; then
  DEEPENS_DRIVER_MEMORY=${DEEPENS_DRIVER_MEMORY:-2g} "$ROOT/scripts/submit.sh" --master "$MASTER" \
    --conf spark.executor.cores=1 --conf spark.task.cpus=1 train --config "$CONFIG" --data "$DATA" --store "$S" \
    --run-id bench --gpus-per-member 0 "$@" > "$S.log" 2>&1 || rc=$?
else
  "$ROOT/scripts/deepens" train --master "$MASTER" --config "$CONFIG" --data "$DATA" --store "$S" --run-id bench \
    "$@" > "$S.log" 2>&1 || rc=$?
fi
t1=$(date +%s%N)
if [[ $rc != 0 ]]; then
  echo "failed (exit $rc) after $(( (t1 - t0) / 1000000 )) ms: $(grep -m3 -E 'Exception|No space|exit' "$S.log" | cut -c1-300)"
  exit 0
fi
python3 - "$S" "$t0" "$t1" <<'PY'
import glob, json, statistics, sys
store, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
man = json.load(open(glob.glob(store + "/versions/*/manifest.json")[0]))
t = man["provenance"]["timing"]
print(f"placement {t.get('placement')}  shuffle write {t.get('shuffleWriteBytes'):,} bytes  table pass "
      f"{t['tablePassMillis']/1000:.1f} s  member stage {t['memberStageMillis']/1000:.1f} s  wall {(t1-t0)/1e9:.1f} s")
for mm, e in zip(t["members"], man["members"]):
    r = e["report"]["report"]
    rows, ep = r["trainRows"], r["epochsRun"]
    last = r["epochs"][-1]
    print(f"  member {mm['member']}: {rows} rows x {ep} epochs, epochs {mm['epochsMillis']/1000:.1f} s = "
          f"{rows*ep/(mm['epochsMillis']/1000):,.0f} samples/s; task (receive {mm['receiveMillis']/1000:.1f} s + "
          f"train {mm['trainMillis']/1000:.1f} s) = {rows*ep/((mm['receiveMillis']+mm['trainMillis'])/1000):,.0f} "
          f"samples/s; val acc {last.get('validationAccuracy')}, val NLL {last.get('validationNll'):.4f}")
    ms = [x["millis"] for x in r["epochs"]]
    if len(ms) > 2:  # steady state: the median epoch after the first (JIT warm-up, first split opens, validation gather)
        med = statistics.median(ms[1:])
        print(f"    epochs after the first: median {med:.0f} ms = {rows/(med/1000):,.0f} samples/s (each, ms: "
              f"{' '.join(str(m) for m in ms)})")
PY
if [[ -n $TEST ]]; then
  "$ROOT/scripts/deepens" evaluate --ensemble "$S" --test "$TEST" --report "$S-report" > "$S-eval.log" 2>&1 || {
    echo "evaluate failed: see $S-eval.log"; exit 0; }
  python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['ensemble']; print(f\"  test: accuracy {m['accuracy']:.4f}, NLL {m['nll']:.4f}\")" "$S-report/metrics.json"
fi
