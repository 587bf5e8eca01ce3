#!/usr/bin/env bash
# A killed scoring job leaves no partial output: starts the `score` job on the 1M-row table of scoring-memory.sh,
# kill -9s its JVM as soon as the first task has committed its file (a task_* folder under _temporary/0), shows
# what is on disk and what a reader sees, then reruns with --mode overwrite and counts the rows.
#   scripts/bench/kill-midwrite.sh [WORK [STORE]]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WORK="${1:-$ROOT/work/bench-memory}"
STORE="${2:-$ROOT/work/quickstart/store}"
IN="$WORK/in-1000000"
OUT="$WORK/out-killed"
[[ -f "$IN/_SUCCESS" ]] || bench table "$IN" 1000000 64 8
rm -rf "$OUT"
"$ROOT/scripts/deepens" score --ensemble "$STORE" --input "$IN" --output "$OUT" --master 'local[2]' \
  > "$WORK/killed.log" 2>&1 &
PID=$!
until compgen -G "$OUT/_temporary/0/task_*" > /dev/null; do
  kill -0 "$PID" 2>/dev/null || { echo "the job ended before a task committed; see $WORK/killed.log" >&2; exit 1; }
  sleep 0.2
done
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
echo "== killed pid $PID (kill -9) after the first task commit; on disk:"
(cd "$OUT" && find . -type f ! -name '.*.crc' | sort | sed 's/^/   /')
echo "   _SUCCESS present: $([[ -f $OUT/_SUCCESS ]] && echo yes || echo no)"
echo "   part files outside _temporary: $(find "$OUT" -name 'part-*' ! -path '*/_temporary/*' | wc -l)"
bench count "$OUT" 2>/dev/null | sed 's/^/   /'
echo "== rerun with --mode overwrite"
"$ROOT/scripts/deepens" score --ensemble "$STORE" --input "$IN" --output "$OUT" --mode overwrite \
  --master 'local[2]' 2>/dev/null | sed 's/^/   /'
echo "   _SUCCESS present: $([[ -f $OUT/_SUCCESS ]] && echo yes || echo no)"
bench count "$OUT" 2>/dev/null | sed 's/^/   /'
