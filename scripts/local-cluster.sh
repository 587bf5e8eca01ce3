#!/usr/bin/env bash
# A local Spark standalone cluster on 127.0.0.1 from the build's jars (no Spark installation needed):
# one master and two workers, each worker with DEEPENS_WORKER_CORES cores (1) and DEEPENS_WORKER_MEMORY (2g).
#   scripts/local-cluster.sh start    # prints the master URL, e.g. spark://127.0.0.1:7177
#   scripts/local-cluster.sh status
#   scripts/local-cluster.sh stop     # stops the processes this script started, by pid
# Then: scripts/submit.sh --master spark://127.0.0.1:7177 train --config conf/digits-mlp.yaml ...
# Environment: DEEPENS_MASTER_PORT (7177), DEEPENS_MASTER_UI_PORT (8180; workers use the next two unless
#   DEEPENS_WORKER_UI_PORT is set, 0 for any free port), DEEPENS_CLUSTER_DIR (work/local-cluster: pids, logs, worker
#   dirs), DEEPENS_SPARK_HOME (work/spark-home, see spark-home.sh), DEEPENS_WORKER_CORES (1), DEEPENS_WORKER_MEMORY
#   (2g), DEEPENS_WORKER_GPUS (e.g. "0,1": fake or real GPU addresses each worker offers, through
#   conf/gpu-discovery.sh; "nvidia-smi": every GPU nvidia-smi lists, discovered by conf/gpu-discovery.sh itself, as on
#   a real GPU node; both workers then offer the same devices). Needs only bash, coreutils and Java 17 (no curl).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/spark-home.sh"

PORT="${DEEPENS_MASTER_PORT:-7177}"
UI="${DEEPENS_MASTER_UI_PORT:-8180}"
DIR="${DEEPENS_CLUSTER_DIR:-$DEEPENS_ROOT/work/local-cluster}"
PIDS="$DIR/pids"
MASTER="spark://127.0.0.1:$PORT"

# the number of workers registered with the master, from its web UI's JSON (an HTTP/1.0 GET through bash's
# /dev/tcp, so that a bare machine without curl can run this)
alive_workers() {
  local body
  body=$( (exec 3<>"/dev/tcp/127.0.0.1/$UI" \
    && printf 'GET /json/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && timeout 2 cat <&3) 2>/dev/null) || true
  grep -o '"aliveworkers" *: *[0-9]*' <<< "$body" | grep -o '[0-9]*$' || echo 0
}

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

wait_for_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

start() {
  if [[ -f "$PIDS" ]]; then
    for pid in $(awk '{print $2}' "$PIDS"); do
      if alive "$pid"; then echo "already running (pids in $PIDS); run '$0 stop' first" >&2; exit 1; fi
    done
    rm -f "$PIDS"
  fi
  deepens_spark_home
  mkdir -p "$DIR/logs"
  export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=127.0.0.1
  local gpu_opts=()
  if [[ "${DEEPENS_WORKER_GPUS:-}" == nvidia-smi ]]; then
    local n
    n=$(env -u DEEPENS_GPU_ADDRESSES "$DEEPENS_ROOT/conf/gpu-discovery.sh" | grep -o '"[0-9]*"' | grep -c .) \
      || { echo "DEEPENS_WORKER_GPUS=nvidia-smi but conf/gpu-discovery.sh lists no GPU (see its message above)" >&2; exit 2; }
    gpu_opts=(-Dspark.worker.resource.gpu.amount="$n"
      -Dspark.worker.resource.gpu.discoveryScript="$DEEPENS_ROOT/conf/gpu-discovery.sh")
  elif [[ -n "${DEEPENS_WORKER_GPUS:-}" ]]; then
    local n
    n=$(tr ',' '\n' <<< "$DEEPENS_WORKER_GPUS" | grep -c .)
    gpu_opts=(-Dspark.worker.resource.gpu.amount="$n"
      -Dspark.worker.resource.gpu.discoveryScript="$DIR/gpu-discovery.sh")
    printf '#!/bin/sh\nDEEPENS_GPU_ADDRESSES=%s exec %s\n' "$DEEPENS_WORKER_GPUS" \
      "$DEEPENS_ROOT/conf/gpu-discovery.sh" > "$DIR/gpu-discovery.sh"
    chmod +x "$DIR/gpu-discovery.sh"
  fi
  nohup java -Xmx512m "${OPENS[@]}" -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$PORT" --webui-port "$UI" > "$DIR/logs/master.log" 2>&1 &
  echo "master $!" >> "$PIDS"
  if ! wait_for_port "$PORT" 180; then
    echo "the master did not open port $PORT; see $DIR/logs/master.log" >&2
    stop
    exit 1
  fi
  for w in 1 2; do
    mkdir -p "$DIR/worker-$w"
    nohup java -Xmx512m "${OPENS[@]}" "${gpu_opts[@]}" -cp "$SPARK_HOME/jars/*" \
      org.apache.spark.deploy.worker.Worker "$MASTER" --host 127.0.0.1 \
      --cores "${DEEPENS_WORKER_CORES:-1}" --memory "${DEEPENS_WORKER_MEMORY:-2g}" \
      --webui-port "${DEEPENS_WORKER_UI_PORT:-$((UI + w))}" --work-dir "$DIR/worker-$w" \
      > "$DIR/logs/worker-$w.log" 2>&1 &
    echo "worker-$w $!" >> "$PIDS"
  done
  # wait until both workers have registered with the master (its web UI's JSON lists them)
  local i
  for ((i = 0; i < 900; i++)); do
    if [[ "$(alive_workers)" -ge 2 ]]; then
      echo "started $MASTER (web UI http://127.0.0.1:$UI), 2 workers; pids in $PIDS, logs in $DIR/logs"
      return 0
    fi
    sleep 0.2
  done
  echo "workers did not register within 180 s; see $DIR/logs" >&2
  stop
  exit 1
}

status() {
  if [[ ! -f "$PIDS" ]]; then
    echo "not running (no $PIDS)"
    return 3
  fi
  local rc=0 name pid
  while read -r name pid; do
    if alive "$pid"; then echo "$name: running (pid $pid)"; else echo "$name: not running (pid $pid)"; rc=3; fi
  done < "$PIDS"
  [[ $rc == 0 ]] && echo "master URL: $MASTER, alive workers: $(alive_workers)"
  return $rc
}

stop() {
  if [[ ! -f "$PIDS" ]]; then
    echo "not running (no $PIDS)"
    return 0
  fi
  local name pid i
  # workers first (they stop their executors), then the master
  for name in worker-2 worker-1 master; do
    pid=$(awk -v n="$name" '$1 == n {print $2}' "$PIDS")
    if alive "$pid"; then
      kill "$pid"
      for ((i = 0; i < 100 && $(alive "$pid" && echo 1 || echo 0) == 1; i++)); do sleep 0.1; done
      if alive "$pid"; then kill -9 "$pid"; fi
      echo "stopped $name (pid $pid)"
    fi
  done
  rm -f "$PIDS"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
