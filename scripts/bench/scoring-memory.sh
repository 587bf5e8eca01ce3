#!/usr/bin/env bash
# Bounded memory while scoring: generates 64-feature tables of 1M and 10M rows (the same 8 input files each, so a
# 10M task reads ~10x the rows of a 1M task), scores each with the `score` job (scripts/deepens, local[2], heap
# capped by -Xmx512m) writing Parquet, and reports the peak RSS (VmHWM, sampled every second) and the heap occupancy after
# each young/mixed GC (from the GC log), per quarter of the run. Flat figures from 1M to 10M rows = memory does not grow with rows.
#   scripts/bench/scoring-memory.sh [WORK [STORE]]   (STORE default: work/quickstart/store, made by quickstart.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WORK="${1:-$ROOT/work/bench-memory}"
STORE="${2:-$ROOT/work/quickstart/store}"
HEAP="${HEAP:-512m}"
[[ -f "$STORE/LATEST" ]] || { echo "no ensemble in $STORE: run scripts/quickstart.sh first" >&2; exit 2; }
mkdir -p "$WORK"
echo "== $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc --all) cores; heap -Xmx$HEAP"
for N in 1000000 10000000; do
  [[ -f "$WORK/in-$N/_SUCCESS" ]] || bench table "$WORK/in-$N" "$N" 64 8
  # one task per input file: Spark would otherwise split the larger files into ~128 MB pieces
  GC="$WORK/gc-$N.log"
  START=$(date +%s.%N)
  DEEPENS_JAVA_OPTS="-Xmx$HEAP -Xlog:gc:file=$GC" "$ROOT/scripts/deepens" score --ensemble "$STORE" \
    --input "$WORK/in-$N" --output "$WORK/out-$N" --mode overwrite --master 'local[2]' \
    --conf spark.sql.files.maxPartitionBytes=4g > "$WORK/score-$N.log" 2>&1 &
  PID=$!
  HWM=0
  while kill -0 "$PID" 2>/dev/null; do
    V=$(awk '/^VmHWM/{print $2}' "/proc/$PID/status" 2>/dev/null || true)
    [[ -n "$V" ]] && HWM=$V
    sleep 1
  done
  wait "$PID" || { echo "score of $N rows failed; see $WORK/score-$N.log" >&2; tail -20 "$WORK/score-$N.log" >&2; exit 1; }
  END=$(date +%s.%N)
  PARTS=$(ls "$WORK/out-$N" | grep -c '^part-' || true)
  python3 - "$N" "$HWM" "$GC" "$START" "$END" "$PARTS" "$(grep -h '^scored' "$WORK/score-$N.log")" <<'PY'
import re, sys
n, hwm_kb, gc, start, end, parts, scored = sys.argv[1:]
young = []  # (seconds, heap MiB after a young/mixed pause); Remark/Cleanup lines are not collections
for line in open(gc):
    m = re.search(r"\[([\d.]+)s\].*Pause Young.*?(\d+)M->(\d+)M\((\d+)M\)", line)
    if m:
        young.append((float(m.group(1)), int(m.group(3))))
secs = float(end) - float(start)
print(f"{int(n):>12,} rows: {secs:6.1f} s ({int(n)/secs:,.0f} rows/s incl. JVM start), peak RSS {int(hwm_kb)/1024:6.0f} MiB, "
      f"{len(young)} young GCs, {parts} output files; {scored}")
t = young[-1][0]
for q in range(4):
    seg = [a for s_, a in young if q * t / 4 <= s_ <= (q + 1) * t / 4]
    if seg:
        print(f"    heap after GC, quarter {q + 1} of the run: max {max(seg)} MiB, min {min(seg)} MiB")
PY
done
