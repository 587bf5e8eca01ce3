package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.train.MemberTask;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming placement on a real multi-JVM cluster, {@code local-cluster[2,1,1024]}: an executor killed in the
 * middle of member 0's second epoch (after its checkpoint 640 rows in) is replaced, the retried member replays the
 * epoch's stream up to the checkpoint and continues, and the ensemble's parameters are bit-identical to an
 * undisturbed {@code local[2]} run's. The members read the Parquet table from the executors, with no shuffle.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamClusterTest {
  static final EnsembleSpec SPEC = SparkTestSupport.streamSpec(SparkTestSupport.smallSpec(2, 3), 200, 300);

  Path tmp;
  String table;
  List<String> reference;
  SparkSession spark;
  final List<String> removedExecutors = new CopyOnWriteArrayList<>();

  private static Manifest train(SparkSession spark, String table, Path store, String runId) {
    return new SparkEnsembleTrainer(spark).train(spark.read().parquet(table), null, SPEC,
        new SparkEnsembleTrainer.Options(store.toUri().toString(), runId, table, Map.of())).manifest();
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tmp = dir;
    table = dir.resolve("digits").toString();
    ClusterTestSupport.stopActive();
    SparkSession local = SparkTestSupport.local();
    try {
      ClusterTestSupport.digitsTrain(local).repartition(4).write().parquet(table);
      reference = ClusterTestSupport.paramsShas(train(local, table, dir.resolve("store-local"), "reference"));
    } finally {
      local.stop();
    }
    assertEquals(2, reference.size());
    spark = ClusterTestSupport.start("local-cluster[2,1,1024]", "deepens-stream-cluster-test", Map.of(
        "spark.locality.wait", "0",
        "spark.task.maxFailures", "2",
        // reading the Parquet schema runs a job whose result holds Spark SQL types Kryo has no registrations for
        "spark.kryo.registrationRequired", "false"));
    spark.sparkContext().addSparkListener(new SparkListener() {
      @Override
      public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
        removedExecutors.add(e.executorId());
      }
    });
    ClusterTestSupport.awaitExecutors(spark, 2, 120_000);
  }

  @AfterAll
  void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  @Test
  void anExecutorKilledWithinAnEpochResumesBitIdentically() {
    spark.sparkContext().conf().set(MemberTask.KILL_MID_EPOCH, "0:1:600");
    Manifest m;
    try {
      m = train(spark, table, tmp.resolve("store-killed"), "killed");
    } finally {
      spark.sparkContext().conf().remove(MemberTask.KILL_MID_EPOCH);
    }
    assertFalse(removedExecutors.isEmpty(), "no executor was lost: the fault hook did not fire");
    JsonNode m0 = ClusterTestSupport.report(m, 0);
    assertEquals(1, m0.path("report").path("resumedFromEpoch").asInt(-1), "member 0 resumes in epoch 1: " + m0);
    assertTrue(m0.path("attempt").asInt() >= 1, m0.toString());
    assertNotEquals("driver", m0.path("executorId").asText());
    assertEquals(0, ClusterTestSupport.report(m, 1).path("report").path("resumedFromEpoch").asInt(-1));
    assertEquals(reference, ClusterTestSupport.paramsShas(m),
        "the ensemble after an executor killed mid-epoch must equal the undisturbed local[2] one");
    @SuppressWarnings("unchecked")
    Map<String, Object> timing = (Map<String, Object>) m.provenance().get("timing");
    assertEquals(0L, ((Number) timing.get("shuffleWriteBytes")).longValue());
  }
}
