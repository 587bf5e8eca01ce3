package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.train.MemberOutcome;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fake GPUs on a real cluster: one worker ({@code local-cluster[1,2,1024]}, two cores) owning GPU addresses 0 and
 * 1 through {@code spark.worker.resourcesFile}; its executor takes both, each member task asks for one. The two
 * members run at the same time and must record distinct addresses; on this build's CPU backend each ignores its
 * address (its manifest entry says so) and still trains, on the lean CPU path. Also: asking for a GPU in local mode fails
 * fast instead of waiting forever.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuClusterTest {
  Path tmp;
  SparkSession spark;
  final ClusterTestSupport.MemberTaskTimes times = new ClusterTestSupport.MemberTaskTimes();

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tmp = dir;
    // the local-mode check first: the cluster session below replaces the local one
    localModeFailsFastWithAClearMessage();
    Path resources = tmp.resolve("worker-gpus.json");
    Files.writeString(resources,
        "[{\"id\":{\"componentName\":\"spark.worker\",\"resourceName\":\"gpu\"},\"addresses\":[\"0\",\"1\"]}]");
    spark = ClusterTestSupport.start("local-cluster[1,2,1024]", "deepens-gpu-test", Map.of(
        "spark.worker.resourcesFile", resources.toString(),
        "spark.worker.resource.gpu.amount", "2",
        "spark.executor.resource.gpu.amount", "2",
        "spark.task.resource.gpu.amount", "1",
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

  void localModeFailsFastWithAClearMessage() {
    ClusterTestSupport.stopActive();
    SparkSession local = SparkTestSupport.local();
    try {
      InvalidInputException e = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> assertThrows(
          InvalidInputException.class, () -> ClusterTestSupport.train(local, ClusterTestSupport.gpuSpec(2, 1, "1"),
              tmp.resolve("store-local"), "local-gpu")));
      assertTrue(e.getMessage().contains("resources.gpusPerMember is 1.0 but the master is local[2]"), e.getMessage());
      assertTrue(e.getMessage().contains("schedules no GPUs"), e.getMessage());
      assertTrue(!Files.exists(tmp.resolve("store-local").resolve("checkpoints")), "nothing may have been trained");
    } finally {
      local.stop();
    }
  }

  @Test
  void concurrentMembersGetDistinctGpuAddresses() {
    SparkEnsembleTrainer.Result r =
        ClusterTestSupport.train(spark, ClusterTestSupport.gpuSpec(2, 2, "1"), tmp.resolve("store"), "gpus");
    List<MemberOutcome> outcomes = r.outcomes();
    assertEquals(2, outcomes.size());
    Set<String> addresses = new TreeSet<>();
    for (MemberOutcome o : outcomes) {
      assertEquals(1, o.gpuAddresses.length, "member " + o.member + " got " + Arrays.toString(o.gpuAddresses));
      addresses.add(o.gpuAddresses[0]);
      // the same addresses are in the published member report
      assertEquals(List.of(o.gpuAddresses[0]), List.of(ClusterTestSupport.report(r.manifest(), o.member)
          .path("gpuAddresses").get(0).asText()));
      // this build's ND4J backend is the CPU one: the member ignored its address (and says so), trained on the CPU
      var report = ClusterTestSupport.report(r.manifest(), o.member);
      assertEquals("IGNORED_CPU_BACKEND", report.path("gpuBinding").asText(), report.toString());
      assertEquals("OK", report.path("report").path("status").asText(), "member " + o.member + " trained");
      assertEquals("CPU", report.path("report").path("compute").path("backend").asText(), report.toString());
      assertTrue(report.path("report").path("compute").path("device").isNull(), "no device on the CPU backend");
      assertEquals("LEAN", report.path("report").path("compute").path("path").asText(), report.toString());
    }
    assertEquals(Set.of("0", "1"), addresses, "two members holding one GPU each must get distinct addresses");
    assertNotEquals("driver", outcomes.get(0).executorId);

    List<long[]> tasks = times.memberTasks();
    assertEquals(2, tasks.size(), "expected the two member tasks");
    assertTrue(ClusterTestSupport.MemberTaskTimes.overlap(tasks.get(0), tasks.get(1)),
        "the two members must have run concurrently (executor with 2 cores and 2 GPUs)");
  }

  @Test
  void discoveryScriptListsDevicesFromNvidiaSmiOrTheOverride() throws Exception {
    Path script = repoRoot().resolve("conf/gpu-discovery.sh");
    assertTrue(Files.isExecutable(script), script + " must exist and be executable");
    Path bin = Files.createDirectories(tmp.resolve("fake-bin"));
    Path smi = bin.resolve("nvidia-smi");
    Files.writeString(smi, "#!/bin/sh\n[ \"$1\" = \"--query-gpu=index\" ] || exit 9\nprintf '0\\n1\\n2\\n'\n");
    smi.toFile().setExecutable(true);
    String path = bin + ":" + System.getenv("PATH");
    assertEquals(List.of("0", "1", "2"), discover(script, Map.of("PATH", path)));
    assertEquals(List.of("3", "1"), discover(script, Map.of("PATH", path, "DEEPENS_GPU_ADDRESSES", "3, 1")));
    // no nvidia-smi and no override: a clear failure, not an empty list
    ProcessBuilder pb = new ProcessBuilder(script.toString()).redirectErrorStream(true);
    pb.environment().put("PATH", "/usr/bin:/bin");
    pb.environment().remove("DEEPENS_GPU_ADDRESSES");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertNotEquals(0, p.waitFor());
    assertTrue(out.contains("nvidia-smi not found"), out);
  }

  /** Runs the script and parses its output the way Spark does. */
  static List<String> discover(Path script, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(script.toString());
    pb.environment().remove("DEEPENS_GPU_ADDRESSES");
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), new String(p.getErrorStream().readAllBytes()));
    org.apache.spark.resource.ResourceInformation info = org.apache.spark.resource.ResourceInformation.parseJson(out);
    assertEquals("gpu", info.name());
    return List.of(info.addresses());
  }

  static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("conf/gpu-discovery.sh"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new AssertionError("conf/gpu-discovery.sh not found above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
