package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.spark.train.MemberOutcome;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fractional GPUs pack members: one worker with one fake GPU found by {@code conf/gpu-discovery.sh} (through its
 * {@code DEEPENS_GPU_ADDRESSES} override), members asking for 0.5 GPU each. Both members run at the same time on
 * GPU 0.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuFractionClusterTest {
  Path tmp;
  SparkSession spark;
  final ClusterTestSupport.MemberTaskTimes times = new ClusterTestSupport.MemberTaskTimes();

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tmp = dir;
    // the worker runs inside this JVM, so the override goes into a wrapper around the real script
    Path wrapper = tmp.resolve("discover-one-gpu.sh");
    Files.writeString(wrapper, "#!/bin/sh\nDEEPENS_GPU_ADDRESSES=0 exec '"
        + GpuClusterTest.repoRoot().resolve("conf/gpu-discovery.sh") + "'\n");
    wrapper.toFile().setExecutable(true);
    spark = ClusterTestSupport.start("local-cluster[1,2,1024]", "deepens-gpu-fraction-test", Map.of(
        "spark.worker.resource.gpu.discoveryScript", wrapper.toString(),
        "spark.worker.resource.gpu.amount", "1",
        "spark.executor.resource.gpu.amount", "1",
        "spark.task.resource.gpu.amount", "0.5",
        "spark.task.cpus", "1",
        "spark.locality.wait", "0"));
    spark.sparkContext().addSparkListener(times);
    ClusterTestSupport.awaitExecutors(spark, 1, 180_000);
  }

  @AfterAll
  void stop() {
    if (spark != null) {
      spark.stop();
    }
  }

  @Test
  void halfAGpuPerMemberPacksTwoConcurrentMembersOnOneAddress() {
    SparkEnsembleTrainer.Result r =
        ClusterTestSupport.train(spark, ClusterTestSupport.gpuSpec(2, 2, "0.5"), tmp.resolve("store"), "half");
    List<MemberOutcome> outcomes = r.outcomes();
    assertEquals(2, outcomes.size());
    for (MemberOutcome o : outcomes) {
      assertArrayEquals(new String[] {"0"}, o.gpuAddresses, "member " + o.member);
    }
    assertEquals(outcomes.get(0).executorId, outcomes.get(1).executorId);
    List<long[]> tasks = times.memberTasks();
    assertEquals(2, tasks.size());
    assertTrue(ClusterTestSupport.MemberTaskTimes.overlap(tasks.get(0), tasks.get(1)),
        "with 0.5 GPU each, both members must share GPU 0 at the same time");
  }
}
