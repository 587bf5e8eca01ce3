package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.store.Sha256;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * spark-submit for real: a Spark standalone master and two one-core workers started from the build by
 * {@code scripts/local-cluster.sh} on 127.0.0.1 (free ports, a work folder under {@code target/}), the shaded
 * {@code jobs} jar submitted to it by {@code scripts/submit.sh} with {@code conf/spark-defaults-standalone.conf},
 * Spark's {@code SparkSubmit} from the build's jars (no Spark installation): import the embedded digits, train two
 * members, score, evaluate; then the same {@code train --run-id} again. Checks the exit codes, the store, the scored
 * Parquet table and the report, that the two members trained in two executors of two workers, and that no process
 * is left once the cluster is stopped. Runs in {@code mvn verify} after {@code package} (maven-failsafe-plugin).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StandaloneSubmitIT {
  static final Path ROOT = Path.of(EndToEndTest.ROOT);
  static final Duration CLUSTER_START = Duration.ofSeconds(240);
  static final Duration SUBMIT = Duration.ofSeconds(420);

  static final List<String> OUTPUT_COLUMNS = List.of("prediction", "probability", "max_probability",
      "predictive_entropy", "expected_entropy", "mutual_information");

  Path dir;
  Map<String, String> env;
  String master;
  Thread shutdownHook;

  @Test
  void submitsImportTrainScoreEvaluateToAStandaloneClusterOfTwoWorkers() throws Exception {
    long started = System.nanoTime();
    dir = ROOT.resolve("jobs/target/it-standalone");
    List<String> old = killProcessesOfThisFolder(); // a run whose JVM was killed could not stop its cluster
    if (!old.isEmpty()) {
      System.out.println("StandaloneSubmitIT: killed processes of an earlier run: " + old);
    }
    deleteRecursively(dir);
    Files.createDirectories(dir);
    Path data = dir.resolve("data");
    Path store = dir.resolve("store");
    Path scored = dir.resolve("scored");
    Path report = dir.resolve("report");
    boolean passed = false;
    try {
      startCluster();
      step("cluster started", started);

      // one submission, one driver and one SparkSession for the four commands ('+' chains them, as quickstart does)
      long t = System.nanoTime();
      Result r = submit("first", true, List.of(
          "import", "optdigits", "--output", data.toString(),
          "+", "train", "--config", ROOT.resolve("conf/digits-mlp.yaml").toString(), "--data", data + "/train",
          "--store", store.toString(), "--members", "2", "--epochs", "3", "--run-id", "it-1",
          "+", "score", "--ensemble", store.toString(), "--input", data + "/test", "--output", scored.toString(),
          "+", "evaluate", "--ensemble", store.toString(), "--test", data + "/test", "--ood", data + "/ood",
          "--report", report.toString()));
      assertEquals(0, r.code, r.describe());
      List<String> outcomes = outcomes(r.err);
      assertEquals(4, outcomes.size(), "one outcome line per command: " + outcomes + "\n" + r.describe());
      for (String o : outcomes) {
        assertTrue(o.endsWith("(exit 0)"), o);
      }
      assertTrue(outcomes.get(1).startsWith("trained 2 members, published " + store + " version v000001 as run it-1"),
          outcomes.get(1));
      assertTrue(r.out.contains("published " + store + "#v000001"), r.describe());
      step("import + train + score + evaluate submitted", t);

      checkStore(store);
      checkExecutors();
      checkScoredTable(data.toString(), scored.toString());
      checkReport(report);

      // the scheduler's rerun of a finished run id, through spark-submit too: nothing new, exit 0
      Map<String, String> before = OperationsTest.snapshot(store);
      t = System.nanoTime();
      Result again = submit("rerun", false, List.of("train",
          "--config", ROOT.resolve("conf/digits-mlp.yaml").toString(), "--data", data + "/train",
          "--store", store.toString(), "--members", "2", "--epochs", "3", "--run-id", "it-1"));
      assertEquals(0, again.code, again.describe());
      assertTrue(again.out.contains("nothing to do: run it-1 was already published as " + store + "#v000001"),
          again.describe());
      assertEquals(List.of("nothing to do: run it-1 was already published as " + store + "#v000001 (exit 0)"),
          outcomes(again.err));
      assertEquals(before, OperationsTest.snapshot(store), "the rerun changed nothing in the store");
      step("rerun submitted", t);
      passed = true;
    } finally {
      long t = System.nanoTime();
      List<String> left = stopCluster();
      step("cluster stopped", t);
      step("wall time", started);
      if (passed) {
        assertEquals(List.of(), left, "processes left after 'local-cluster.sh stop' (killed now)");
        deleteRecursively(dir);
      } else {
        System.out.println("StandaloneSubmitIT failed: logs kept in " + dir
            + (left.isEmpty() ? "" : "; processes left after the stop, killed: " + left));
      }
    }
  }

  @AfterAll
  void stopWhateverIsLeft() throws Exception {
    if (dir != null && Files.exists(dir.resolve("cluster/pids"))) {
      stopCluster();
    }
  }

  // ---- the cluster

  void startCluster() throws Exception {
    int masterPort = freePort();
    int uiPort = freePort();
    while (uiPort == masterPort) {
      uiPort = freePort();
    }
    env = new HashMap<>(System.getenv());
    env.remove("SPARK_TESTING"); // set for the test JVMs by the pom; a real cluster does not have it
    env.remove("SPARK_CONF_DIR");
    env.put("PATH", Path.of(System.getProperty("java.home"), "bin") + File.pathSeparator + env.getOrDefault("PATH",
        "/usr/bin:/bin"));
    env.put("DEEPENS_SPARK_HOME", dir.resolve("spark-home").toString());
    env.put("DEEPENS_SPARK_SUBMIT", "build"); // Spark's SparkSubmit from the build's jars, even if Spark is installed
    env.put("DEEPENS_CLUSTER_DIR", dir.resolve("cluster").toString());
    env.put("DEEPENS_MASTER_PORT", Integer.toString(masterPort));
    env.put("DEEPENS_MASTER_UI_PORT", Integer.toString(uiPort));
    env.put("DEEPENS_WORKER_UI_PORT", "0");
    env.put("DEEPENS_WORKER_CORES", "1");
    env.put("DEEPENS_WORKER_MEMORY", "2g");
    env.put("DEEPENS_DRIVER_MEMORY", "1g");
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("SPARK_LOCAL_HOSTNAME", "127.0.0.1");
    master = "spark://127.0.0.1:" + masterPort;
    shutdownHook = new Thread(() -> {
      try {
        run("stop-on-exit", List.of("bash", ROOT.resolve("scripts/local-cluster.sh").toString(), "stop"),
            Duration.ofSeconds(60));
      } catch (Exception e) {
        // the JVM is exiting: nothing more to do
      }
    });
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    Result r = run("cluster-start", List.of("bash", ROOT.resolve("scripts/local-cluster.sh").toString(), "start"),
        CLUSTER_START);
    assertEquals(0, r.code, r.describe() + "\n" + logTails(dir.resolve("cluster/logs")));
    assertTrue(r.out.contains("started " + master), r.describe());
    List<Long> pids = clusterPids();
    assertEquals(3, pids.size(), "master and two workers: " + pids);
    for (long pid : pids) {
      assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " is running");
    }
  }

  /**
   * Stops the cluster with the script (by the pids it recorded), then kills any process still running from this
   * test's folder and returns their descriptions.
   */
  List<String> stopCluster() throws Exception {
    if (env != null) {
      Result r = run("cluster-stop", List.of("bash", ROOT.resolve("scripts/local-cluster.sh").toString(), "stop"),
          Duration.ofSeconds(120));
      if (r.code != 0) {
        System.out.println("local-cluster.sh stop: " + r.describe());
      }
    }
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException e) {
        // already shutting down
      }
      shutdownHook = null;
    }
    return killProcessesOfThisFolder();
  }

  List<String> killProcessesOfThisFolder() {
    return killProcessesOf(dir);
  }

  /**
   * Waits up to 30 s for the processes whose command line names {@code folder} (master, workers, executors, drivers,
   * YARN containers: their class path or working directory is in it) to end, then kills those left, each by its
   * pid, and returns them.
   */
  static List<String> killProcessesOf(Path folder) {
    List<String> left = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    List<ProcessHandle> ours;
    do { // executors exit shortly after their worker
      ours = ProcessHandle.allProcesses()
          .filter(p -> p.info().commandLine().map(c -> c.contains(folder.toString())).orElse(false))
          .filter(p -> p.pid() != ProcessHandle.current().pid())
          .toList();
      if (!ours.isEmpty()) {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    } while (!ours.isEmpty() && System.nanoTime() < deadline);
    for (ProcessHandle p : ours) {
      left.add(p.pid() + " " + p.info().commandLine().orElse("?"));
      p.destroyForcibly();
    }
    return left;
  }

  List<Long> clusterPids() throws IOException {
    Path pids = dir == null ? null : dir.resolve("cluster/pids");
    if (pids == null || !Files.exists(pids)) {
      return List.of();
    }
    return Files.readAllLines(pids).stream().filter(l -> !l.isBlank()).map(l -> Long.parseLong(l.split("\\s+")[1]))
        .toList();
  }

  // ---- the checks

  void checkStore(Path store) throws Exception {
    assertEquals("v000001", Files.readString(store.resolve("LATEST")).strip());
    JsonNode m = new ObjectMapper().readTree(store.resolve("versions/v000001/manifest.json").toFile());
    assertEquals("it-1", m.path("runId").asText());
    assertEquals(2, m.path("members").size(), m.toString());
    List<String> executors = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      JsonNode member = m.path("members").get(i);
      String file = "members/m-00" + i + ".zip";
      byte[] bytes = Files.readAllBytes(store.resolve("versions/v000001").resolve(file));
      assertEquals(Sha256.of(bytes), m.path("files").path(file).asText(), "the manifest's checksum of " + file);
      executors.add(member.path("report").path("executorId").asText());
    }
    for (String e : executors) {
      assertFalse(e.isEmpty() || e.equals("driver"), "members train in executors, not the driver: " + executors);
    }
    assertNotEquals(executors.get(0), executors.get(1), "the two members trained in two executors: " + executors);
    assertTrue(Files.exists(store.resolve("runs/it-1.json")), "the run record");
    assertFalse(Files.exists(store.resolve("checkpoints/it-1")), "checkpoints removed after publication");
  }

  /** Every worker ran executors of the application in its own JVMs (their folders and logs are in its work dir). */
  void checkExecutors() throws IOException {
    for (int w = 1; w <= 2; w++) {
      Path work = dir.resolve("cluster/worker-" + w);
      try (Stream<Path> s = Files.walk(work, 3)) {
        List<Path> stderr = s.filter(p -> p.getFileName().toString().equals("stderr")).toList();
        assertFalse(stderr.isEmpty(), "worker-" + w + " started no executor (no app-*/N/stderr under " + work + ")");
      }
    }
  }

  /**
   * The scored table at {@code scored} (a path or URI) has one row per row of {@code data}/test, keeps its columns,
   * adds the output columns, and its values are distributions over the 8 seen digits.
   */
  static void checkScoredTable(String data, String scored) {
    SparkSession spark = SparkSession.builder().master("local[1]").appName("deepens IT check")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
    try {
      Dataset<Row> in = spark.read().parquet(data + "/test");
      Dataset<Row> out = spark.read().parquet(scored);
      long rows = in.count();
      assertTrue(rows > 100, "the test table has rows: " + rows);
      assertEquals(rows, out.count(), "one scored row per input row");
      List<String> columns = Arrays.asList(out.columns());
      for (String c : in.columns()) {
        assertTrue(columns.contains(c), "input column " + c + " kept: " + columns);
      }
      assertTrue(columns.containsAll(OUTPUT_COLUMNS), "output columns " + OUTPUT_COLUMNS + " in " + columns);
      Row stats = out.selectExpr("min(prediction)", "max(prediction)", "min(size(probability))",
          "max(size(probability))", "max(abs(aggregate(probability, 0D, (acc, p) -> acc + p) - 1))",
          "min(mutual_information)", "min(max_probability)").first();
      assertTrue(stats.getInt(0) >= 0 && stats.getInt(1) <= 7, "predictions are classes 0..7: " + stats);
      assertEquals(8, stats.getInt(2), "probability has 8 classes");
      assertEquals(8, stats.getInt(3), "probability has 8 classes");
      assertTrue(stats.getDouble(4) < 1e-4, "probabilities sum to 1 within 1e-4 (float sums): " + stats.getDouble(4));
      assertTrue(((Number) stats.get(5)).doubleValue() >= -1e-6, "mutual information >= 0 within 1e-6: " + stats);
      assertTrue(((Number) stats.get(6)).doubleValue() >= 1.0 / 8 - 1e-6, "max probability >= 1/8: " + stats);
    } finally {
      spark.stop();
    }
  }

  void checkReport(Path report) throws IOException {
    JsonNode metrics = new ObjectMapper().readTree(report.resolve("metrics.json").toFile());
    assertEquals(2, metrics.path("members").size(), metrics.toString());
    double accuracy = metrics.path("ensemble").path("accuracy").asDouble(-1);
    assertTrue(accuracy > 0.5, "ensemble accuracy on the seen digits well above chance (1/8): " + accuracy);
    for (String k : List.of("nll", "brier", "ece", "auroc_entropy", "auroc_mi")) {
      assertTrue(metrics.path("ensemble").has(k), "metrics.json ensemble." + k + ": " + metrics);
    }
    assertTrue(Files.size(report.resolve("index.html")) > 0, "the HTML report");
  }

  // ---- processes

  record Result(String name, int code, String out, String err, Path log) {
    String describe() {
      return name + " exited " + code + " (output in " + log + ")\n--- stdout (end)\n" + tail(out, 40)
          + "\n--- stderr (end)\n" + tail(err, 80);
    }
  }

  /**
   * Runs scripts/submit.sh against the cluster with the standalone spark-defaults, fitted to 1-core workers; with
   * {@code spread}, the first stage waits until both executors are up, so that the two members go to two of them.
   */
  Result submit(String name, boolean spread, List<String> deepensArgs) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("scripts/submit.sh").toString(),
        "--master", master,
        "--properties-file", ROOT.resolve("conf/spark-defaults-standalone.conf").toString(),
        // the example's executors (4 cores, 4g) do not fit 1-core 2 GB workers: one executor per worker
        "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=1g", "--conf", "spark.cores.max=2"));
    if (spread) {
      cmd.addAll(List.of("--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
          "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=180s"));
    }
    cmd.addAll(deepensArgs);
    return run(name, cmd, SUBMIT);
  }

  Result run(String name, List<String> cmd, Duration timeout) throws Exception {
    return run(name, cmd, timeout, dir, env);
  }

  /**
   * Runs {@code cmd} in {@code dir} with exactly {@code env}, stdout and stderr to {@code dir/logs/NAME.{out,err}};
   * kills it and its children and fails the test when it outlives {@code timeout}.
   */
  static Result run(String name, List<String> cmd, Duration timeout, Path dir, Map<String, String> env)
      throws Exception {
    Path out = dir.resolve("logs/" + name + ".out");
    Path err = dir.resolve("logs/" + name + ".err");
    Files.createDirectories(out.getParent());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      fail(name + " did not finish within " + timeout + ": " + String.join(" ", cmd) + "\n"
          + new Result(name, -1, read(out), read(err), err.getParent()).describe());
    }
    return new Result(name, p.exitValue(), read(out), read(err), err.getParent());
  }

  /** The outcome lines of a driver log ({@code ... INFO  Main: outcome: <text> (exit N)}), their text. */
  static List<String> outcomes(String log) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile(" Main: outcome: (.*\\(exit \\d+\\))\\s*$", Pattern.MULTILINE).matcher(log);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  static void step(String what, long sinceNanos) {
    System.out.printf("StandaloneSubmitIT: %s: %.1f s%n", what, (System.nanoTime() - sinceNanos) / 1e9);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }

  static String tail(String s, int lines) {
    String[] l = s.split("\n");
    return String.join("\n", Arrays.asList(l).subList(Math.max(0, l.length - lines), l.length));
  }

  static String logTails(Path logs) throws IOException {
    if (!Files.isDirectory(logs)) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    try (Stream<Path> s = Files.list(logs)) {
      for (Path p : s.sorted().toList()) {
        sb.append("--- ").append(p).append(" (end)\n").append(tail(read(p), 30)).append('\n');
      }
    }
    return sb.toString();
  }

  static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) { // walk does not follow the spark-home links
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }
}
