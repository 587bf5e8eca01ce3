package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.train.MemberOutcome;
import io.deepens.spark.train.MemberTask;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.ExecutorLostFailure;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real multi-JVM cluster, {@code local-cluster[2,1,1024]}: two workers with one core each, so the two members
 * of the ensemble run at the same time in two different executor JVMs. The parameters must equal those of
 * {@code local[2]} for the same seed and data, also when an executor JVM is killed in the middle of a member's
 * training (the retried task resumes from the member's last checkpoint).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiJvmClusterTest {
  static final EnsembleSpec SPEC = SparkTestSupport.smallSpec(2, 3);

  Path tmp;
  List<String> reference;
  SparkSession spark;
  final List<String> removedExecutors = new CopyOnWriteArrayList<>();
  final List<String> lostTaskReasons = new CopyOnWriteArrayList<>();

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tmp = dir;
    reference = ClusterTestSupport.localReference(SPEC, tmp.resolve("store-local"));
    assertEquals(2, reference.size());
    reference.forEach(sha -> assertNotNull(sha, "local[2] reference member without parameters"));
    spark = ClusterTestSupport.start("local-cluster[2,1,1024]", "deepens-multi-jvm-test", Map.of(
        "spark.locality.wait", "0",
        "spark.task.maxFailures", "2"));
    spark.sparkContext().addSparkListener(new SparkListener() {
      @Override
      public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
        removedExecutors.add(e.executorId());
      }

      @Override
      public void onTaskEnd(SparkListenerTaskEnd e) {
        if (e.reason() instanceof ExecutorLostFailure lost) {
          lostTaskReasons.add(lost.toErrorString());
        }
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
  @Order(1)
  void membersRunInSeparateExecutorJvmsAndMatchLocalMode() {
    SparkEnsembleTrainer.Result r = ClusterTestSupport.train(spark, SPEC, tmp.resolve("store-cluster"), "cluster");
    assertTrue(spark.sparkContext().master().startsWith("local-cluster["));
    for (var info : spark.sparkContext().statusTracker().getExecutorInfos()) {
      assertEquals("127.0.0.1", info.host(), "driver and executors must bind to the loopback interface");
    }
    Map<Integer, String> executors = ClusterTestSupport.executors(r.manifest());
    assertEquals(2, executors.size());
    for (String id : executors.values()) {
      assertNotNull(id);
      assertNotEquals("driver", id, "a member ran in the driver JVM");
    }
    assertNotEquals(executors.get(0), executors.get(1),
        "the two members must run in different executor JVMs (one core per worker), got " + executors);
    for (MemberOutcome o : r.outcomes()) {
      assertEquals(executors.get(o.member), o.executorId, "outcome and manifest report disagree");
      assertEquals(0, o.attempt);
    }
    // exact equality: the same seeds and the same row order give bit-identical float32 parameters
    assertEquals(reference, ClusterTestSupport.paramsShas(r.manifest()),
        "per-member paramsSha256 on local-cluster must equal local[2]");
    assertTimingAddsUp(r.manifest(), executors);
  }

  /** The manifest says where the time went: phases of the run and of every member, consistent with each other. */
  @SuppressWarnings("unchecked")
  private static void assertTimingAddsUp(Manifest m, Map<Integer, String> executors) {
    Map<String, Object> t = (Map<String, Object>) m.provenance().get("timing");
    assertNotNull(t, "provenance.timing");
    long stage = ((Number) t.get("memberStageMillis")).longValue();
    for (String phase : List.of("startMillis", "prepareMillis", "tablePassMillis", "checkMillis")) {
      assertTrue(((Number) t.get(phase)).longValue() >= 0, phase);
    }
    // the table pass's tasks timed their reading (opening a Parquet file in a fresh executor takes milliseconds)
    long tasks = ((Number) t.get("tableTasksMillis")).longValue();
    long tasksRead = ((Number) t.get("tableTasksReadMillis")).longValue();
    long read = ((Number) t.get("tableReadMillis")).longValue();
    assertTrue(tasksRead > 0 && tasksRead <= tasks, t.toString());
    assertTrue(read > 0 && read <= ((Number) t.get("tablePassMillis")).longValue(), t.toString());
    List<Map<String, Object>> members = (List<Map<String, Object>>) t.get("members");
    assertEquals(2, members.size());
    for (Map<String, Object> mm : members) {
      int k = ((Number) mm.get("member")).intValue();
      assertEquals(executors.get(k), mm.get("executorId"));
      long receive = ((Number) mm.get("receiveMillis")).longValue();
      long train = ((Number) mm.get("trainMillis")).longValue();
      long epochs = ((Number) mm.get("epochsMillis")).longValue();
      long finish = ((Number) mm.get("finishMillis")).longValue();
      assertTrue(receive >= 0 && finish >= 0 && epochs > 0, mm.toString());
      assertTrue(epochs <= train, "the epochs are part of training: " + mm);
      // the member's own phases fit in the stage (its start is measured on the same host's clock here)
      long start = ((Number) mm.get("taskStartMillis")).longValue();
      assertTrue(start >= 0 && start + receive + train + finish <= stage, mm + " in a stage of " + stage + " ms");
      assertEquals(stage, start + receive + train + finish + ((Number) mm.get("collectMillis")).longValue());
    }
  }

  @Test
  @Order(2)
  void killedExecutorIsReplacedAndTheMemberResumesFromItsCheckpoint() throws Exception {
    int removedBefore = removedExecutors.size();
    Set<String> executorsBefore = executorIds();
    Path store = tmp.resolve("store-killed");
    // the fault hook is read from the SparkContext's conf when train() starts; set it on the live conf
    spark.sparkContext().conf().set(MemberTask.KILL_AFTER_EPOCH, "0:1");
    SparkEnsembleTrainer.Result r;
    try {
      r = ClusterTestSupport.train(spark, SPEC, store, "killed");
    } finally {
      spark.sparkContext().conf().remove(MemberTask.KILL_AFTER_EPOCH);
    }
    assertTrue(removedExecutors.size() > removedBefore, "no executor was lost: the fault hook did not fire");
    assertFalse(lostTaskReasons.isEmpty(), "no task failed with ExecutorLostFailure");

    Manifest m = r.manifest();
    JsonNode m0 = ClusterTestSupport.report(m, 0);
    assertEquals(1, m0.path("report").path("resumedFromEpoch").asInt(-1),
        "member 0 must resume after its epoch-1 checkpoint: " + m0);
    assertEquals(3, m0.path("report").path("epochsRun").asInt(-1));
    assertFalse(removedExecutors.contains(m0.path("executorId").asText()),
        "the resumed member reports a removed executor");
    JsonNode m1 = ClusterTestSupport.report(m, 1);
    assertEquals(0, m1.path("report").path("resumedFromEpoch").asInt(-1), "member 1 was not disturbed");

    assertEquals(reference, ClusterTestSupport.paramsShas(m),
        "the ensemble after a killed executor must equal the undisturbed one");
    assertEquals(Set.of(), Set.copyOf(listOrEmpty(store.resolve("checkpoints"))),
        "checkpoints must be removed after publishing");

    // the worker replaces the killed executor JVM (it registers with a new id; slow on a busy machine)
    long deadline = System.currentTimeMillis() + 180_000;
    while (executorIds().stream().allMatch(executorsBefore::contains) && System.currentTimeMillis() < deadline) {
      Thread.sleep(250);
    }
    assertFalse(executorIds().stream().allMatch(executorsBefore::contains),
        "no replacement executor registered: before " + executorsBefore + ", now " + executorIds());
  }

  private Set<String> executorIds() {
    return Set.copyOf(scala.collection.JavaConverters.seqAsJavaList(spark.sparkContext().getExecutorIds()));
  }

  private static List<String> listOrEmpty(Path dir) throws Exception {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).toList();
    }
  }
}
