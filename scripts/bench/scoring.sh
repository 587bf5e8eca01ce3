#!/usr/bin/env bash
# Scoring speed: rows/s on one core for a 5-member 784-200-200-200-10 ensemble, Parquet in -> Parquet out, beside
# (a) the compute floor from an ND4J sgemm 2048^3 measured in the same run and (b) PyTorch's forward passes of the
# same ensemble on the same batch size. Every side runs RUNS times; medians are reported. Not a test.
#   scripts/bench/scoring.sh [WORK [ROWS [RUNS]]]      (defaults: work/bench-scoring 200000 5; BATCH=2048)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WORK="${1:-$ROOT/work/bench-scoring}"
ROWS="${2:-200000}"
RUNS="${3:-5}"
BATCH="${BATCH:-2048}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK"
echo "== $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc --all) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
[[ -f "$WORK/store/LATEST" ]] || bench store "$WORK/store"
[[ -f "$WORK/in-$ROWS/_SUCCESS" ]] || bench table "$WORK/in-$ROWS" "$ROWS" 784 4

val() { sed -n "s/^$1=//p"; }
GEMM=$(bench gemm 2>/dev/null | tee -a /dev/stderr | val gemm_gflops)
bench forward "$WORK/store" "$BATCH" "$ROWS" "$RUNS" 2>/dev/null | tee "$WORK/forward.txt"
FWD=$(val forward_rows_per_s < "$WORK/forward.txt")
FWD_DL4J=$(val forward_dl4j_rows_per_s < "$WORK/forward.txt")
bench score "$WORK/store" "$WORK/in-$ROWS" "$WORK/out" "$BATCH" "$RUNS" 2>/dev/null | tee "$WORK/score.txt"
SCORE=$(val score_rows_per_s < "$WORK/score.txt")
NARROW=$(val score_narrow_rows_per_s < "$WORK/score.txt")
NARROW_DL4J=$(val score_narrow_dl4j_rows_per_s < "$WORK/score.txt")
COPY=$(val copy_rows_per_s < "$WORK/score.txt")
R_SCORE=$(val score_floor_ratio < "$WORK/score.txt")
R_NARROW=$(val score_narrow_floor_ratio < "$WORK/score.txt")
R_NARROW_DL4J=$(val score_narrow_dl4j_floor_ratio < "$WORK/score.txt")
TORCH=$(/usr/bin/python3 "$ROOT/scripts/bench/pytorch_scoring.py" --rows "$ROWS" --batch "$BATCH" --runs "$RUNS" \
  | tee -a /dev/stderr | val torch_rows_per_s)
echo "== $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$GEMM" "$FWD" "$FWD_DL4J" "$SCORE" "$TORCH" "$NARROW" "$NARROW_DL4J" "$COPY" "$R_SCORE" "$R_NARROW" \
  "$R_NARROW_DL4J" <<'PY'
import sys
gemm, fwd, fwd_dl4j, score, torch, narrow, narrow_dl4j, copy, r_score, r_narrow, r_narrow_dl4j = map(float, sys.argv[1:])
flop_per_row = 2 * 5 * (784 * 200 + 200 * 200 + 200 * 200 + 200 * 10)
floor = gemm * 1e9 / flop_per_row
print(f"ND4J sgemm 2048^3, 1 thread        : {gemm:10.1f} GFLOP/s")
print(f"compute floor ({flop_per_row/1e6:.3f} MFLOP/row)   : {floor:10,.0f} rows/s")
print(f"stacked forward + mixture, no Spark: {fwd:10,.0f} rows/s  ({fwd / floor:.0%} of floor; {fwd / fwd_dl4j:.2f}x DL4J output())")
print(f"DL4J output() + mixture, no Spark  : {fwd_dl4j:10,.0f} rows/s  ({fwd_dl4j / floor:.0%} of floor)")
print(f"deepens score, Parquet -> Parquet  : {score:10,.0f} rows/s  ({r_score:.0%} of each run's floor, median)")
print(f"  same, writing id + outputs only   : {narrow:10,.0f} rows/s  ({r_narrow:.0%} of each run's floor, median)")
print(f"  id + outputs, DL4J output()       : {narrow_dl4j:10,.0f} rows/s  ({r_narrow_dl4j:.0%} of each run's floor, median)")
print(f"Parquet copy, no scoring           : {copy:10,.0f} rows/s  (Spark's read + write of the same table)")
print(f"PyTorch forward + mixture          : {torch:10,.0f} rows/s  ({torch / floor:.0%} of floor)")
print(f"deepens score (id + outputs) / PyTorch forward: {narrow / torch:.2f}; full score / PyTorch: {score / torch:.2f}")
PY
