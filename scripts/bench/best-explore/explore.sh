#!/usr/bin/env bash
# One exploration run of issue 19's recipe search: trains CONFIG with ensemble.seed SEED and evaluates it on
# Fashion-MNIST's test split with MNIST as the unknown (and, with "shift", the nine corrupted copies), in a WORK
# that scripts/bench/uncertainty-best.sh has filled with data (WORK/data/{fm,mnist,shift}). Prints one line.
#   scripts/bench/best-explore/explore.sh WORK CONFIG SEED [shift]
#   scripts/bench/best-explore/explore.sh /work/bench/b2 scripts/bench/best-explore/lr5cos.yaml 20261127
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
WORK=$1 CONFIG=$2 SEED=$3 SHIFT=${4:-}
D="$ROOT/scripts/deepens"
name=$(basename "$CONFIG" .yaml)
dir="$WORK/explore/$name-$SEED"
rm -rf "$dir" && mkdir -p "$dir"
sed -E "s/^(  seed:) [0-9]+/\1 $SEED/" "$CONFIG" > "$dir/spec.yaml"
S=()
if [[ "$SHIFT" == shift ]]; then
  for f in "$WORK"/data/shift/*.labels; do n=$(basename "$f" .labels); S+=(--shift "$n=$WORK/data/shift/$n"); done
fi
t0=$(date +%s)
"$D" train --config "$dir/spec.yaml" --data "$WORK/data/fm/train" --store "$dir/store" --run-id "$name-$SEED" \
  --master "${MASTER:-local[2]}" > "$dir/train.log" 2>&1 || { tail -20 "$dir/train.log"; exit 3; }
t1=$(date +%s)
"$D" evaluate --ensemble "$dir/store" --test "$WORK/data/fm/test" --ood "$WORK/data/mnist" "${S[@]}" \
  --report "$dir/report" --master "${MASTER:-local[2]}" > "$dir/evaluate.log" 2>&1 || { tail -20 "$dir/evaluate.log"; exit 3; }
/usr/bin/python3 - "$dir/report/metrics.json" "$name" "$SEED" "$((t1 - t0))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); e = r["ensemble"]
shift = " ".join(f"{n}={v['ensemble']['nll']:.3f}" for n, v in sorted(r.get("shift", {}).items()))
print(f"{sys.argv[2]} {sys.argv[3]}: acc {e['accuracy']:.4f} nll {e['nll']:.4f} ece {e['ece']:.4f} "
      f"auroc_entropy {e['auroc_entropy']:.4f} auroc_mi {e['auroc_mi']:.4f} train {sys.argv[4]} s {shift}")
PY
