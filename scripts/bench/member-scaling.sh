#!/usr/bin/env bash
# Member-parallel scaling and where the time goes (issue 8, target 2): trains CONFIG on DATA with M members on a
# local-cluster of one-core executors, for each M in MS (alternating, e.g. "1 2 1 2"), through scripts/submit.sh and
# the shaded jar, and prints per run the wall time of the whole submission and the manifest's provenance.timing
# split into: member training (the epochs), the member's other in-task work (network set-up, checkpoints,
# validation passes), Spark's own work as the issue names it (the table pass that replicates the rows for every
# member, less its reading of the input; task start, receiving the rows (Spark's shuffle read), writing the model,
# collecting the result), reading the input (Spark's reader in the table pass's tasks), and process start (JVM,
# Spark session, executors, schema) plus publication and stop.
#   scripts/bench/member-scaling.sh CONFIG DATA OUT [MS] [EXTRA_TRAIN_ARGS...]
#   scripts/bench/member-scaling.sh conf/fashion-mnist-mlp.yaml /work/bench/fmnist/fashion/train /work/bench/ms "1 2 1 2"
# Needs a build (mvn -B -DskipTests install). The cluster is local-cluster[2,1,3072]: at most 2 members at once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONFIG=$1 DATA=$2 OUT=$3 MS=${4:-"1 2 1 2"}
shift 3; [[ $# -gt 0 ]] && shift
mkdir -p "$OUT"
for M in $MS; do
  S="$OUT/store-$M-$(date +%s%N)"
  echo "== M=$M $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) head $(git -C "$ROOT" rev-parse --short HEAD)"
  t0=$(date +%s%N)
  rc=0
  DEEPENS_DRIVER_MEMORY=${DEEPENS_DRIVER_MEMORY:-3g} "$ROOT/scripts/submit.sh" --master 'local-cluster[2,1,3072]' \
    --conf spark.executor.cores=1 --conf spark.task.cpus=1 train --config "$CONFIG" --data "$DATA" --store "$S" \
    --members "$M" --run-id "scale-$M" --gpus-per-member 0 "$@" > "$S.log" 2>&1 || rc=$?
  t1=$(date +%s%N)
  python3 - "$S" "$M" "$t0" "$t1" "$rc" <<'PY'
import glob, json, sys
store, m, t0, t1, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
wall = (t1 - t0) / 1e9
if rc != "0":
    print(f"M={m} failed (exit {rc}); see {store}.log"); sys.exit(0)
man = json.load(open(glob.glob(store + "/versions/*/manifest.json")[0]))
t = man["provenance"]["timing"]
ms = t["members"]
s = lambda v: v / 1000.0
# the slowest member sets the stage's length; its phases are the ones on the critical path
crit = max(ms, key=lambda x: x["taskStartMillis"] + x["receiveMillis"] + x["trainMillis"] + x["finishMillis"])
epochs = s(crit["epochsMillis"])
in_task = s(crit["trainMillis"] - crit["epochsMillis"])
# reading the table through Spark's reader (any trainer of this table reads it) is told apart from the rest of the
# table pass: profiling, one copy per member, Spark's shuffle writer (builds before it did not record it: 0)
read = s(t.get("tableReadMillis", 0))
spark_own = s(t["tablePassMillis"] + crit["taskStartMillis"] + crit["receiveMillis"] + crit["finishMillis"]
              + crit["collectMillis"]) - read
accounted = s(t["startMillis"] + t["prepareMillis"] + t["tablePassMillis"] + t["checkMillis"] + t["memberStageMillis"])
after = wall - accounted  # after the member stage: aggregate, publish, stop, JVM exit (and JVM launch before it)
print(f"M={m} wall {wall:.1f} s; members on executors {[x['executorId'] for x in ms]}")
for x in ms:
    print(f"   member {x['member']}: task start +{s(x['taskStartMillis']):.1f} s, rows received (shuffle read) and stored {s(x['receiveMillis']):.1f} s, "
          f"training {s(x['trainMillis']):.1f} s (epochs {s(x['epochsMillis']):.1f} s), model written "
          f"{s(x['finishMillis']):.1f} s, collected {s(x['collectMillis']):.1f} s later")
print(f"   JVM+Spark start {s(t['startMillis']):.1f} s, prepare {s(t['prepareMillis']):.1f} s, table pass "
      f"{s(t['tablePassMillis']):.1f} s (reading the input ~{read:.1f} s of it), check {s(t['checkMillis']):.1f} s, member stage {s(t['memberStageMillis']):.1f} s, "
      f"rest (launch, aggregate, publish, stop) {after:.1f} s")
print(f"   shares of the wall time: epochs {100*epochs/wall:.1f} %, other in-task work {100*in_task/wall:.1f} %, "
      f"Spark's own (replication, task start, upload, collect) {100*spark_own/wall:.1f} %, "
      f"reading the input {100*read/wall:.1f} %, "
      f"process start/prepare/check/publish/stop {100*(wall-epochs-in_task-spark_own-read)/wall:.1f} %")
PY
done
