#!/usr/bin/env bash
# GPU smoke test, for a Linux x86_64 node with an NVIDIA GPU, its driver and CUDA 11.x (ND4J's CUDA build is for
# 11.6: libcudart.so.11.0, libcublas.so.11 and libcusolver.so.11 must be on the library path).
#
# NOT RUN ON A GPU: this project's machines have none. Checked here: without nvidia-smi it stops at once with exit
# code 2; and a rehearsal with a fake nvidia-smi (listing device 0) and the CPU jar in place of the GPU jar ran every
# step (cluster with GPU discovery, 2 members sharing GPU 0 in one executor, scoring), its manifest check failing as it
# must there (gpuBinding IGNORED_CPU_BACKEND, backend CPU, path LEAN). ND4J's CUDA backend itself never ran.
#
#   scripts/gpu-smoke.sh [WORK_DIR]      (default work/gpu-smoke)
#
# 1. builds the GPU jar (mvn -B -Pcuda -DskipTests package -> jobs/target-cuda/deepens-jobs-*-all.jar) if missing,
#    and the CPU build's classpath for the local Spark "distribution" (scripts/spark-home.sh) if missing;
# 2. starts a local standalone cluster whose workers discover their GPUs through conf/gpu-discovery.sh (nvidia-smi);
# 3. trains 2 members of conf/digits-cnn.yaml with --gpus-per-member 0.5 (both members share one GPU inside one
#    2-core executor);
# 4. checks from the manifest that both members ran on ND4J's CUDA backend, bound to the GPU Spark gave them, on the
#    DL4J path (the lean CPU steps never run on CUDA);
# 5. scores the test split with the GPU jar and prints training samples/s per member.
# Exit codes: 0 passed, 1 a check failed, 2 no GPU / missing tool, 3 build or cluster failure.
# Environment: DEEPENS_MASTER_PORT / DEEPENS_MASTER_UI_PORT (local-cluster.sh's, defaults 7177 / 8180),
#   DEEPENS_GPU_SMOKE_EPOCHS (3), DEEPENS_EXECUTOR_MEMORY (4g).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-smoke: nvidia-smi not found: this test needs a node with an NVIDIA GPU and its driver (and CUDA 11.6's" \
    "libraries). Nothing was built or started." >&2
  exit 2
fi
if ! GPUS=$(nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader 2>&1) || [[ -z "$GPUS" ]]; then
  echo "gpu-smoke: nvidia-smi lists no GPU: $GPUS" >&2
  exit 2
fi
echo "== GPUs (nvidia-smi):"
echo "$GPUS" | sed 's/^/   /'
nvidia-smi | grep -o 'CUDA Version: [0-9.]*' | sed 's/^/   driver supports /' || true
# (grep -c, not grep -q: under pipefail a grep that stops reading early fails the pipeline through SIGPIPE)
if command -v ldconfig >/dev/null 2>&1 && ! ldconfig -p | grep -c 'libcublas\.so\.11' >/dev/null; then
  echo "gpu-smoke: warning: libcublas.so.11 is not in the linker cache; ND4J's CUDA 11.6 backend needs CUDA 11.x's" \
    "libraries (set LD_LIBRARY_PATH to e.g. /usr/local/cuda-11.6/lib64 if they are installed elsewhere)" >&2
fi
command -v python3 >/dev/null 2>&1 || { echo "gpu-smoke: python3 is needed to read the manifest" >&2; exit 2; }

WORK="$(mkdir -p "${1:-$ROOT/work/gpu-smoke}" && cd "${1:-$ROOT/work/gpu-smoke}" && pwd)"
EPOCHS="${DEEPENS_GPU_SMOKE_EPOCHS:-3}"

shopt -s nullglob
jars=("$ROOT"/jobs/target-cuda/deepens-jobs-*-all.jar)
if [[ ${#jars[@]} -ne 1 ]]; then
  echo "== building the GPU jar (mvn -B -Pcuda -DskipTests package; downloads ~600 MB the first time) ..."
  mvn -B -q -Pcuda -DskipTests package || { echo "gpu-smoke: the cuda build failed" >&2; exit 3; }
  jars=("$ROOT"/jobs/target-cuda/deepens-jobs-*-all.jar)
fi
export DEEPENS_APP_JAR="${jars[0]}"
jar tf "$DEEPENS_APP_JAR" | grep -c '^org/nd4j/linalg/jcublas/JCublasBackend\.class$' >/dev/null \
  || { echo "gpu-smoke: $DEEPENS_APP_JAR has no ND4J CUDA backend" >&2; exit 3; }
if [[ ! -f jobs/target/runtime-classpath.txt || ! -f jobs/target/classes/io/deepens/jobs/Main.class ]]; then
  echo "== building the CPU classpath for the local cluster and the import (mvn -B -DskipTests package) ..."
  mvn -B -q -DskipTests package || { echo "gpu-smoke: the CPU build failed" >&2; exit 3; }
fi

if [[ ! -d "$WORK/data/train" ]]; then
  echo "== importing the digits into $WORK/data"
  scripts/deepens import optdigits --output "$WORK/data"
fi

export DEEPENS_CLUSTER_DIR="$WORK/cluster"
export DEEPENS_WORKER_GPUS=nvidia-smi DEEPENS_WORKER_CORES=2 DEEPENS_WORKER_MEMORY="${DEEPENS_EXECUTOR_MEMORY:-4g}"
echo "== starting a local standalone cluster (workers discover GPUs through conf/gpu-discovery.sh)"
scripts/local-cluster.sh start || exit 3
trap 'scripts/local-cluster.sh stop >/dev/null || true' EXIT
MASTER="spark://127.0.0.1:${DEEPENS_MASTER_PORT:-7177}"

# One executor of 2 cores holding one GPU: the two members (0.5 GPU each) share it, as gpusPerMember 0.25 packs four.
SPARK_OPTS=(--master "$MASTER" --executor-memory "${DEEPENS_EXECUTOR_MEMORY:-4g}"
  --conf spark.executor.cores=2 --conf spark.cores.max=2
  --conf spark.executor.resource.gpu.amount=1
  --conf spark.executor.memoryOverhead=2g
  --conf "spark.executor.extraJavaOptions=-Dorg.bytedeco.javacpp.maxbytes=2g -Dorg.bytedeco.javacpp.maxphysicalbytes=6g")
RUN="gpu-smoke-$(date -u +%Y%m%d-%H%M%S)"
echo "== training 2 members of conf/digits-cnn.yaml, $EPOCHS epochs, --gpus-per-member 0.5 (run $RUN)"
scripts/submit.sh "${SPARK_OPTS[@]}" train --config conf/digits-cnn.yaml --data "$WORK/data/train" \
  --store "$WORK/store" --members 2 --epochs "$EPOCHS" --gpus-per-member 0.5 --run-id "$RUN"

VERSION="$(tr -d '[:space:]' < "$WORK/store/LATEST")"
MANIFEST="$WORK/store/versions/$VERSION/manifest.json"
echo "== checking $MANIFEST"
python3 - "$MANIFEST" <<'PY' || exit 1
import json, sys
m = json.load(open(sys.argv[1]))
members = m["members"]
bad = []
if len(members) != 2:
    bad.append("expected 2 members, found %d" % len(members))
for e in members:
    r = e["report"]
    rep = r.get("report", {})
    c = rep.get("compute") or {}
    given = r.get("gpuAddresses") or []
    i = e["index"]
    if rep.get("status") not in ("OK", "EARLY_STOPPED"):
        bad.append("member %d: status %s" % (i, rep.get("status")))
    if len(given) != 1:
        bad.append("member %d: Spark gave it GPU addresses %s, expected one" % (i, given))
    if r.get("gpuBinding") != "BOUND":
        bad.append("member %d: gpuBinding %s, expected BOUND" % (i, r.get("gpuBinding")))
    if c.get("backend") != "CUDA":
        bad.append("member %d: ND4J backend %s, expected CUDA" % (i, c.get("backend")))
    if given and str(c.get("device")) != str(given[0]).strip():
        bad.append("member %d: ran on device %s but was given GPU %s" % (i, c.get("device"), given[0]))
    if c.get("path") != "DL4J" or c.get("reason") != "BACKEND_NOT_CPU":
        bad.append("member %d: path %s (%s), expected DL4J (BACKEND_NOT_CPU)" % (i, c.get("path"), c.get("reason")))
    epochs = rep.get("epochs", [])
    secs = sum(ep["millis"] for ep in epochs) / 1000.0
    samples = rep.get("trainRows", 0) * len(epochs)
    print("   member %d: GPU %s, backend %s, device %s, path %s; %d epochs, %d training rows, %.0f samples/s"
          " (epochs incl. validation and checkpoints)"
          % (i, ",".join(given), c.get("backend"), c.get("device"), c.get("path"), len(epochs),
             rep.get("trainRows", 0), samples / secs if secs > 0 else float("nan")))
if bad:
    print("gpu-smoke: FAILED:\n   " + "\n   ".join(bad), file=sys.stderr)
    sys.exit(1)
PY

echo "== scoring the test split with the GPU jar"
scripts/submit.sh "${SPARK_OPTS[@]}" score --ensemble "$WORK/store" --input "$WORK/data/test" \
  --output "$WORK/scored" --mode overwrite
ls "$WORK/scored"/*.parquet >/dev/null 2>&1 || { echo "gpu-smoke: no scored Parquet in $WORK/scored" >&2; exit 1; }
echo "gpu-smoke: passed (manifest $MANIFEST, scored $WORK/scored)"
