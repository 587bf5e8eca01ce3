#!/usr/bin/env bash
# Spark GPU discovery script: prints the GPUs of this node as Spark's ResourceInformation JSON, e.g.
#   {"name": "gpu", "addresses": ["0", "1"]}
# Addresses are CUDA device ordinals (what deepens binds ND4J's CUDA backend to).
#
# Use it on a real GPU node (standalone worker, YARN or Kubernetes executor):
#   spark.worker.resource.gpu.amount=4
#   spark.worker.resource.gpu.discoveryScript=/path/to/conf/gpu-discovery.sh      (standalone workers)
#   spark.executor.resource.gpu.discoveryScript=/path/to/conf/gpu-discovery.sh    (YARN / Kubernetes)
#
# DEEPENS_GPU_ADDRESSES overrides the detection (comma-separated, e.g. "0,1"): for tests and for nodes where
# only some devices may be used. Without it the script lists every device nvidia-smi reports. Do not also set
# CUDA_VISIBLE_DEVICES for executors: it renumbers the devices a process sees, while Spark hands out the
# ordinals printed here. Exits non-zero with a message on stderr when no GPU can be listed.
set -euo pipefail

emit() { # $1: newline- or comma-separated addresses
  local out="" a
  for a in $(printf '%s\n' "$1" | tr ',' '\n' | tr -d ' \r' | grep -v '^$'); do
    if ! [[ "$a" =~ ^[0-9]+$ ]]; then
      echo "gpu-discovery.sh: '$a' is not a CUDA device ordinal" >&2
      exit 2
    fi
    out="${out:+$out, }\"$a\""
  done
  if [[ -z "$out" ]]; then
    echo "gpu-discovery.sh: no GPU found" >&2
    exit 1
  fi
  printf '{"name": "gpu", "addresses": [%s]}\n' "$out"
}

if [[ -n "${DEEPENS_GPU_ADDRESSES:-}" ]]; then
  emit "$DEEPENS_GPU_ADDRESSES"
  exit 0
fi

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-discovery.sh: nvidia-smi not found (no NVIDIA driver?); set DEEPENS_GPU_ADDRESSES to override" >&2
  exit 1
fi
emit "$(nvidia-smi --query-gpu=index --format=csv,noheader)"
