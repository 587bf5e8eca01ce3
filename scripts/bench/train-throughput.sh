#!/usr/bin/env bash
# Training throughput of one reference-MLP member (784-200-200-200-10, Adam 1e-3, batch 128, random in-memory
# data): deepens' lean step, the plain DL4J fit loop and PyTorch, interleaved, REPS runs each, 1 and 2 threads.
# Prints every run, then medians and the ratios against PyTorch from the same run, by wall clock and by the
# process's CPU time (the second is far less distorted on a busy shared machine).
# Usage: scripts/bench/train-throughput.sh [REPS=5] [WARMUP=200] [ITERS=800] [MODES="lean fit member"] [THREADS="1 2"]
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${1:-5}
WARMUP=${2:-200}
ITERS=${3:-800}
MODES=${4:-lean fit member}
THREADS=${5:-1 2}
# ARCH=cnn: conf/fashion-mnist-cnn.yaml's network instead of the reference MLP (CnnThroughputBench, torch-cnn)
ARCH=${ARCH:-mlp}
BENCH=io.deepens.core.train.TrainThroughputBench
[[ $ARCH == cnn ]] && BENCH=io.deepens.core.train.CnnThroughputBench
mvn -B -o -q -pl ensemble-core test-compile
CPF=$(mktemp)
mvn -B -o -q -pl ensemble-core dependency:build-classpath -Dmdep.outputFile="$CPF" -Dmdep.includeScope=test
CP="ensemble-core/target/classes:ensemble-core/target/test-classes:$(cat "$CPF")"
rm -f "$CPF"
OUT=$(mktemp)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$REPS"); do
  for t in $THREADS; do
    # PASSIVE: on a shared, oversubscribed machine spinning OpenMP workers (PyTorch, libnd4j) otherwise collapse
    export OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
    /usr/bin/python3 scripts/bench/torch_train_throughput.py "$t" "$WARMUP" "$ITERS" "$ARCH" | tee -a "$OUT"
    for mode in $MODES; do
      java -Xms1g -Xmx2g -cp "$CP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        "$BENCH" "$mode" "$t" "$WARMUP" "$ITERS" 2>/dev/null | grep '^RESULT' | tee -a "$OUT"
    done
    echo "  (rep $rep, $t thread(s), load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$OUT" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("RESULT")]
wall, cpu = {}, {}
for r in rows:
    key = (r[1], int(r[2]))
    wall.setdefault(key, []).append(float(r[3]))
    if len(r) > 4 and r[4] != "NaN":
        cpu.setdefault(key, []).append(float(r[4]))
for name, med in (("wall-clock samples/s", wall), ("samples per CPU-second of the process", cpu)):
    print("\n" + name)
    print("%-8s %3s %5s %10s %16s %9s" % ("side", "thr", "runs", "median", "min..max", "vs torch"))
    for t in sorted({t for (_, t) in med}):
        peer = next(m for (m, tt) in med if tt == t and m.startswith("torch"))
        tm = st.median(med[(peer, t)])
        for mode in [peer] + [m for (m, tt) in med if tt == t and m != peer]:
            v = med[(mode, t)]
            print("%-8s %3d %5d %10.0f %16s %9.2f" % (mode, t, len(v), st.median(v),
                  "%.0f..%.0f" % (min(v), max(v)), st.median(v) / tm))
PY
rm -f "$OUT"
