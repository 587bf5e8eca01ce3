#!/usr/bin/env bash
# A killed scoring job leaves no partial output: starts the `score` job on the 1M-row table of scoring-memory.sh,
# kill -9s its JVM as soon as the first task has committed its file (a task_* folder under _temporary/0 of the
# job's hidden staging folder, .NAME.deepens-staging-*, beside the output), shows what is on disk and what a reader
# sees, then reruns the identical command and counts the rows.
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
STAGED="$(dirname "$OUT")/.$(basename "$OUT").deepens-staging-"
until compgen -G "$STAGED*/_temporary/0/task_*" > /dev/null; do
  kill -0 "$PID" 2>/dev/null || { echo "the job ended before a task committed; see $WORK/killed.log" >&2; exit 1; }
  sleep 0.2
done
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
echo "== killed pid $PID (kill -9) after the first task commit; on disk:"
echo "   $OUT exists: $([[ -e $OUT ]] && echo yes || echo no)"
for d in "$STAGED"*; do
  echo "   staging folder $(basename "$d"):"
  (cd "$d" && find . -type f ! -name '.*.crc' | sort | sed 's/^/     /')
done
bench count "$OUT" 2>/dev/null | sed 's/^/   /'
echo "== rerun of the identical command"
"$ROOT/scripts/deepens" score --ensemble "$STORE" --input "$IN" --output "$OUT" \
  --master 'local[2]' 2>/dev/null | sed 's/^/   /'
echo "   staging folders left: $(compgen -G "$STAGED*" | wc -l)"
echo "   _SUCCESS present: $([[ -f $OUT/_SUCCESS ]] && echo yes || echo no)"
bench count "$OUT" 2>/dev/null | sed 's/^/   /'
