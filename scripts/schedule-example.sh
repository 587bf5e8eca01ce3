#!/usr/bin/env bash
# Nightly retraining with deepens, ready to copy: one idempotent run id per day, resume on infrastructure failure,
# retention, and exit codes a scheduler can act on. Adapt the variables below (or set them in the environment).
#
# cron (02:15 UTC every night; the log keeps the one-line outcome of every night):
#   15 2 * * *  STORE=hdfs:///models/digits DATA=hdfs:///lake/digits/train /opt/deepens/scripts/schedule-example.sh >> /var/log/deepens-nightly.log 2>&1
#
# Airflow (BashOperator: the script retries resumable failures itself; "already published" is exit 0 anyway):
#   BashOperator(task_id="deepens_train",
#                bash_command="/opt/deepens/scripts/schedule-example.sh ",
#                env={"RUN_DATE": "{{ ds }}", "STORE": "hdfs:///models/digits", "DATA": "hdfs:///lake/digits/train"},
#                append_env=True, retries=2, retry_delay=timedelta(minutes=20))
#   With RUN_DATE={{ ds }} the run id is the logical date's, so clearing or backfilling a day reruns that day's run id:
#   finished -> exit 0, nothing trained ("nothing to do: run ... was already published as STORE#v..."),
#   crashed -> resumes from its checkpoints.
#
# The exact spark-submit call this script makes (what a SparkSubmitOperator would run: a published run and a rerun
# of one both exit 0; its retries would also rerun exit 2, which cannot help):
#   spark-submit --class io.deepens.jobs.Main --master yarn --deploy-mode client \
#     --conf spark.task.cpus=1 \
#     jobs/target/deepens-jobs-0.1.0-SNAPSHOT-all.jar \
#     train --config conf/digits-mlp.yaml --data hdfs:///lake/digits/train --store hdfs:///models/digits \
#           --run-id nightly-$(date -u +%F) --keep 7 [--warm-start LATEST]
# Use --deploy-mode client (the default): the driver's exit code is then spark-submit's exit code. In cluster mode
# YARN/Kubernetes report only success or failure, and --config must be shipped with --files.
#
# deepens exit codes (README, "Exit codes"):
#   0 published, or nothing to do (this run id was already published; the outcome line names the version)
#   1 internal error (bug)   2 bad input: fix it, retrying will not help   3 infrastructure (retry: the same run id
#   resumes)   5 busy: another live process is training this run id right now   (4 is gc's "nothing to remove";
#   train never exits 4)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPARK_SUBMIT="${SPARK_SUBMIT:-spark-submit}"      # or scripts/submit.sh when no Spark distribution is installed
MASTER="${MASTER:-yarn}"
JAR="${JAR:-$(ls "$ROOT"/jobs/target/deepens-jobs-*-all.jar 2>/dev/null | head -1)}"
CONFIG="${CONFIG:-$ROOT/conf/digits-mlp.yaml}"
DATA="${DATA:?set DATA to the training table, e.g. hdfs:///lake/digits/train}"
STORE="${STORE:?set STORE to the ensemble store, e.g. hdfs:///models/digits}"
KEEP="${KEEP:-7}"                                 # versions kept (plus LATEST and any a scorer resolved in the last hour)
WARM_START="${WARM_START:-}"                      # LATEST: start from last night's members (same member count;
                                                  # an empty store has no LATEST: exit 2, so enable it after night 1)
RUN_ID="nightly-${RUN_DATE:-$(date -u +%F)}"
RETRIES="${RETRIES:-2}"                           # extra attempts after exit 3; each resumes from the checkpoints
RETRY_SLEEP="${RETRY_SLEEP:-300}"

[[ -n "$JAR" ]] || { echo "schedule-example: no jobs/target/deepens-jobs-*-all.jar (mvn -B package -DskipTests), or set JAR" >&2; exit 2; }

cmd=("$SPARK_SUBMIT" --class io.deepens.jobs.Main --master "$MASTER" --deploy-mode client "$JAR"
     train --config "$CONFIG" --data "$DATA" --store "$STORE" --run-id "$RUN_ID" --keep "$KEEP")
[[ -n "$WARM_START" ]] && cmd+=(--warm-start "$WARM_START")
[[ "${DEEPENS_PRINT_ONLY:-}" == 1 ]] && { printf '%q ' "${cmd[@]}"; echo; exit 0; }

attempt=0
while :; do
  echo "$(date -u +%FT%TZ) schedule-example: run $RUN_ID attempt $((attempt + 1)): ${cmd[*]}"
  "${cmd[@]}"
  rc=$?
  case $rc in
    0) echo "$(date -u +%FT%TZ) schedule-example: run $RUN_ID is published in $STORE (the outcome line above names the version and says 'nothing to do' on a rerun)"; exit 0 ;;
    5) echo "$(date -u +%FT%TZ) schedule-example: run $RUN_ID is being trained by another process; not starting a second one" >&2
       exit 5 ;;   # let the scheduler retry later: it will then get 0 (published) or resume a crashed run
    3) if (( attempt < RETRIES )); then
         attempt=$((attempt + 1))
         echo "$(date -u +%FT%TZ) schedule-example: infrastructure failure (exit 3); retrying in ${RETRY_SLEEP}s, resuming from checkpoints" >&2
         sleep "$RETRY_SLEEP"
         continue
       fi
       echo "$(date -u +%FT%TZ) schedule-example: run $RUN_ID failed with exit 3 after $((attempt + 1)) attempts; rerun later to resume" >&2
       exit 3 ;;
    2) echo "$(date -u +%FT%TZ) schedule-example: bad input (exit 2): fix the data, config or arguments; retrying will not help" >&2
       exit 2 ;;
    *) echo "$(date -u +%FT%TZ) schedule-example: run $RUN_ID failed with exit $rc" >&2
       exit "$rc" ;;
  esac
done
