package io.deepens.jobs;

import io.deepens.spark.MiniHdfs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.store.Sha256;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.NodeReport;
import org.apache.hadoop.yarn.api.records.NodeState;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * spark-submit to YARN with the store on HDFS, the data-lake set-up: an in-process HDFS ({@link MiniHdfs}, one data
 * node) and {@link MiniYARNCluster} (one NodeManager), both on 127.0.0.1, with a generated {@code core-site.xml} and
 * {@code yarn-site.xml} in a {@code HADOOP_CONF_DIR} as a cluster's gateway host has them. Spark's jars (the build's,
 * as {@code scripts/spark-home.sh} collects them, spark-yarn included) are the containers' {@code spark.yarn.jars}
 * ({@code local:}, as Spark installed on every node); the shaded {@code jobs} jar is submitted by
 * {@code scripts/submit.sh --master yarn} (Spark's {@code SparkSubmit}) with {@code conf/spark-defaults-yarn.conf},
 * sized down to this machine, and reaches the containers through HDFS and the NodeManager's localization.
 *
 * <p>In client and in cluster deploy mode: import the digits to {@code hdfs://}, train two members (store on
 * {@code hdfs://}), score, evaluate (report on {@code hdfs://}). Checks what a user of YARN would: the application's
 * final status through {@link YarnClient}, the published version on HDFS and the SHA-256 of each member file against
 * the manifest, the scored table's rows and columns, the report, and that the members trained in NodeManager
 * containers (executor ids and hosts in the manifest, and the executors' own container logs). A bad spec exits 2:
 * in client mode from spark-submit, before any YARN application; in cluster mode as YARN's final status FAILED with
 * the diagnostics {@code User application exited with status 2}. Bad input found once Spark runs (a missing table)
 * exits 2 from spark-submit in client mode and YARN records FAILED. Logs are under {@code jobs/target/it-yarn/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class YarnSubmitIT {
  static final Path ROOT = Path.of(EndToEndTest.ROOT);
  static final Path DIR = ROOT.resolve("jobs/target/it-yarn");
  static final Duration SUBMIT = Duration.ofSeconds(480);
  static final String RUN_EPOCHS = "2";

  /** One NodeManager's memory: an ApplicationMaster of 1408 MB (cluster mode) and two executors of 1408 MB. */
  static final int NODE_MANAGER_MB = 4608;

  /**
   * Spark settings fitted to the NodeManager above, over conf/spark-defaults-yarn.conf's (sized for real nodes), and
   * loopback addresses for every Spark process: two
   * one-core executors of 640 MB heap + 768 MB overhead (ND4J's off-heap memory, capped by JavaCPP's limits below
   * it), a driver of 1 GB, and the first stage waits for both executors so that the two members go to two of them.
   */
  static final List<String> SIZING = List.of(
      "--conf", "spark.executor.instances=2", "--conf", "spark.executor.cores=1",
      "--conf", "spark.executor.memory=640m", "--conf", "spark.executor.memoryOverhead=768m",
      "--conf", "spark.executor.extraJavaOptions=-Dorg.bytedeco.javacpp.maxbytes=384m "
          + "-Dorg.bytedeco.javacpp.maxphysicalbytes=1280m",
      "--conf", "spark.driver.memory=1g", "--conf", "spark.driver.memoryOverhead=384m",
      "--conf", "spark.yarn.am.memory=512m",
      "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
      "--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=180s",
      // the test binds to loopback: the driver in the ApplicationMaster (cluster mode) and the executors too
      "--conf", "spark.yarn.appMasterEnv.SPARK_LOCAL_IP=127.0.0.1",
      "--conf", "spark.executorEnv.SPARK_LOCAL_IP=127.0.0.1",
      // the build's Spark "distribution" (scripts/spark-home.sh) lacks Hadoop's web proxy filter (AmIpFilter,
      // hadoop-yarn-server-web-proxy) that a driver UI under YARN needs; a Spark installation has it
      "--conf", "spark.ui.enabled=false");

  MiniHdfs dfs;
  MiniYARNCluster yarn;
  YarnClient client;
  FileSystem fs;
  String hdfs;
  String sparkJars;
  Map<String, String> env;
  boolean failed;

  // ---- the clusters

  @BeforeAll
  void startClusters() throws Exception {
    long started = System.nanoTime();
    StandaloneSubmitIT.deleteRecursively(DIR);
    Files.createDirectories(DIR.resolve("logs"));

    dfs = MiniHdfs.start(DIR.resolve("dfs"));
    hdfs = dfs.uri();
    fs = dfs.fs();

    YarnConfiguration yc = new YarnConfiguration();
    yc.set("fs.defaultFS", hdfs); // Spark's staging folder and the localized jars live on HDFS, as on a cluster
    yc.set("yarn.resourcemanager.bind-host", "127.0.0.1");
    yc.set("yarn.nodemanager.bind-host", "127.0.0.1");
    yc.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", NODE_MANAGER_MB);
    yc.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
    yc.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, NODE_MANAGER_MB);
    yc.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false); // a JVM reserves far more address space than it uses
    yc.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "100.0");
    // hadoop-client-minicluster has no capacity-scheduler.xml: one queue, as Spark's own YARN tests set it up
    yc.set("yarn.scheduler.capacity.root.queues", "default");
    yc.setInt("yarn.scheduler.capacity.root.default.capacity", 100);
    yc.setFloat("yarn.scheduler.capacity.root.default.user-limit-factor", 1);
    yc.setInt("yarn.scheduler.capacity.root.default.maximum-capacity", 100);
    yc.set("yarn.scheduler.capacity.root.default.state", "RUNNING");
    yc.set("yarn.scheduler.capacity.root.default.acl_submit_applications", "*");
    yc.set("yarn.scheduler.capacity.root.default.acl_administer_queue", "*");
    yc.setInt("yarn.scheduler.capacity.node-locality-delay", -1);
    // its work folder (NodeManager local and log folders) is <test.build.data>/<name>/...: jobs/target/it-yarn/yarn
    System.setProperty("test.build.data", DIR.toString());
    yarn = new MiniYARNCluster("yarn", 1, 1, 1);
    yarn.init(yc);
    yarn.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (yarn.getConfig().get(YarnConfiguration.RM_ADDRESS).endsWith(":0")) { // the RM sets its port after start
      assertTrue(System.nanoTime() < deadline, "the ResourceManager did not publish its address within 30 s");
      Thread.sleep(100);
    }
    assertTrue(yarn.waitForNodeManagersToConnect(30_000), "the NodeManager did not register within 30 s");

    Configuration cc = new YarnConfiguration(yarn.getConfig());
    client = YarnClient.createYarnClient();
    client.init(cc);
    client.start();

    Path conf = writeHadoopConf();
    Path sparkHome = DIR.resolve("spark-home");
    env = new HashMap<>(System.getenv());
    env.remove("SPARK_TESTING"); // set for the test JVMs by the pom; a real cluster does not have it
    env.remove("SPARK_CONF_DIR");
    env.remove("YARN_CONF_DIR");
    env.put("HADOOP_CONF_DIR", conf.toString());
    env.put("PATH", Path.of(System.getProperty("java.home"), "bin") + File.pathSeparator + env.getOrDefault("PATH",
        "/usr/bin:/bin"));
    env.put("DEEPENS_SPARK_HOME", sparkHome.toString());
    env.put("DEEPENS_SPARK_SUBMIT", "build"); // Spark's SparkSubmit from the build's jars, even if Spark is installed
    env.put("DEEPENS_DRIVER_MEMORY", "1g");
    env.put("SPARK_LOCAL_IP", "127.0.0.1"); // the client-mode driver binds to loopback (Spark resolves its host)

    // Spark's jars as a Spark distribution has them (the build's, spark-yarn included), named by spark.yarn.jars with
    // the local: scheme, as on a cluster with Spark installed at the same path on every node (the NodeManager puts
    // them on the containers' class path without copying; uploading 290 MB to HDFS instead would cost about a
    // minute here). The application jar still travels the YARN way: staged on HDFS, localized by the NodeManager.
    StandaloneSubmitIT.Result made = run("spark-home", List.of("bash", "-c",
        "source " + ROOT.resolve("scripts/spark-home.sh") + " && deepens_spark_home && ls \"$SPARK_HOME/jars\""),
        Duration.ofSeconds(120));
    assertEquals(0, made.code(), made.describe());
    List<String> jars = made.out().lines().filter(l -> l.endsWith(".jar")).toList();
    assertTrue(jars.stream().anyMatch(j -> j.startsWith("spark-yarn_")), "spark-yarn in the distribution: " + jars);
    assertFalse(jars.stream().anyMatch(j -> j.startsWith("deepens-")), "deepens reaches YARN in its own jar only");
    sparkJars = "local:" + sparkHome.resolve("jars") + "/*";

    // the spec the cluster-mode driver reads (it runs in a container, not here) and a bad one
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(ROOT.resolve("conf/digits-mlp.yaml").toUri()),
        new org.apache.hadoop.fs.Path(hdfs + "/specs/digits-mlp.yaml"));
    Files.writeString(DIR.resolve("bad-spec.yaml"), Files.readString(ROOT.resolve("conf/digits-mlp.yaml"))
        .replace("learningRate: 0.003", "learningRate: -0.003"));
    fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(DIR.resolve("bad-spec.yaml").toUri()),
        new org.apache.hadoop.fs.Path(hdfs + "/specs/bad-spec.yaml"));
    step("HDFS and YARN ready", started);
  }

  /** What a gateway host's HADOOP_CONF_DIR holds: where the name node and the ResourceManager are. */
  Path writeHadoopConf() throws IOException {
    Path dir = DIR.resolve("hadoop-conf");
    Files.createDirectories(dir);
    Configuration core = new Configuration(false);
    core.set("fs.defaultFS", hdfs);
    write(core, dir.resolve("core-site.xml"));
    Configuration site = new Configuration(false);
    Configuration rm = yarn.getConfig();
    for (String k : List.of(YarnConfiguration.RM_ADDRESS, YarnConfiguration.RM_SCHEDULER_ADDRESS,
        YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS, YarnConfiguration.RM_ADMIN_ADDRESS,
        YarnConfiguration.RM_WEBAPP_ADDRESS)) {
      site.set(k, rm.get(k).replace("localhost:", "127.0.0.1:"));
    }
    write(site, dir.resolve("yarn-site.xml"));
    return dir;
  }

  static void write(Configuration c, Path file) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      c.writeXml(out);
    }
  }

  @AfterAll
  void stopClusters() throws Exception {
    long t = System.nanoTime();
    if (client != null) {
      client.stop();
    }
    if (yarn != null) {
      yarn.stop(); // the NodeManager kills the containers still running
    }
    if (dfs != null) {
      dfs.close();
    }
    List<String> left = killProcessesOfThisFolder();
    step("clusters stopped", t);
    if (failed) {
      System.out.println("YarnSubmitIT failed: logs kept in " + DIR + " (submissions in " + DIR.resolve("logs")
          + ", containers in " + DIR.resolve("yarn") + ")");
    }
    assertEquals(List.of(), left, "processes left after the clusters stopped (killed now)");
    if (!failed) {
      StandaloneSubmitIT.deleteRecursively(DIR);
    }
  }

  // ---- the tests

  @Test
  @Order(1)
  void clientModeImportTrainScoreEvaluate() throws Exception {
    pipeline("client", ROOT.resolve("conf/digits-mlp.yaml").toString()); // the driver runs here: a local spec
  }

  @Test
  @Order(2)
  void clusterModeImportTrainScoreEvaluate() throws Exception {
    pipeline("cluster", hdfs + "/specs/digits-mlp.yaml"); // the driver runs in a container: the spec on HDFS
  }

  @Test
  @Order(3)
  void aBadSpecExits2InClusterModeAsYarnsFinalStatus() throws Exception {
    guard(() -> {
      long t = System.nanoTime();
      Set<ApplicationId> before = applicationIds();
      StandaloneSubmitIT.Result r = submit("cluster-bad-spec", "cluster", List.of("train", "--config",
          hdfs + "/specs/bad-spec.yaml",
          "--data", hdfs + "/cluster/data/train", "--store", hdfs + "/cluster/bad-store", "--run-id", "bad"));
      // spark-submit in cluster mode reports a failed application as its own exit 1; the deepens code is YARN's
      assertEquals(1, r.code(), r.describe());
      ApplicationReport app = onlyNewApplication(before, r);
      assertEquals(FinalApplicationStatus.FAILED, app.getFinalApplicationStatus(), describe(app));
      assertTrue(app.getDiagnostics().contains("User application exited with status 2"), describe(app));
      String am = containerLog(app.getApplicationId(), 1);
      List<String> outcomes = StandaloneSubmitIT.outcomes(am);
      assertEquals(1, outcomes.size(), "one outcome line in the ApplicationMaster's log: " + outcomes);
      assertTrue(outcomes.get(0).startsWith("train failed: ") && outcomes.get(0).contains("training.learningRate")
          && outcomes.get(0).endsWith("(exit 2)"), outcomes.get(0));
      assertFalse(fs.exists(new org.apache.hadoop.fs.Path(hdfs + "/cluster/bad-store/LATEST")), "nothing published");
      step("cluster mode, bad spec: spark-submit exit " + r.code() + ", YARN " + describe(app), t);
    });
  }

  @Test
  @Order(4)
  void aBadSpecExits2InClientModeBeforeAnyYarnApplication() throws Exception {
    guard(() -> {
      Set<ApplicationId> before = applicationIds();
      StandaloneSubmitIT.Result r = submit("client-bad-spec", "client", List.of("train", "--config",
          DIR.resolve("bad-spec.yaml").toString(), "--data", hdfs + "/client/data/train", "--store",
          hdfs + "/client/bad-store", "--run-id", "bad"));
      assertEquals(2, r.code(), r.describe());
      List<String> outcomes = StandaloneSubmitIT.outcomes(r.err());
      assertEquals(1, outcomes.size(), r.describe());
      assertTrue(outcomes.get(0).contains("training.learningRate") && outcomes.get(0).endsWith("(exit 2)"),
          outcomes.get(0));
      assertEquals(before, applicationIds(), "the spec is checked before Spark asks YARN for anything");
    });
  }

  @Test
  @Order(5)
  void badInputFoundAfterSparkStartedExits2InClientModeAndYarnRecordsFailed() throws Exception {
    guard(() -> {
      long t = System.nanoTime();
      Set<ApplicationId> before = applicationIds();
      String missing = hdfs + "/client/data/no-such-table";
      StandaloneSubmitIT.Result r = submit("client-missing-table", "client", List.of("train", "--config",
          ROOT.resolve("conf/digits-mlp.yaml").toString(), "--data", missing, "--store", hdfs + "/client/bad-store",
          "--run-id", "missing"));
      assertEquals(2, r.code(), r.describe());
      List<String> outcomes = StandaloneSubmitIT.outcomes(r.err());
      assertEquals(1, outcomes.size(), r.describe());
      assertTrue(outcomes.get(0).contains(missing) && outcomes.get(0).endsWith("(exit 2)"), outcomes.get(0));
      // the driver stopped its SparkContext with exit code 2: the ApplicationMaster reports FAILED, not SUCCEEDED
      ApplicationReport app = onlyNewApplication(before, r);
      assertEquals(FinalApplicationStatus.FAILED, app.getFinalApplicationStatus(), describe(app));
      step("client mode, missing table: spark-submit exit " + r.code() + ", YARN " + describe(app), t);
    });
  }

  // ---- one pipeline: import + train + score + evaluate in one submission ('+' chains them, as quickstart does)

  void pipeline(String mode, String spec) throws Exception {
    guard(() -> {
      long t = System.nanoTime();
      String base = hdfs + "/" + mode;
      String data = base + "/data";
      String store = base + "/store";
      String scored = base + "/scored";
      String report = base + "/report";
      String runId = "it-" + mode;
      Set<ApplicationId> before = applicationIds();
      StandaloneSubmitIT.Result r = submit(mode, mode, List.of(
          "import", "optdigits", "--output", data,
          "+", "train", "--config", spec, "--data", data + "/train", "--store", store, "--members", "2",
          "--epochs", RUN_EPOCHS, "--run-id", runId,
          "+", "score", "--ensemble", store, "--input", data + "/test", "--output", scored,
          "+", "evaluate", "--ensemble", store, "--test", data + "/test", "--ood", data + "/ood",
          "--report", report));
      assertEquals(0, r.code(), r.describe());
      ApplicationReport app = onlyNewApplication(before, r);
      assertEquals(FinalApplicationStatus.SUCCEEDED, app.getFinalApplicationStatus(), describe(app));
      assertEquals(YarnApplicationState.FINISHED, app.getYarnApplicationState(), describe(app));
      assertTrue(app.getApplicationTags().contains("deepens"), "spark.yarn.tags from the conf: " + describe(app));

      // the driver's log: spark-submit's own output in client mode, the ApplicationMaster container's in cluster mode
      String driverLog = mode.equals("client") ? r.err() : containerLog(app.getApplicationId(), 1);
      List<String> outcomes = StandaloneSubmitIT.outcomes(driverLog);
      assertEquals(4, outcomes.size(), "one outcome line per command: " + outcomes);
      for (String o : outcomes) {
        assertTrue(o.endsWith("(exit 0)"), o);
      }
      assertTrue(outcomes.get(1).startsWith("trained 2 members, published " + store + " version v000001 as run "
          + runId), outcomes.get(1));
      assertTrue(outcomes.get(3).contains("report in " + report), outcomes.get(3));
      step(mode + " mode: import + train + score + evaluate, YARN " + describe(app), t);

      Set<String> executors = checkStore(store, runId);
      checkExecutorContainers(app.getApplicationId(), executors);
      StandaloneSubmitIT.checkScoredTable(data, scored);
      checkReport(report);
    });
  }

  /**
   * The published version on HDFS: LATEST, the manifest, each member file's SHA-256 recomputed against the manifest's,
   * and members trained in two executors on the NodeManager's host (not in the driver). Returns the executor ids.
   */
  Set<String> checkStore(String store, String runId) throws IOException {
    assertEquals("v000001", readText(store + "/LATEST").strip());
    JsonNode m = new ObjectMapper().readTree(readText(store + "/versions/v000001/manifest.json"));
    assertEquals(runId, m.path("runId").asText());
    assertEquals(2, m.path("members").size(), m.toString());
    Set<String> nodeHosts = new HashSet<>();
    for (NodeReport n : nodeReports()) {
      nodeHosts.add(n.getNodeId().getHost());
    }
    // every file the manifest lists, read back from HDFS, has the SHA-256 the manifest gives
    List<String> files = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = m.path("files").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      byte[] bytes;
      try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(store + "/versions/v000001/" + f.getKey()))) {
        bytes = in.readAllBytes();
      }
      assertEquals(Sha256.of(bytes), f.getValue().asText(), "the manifest's checksum of " + f.getKey());
      files.add(f.getKey());
    }
    assertTrue(files.containsAll(List.of("members/m-000.zip", "members/m-001.zip")), "member files listed: " + files);
    Set<String> executors = new HashSet<>();
    for (int i = 0; i < 2; i++) {
      JsonNode member = m.path("members").get(i);
      String executor = member.path("report").path("executorId").asText();
      String host = member.path("report").path("host").asText();
      assertTrue(executor.matches("[1-9][0-9]*"), "member " + i + " trained in a YARN executor (ids 1, 2, ...), not "
          + "the driver: '" + executor + "'");
      assertTrue(nodeHosts.contains(host), "member " + i + " ran on a NodeManager's host " + nodeHosts + ": " + host);
      executors.add(executor);
    }
    assertEquals(2, executors.size(), "the two members trained in two executors: " + executors);
    assertFalse(fs.exists(new org.apache.hadoop.fs.Path(store + "/checkpoints/" + runId)),
        "checkpoints removed after publication");
    return executors;
  }

  /**
   * Each executor that trained a member is a NodeManager container of the application whose own log says so (the
   * member task's log line names its executor).
   */
  void checkExecutorContainers(ApplicationId app, Set<String> executors) throws IOException {
    Map<String, String> logs = containerLogs(app);
    assertTrue(logs.size() >= 3, "the ApplicationMaster and two executor containers: " + logs.keySet());
    for (String e : executors) {
      List<String> in = logs.entrySet().stream()
          .filter(c -> c.getValue().matches(
              "(?s).*MemberTask: member \\d: \\d+ training rows, .* executor " + e + " on .*"))
          .map(Map.Entry::getKey).toList();
      assertEquals(1, in.size(), "executor " + e + " logged its member in one container: " + in);
      assertFalse(in.get(0).endsWith("_000001"), "not the ApplicationMaster's container: " + in);
    }
  }

  void checkReport(String report) throws IOException {
    JsonNode metrics = new ObjectMapper().readTree(readText(report + "/metrics.json"));
    assertEquals(2, metrics.path("members").size(), metrics.toString());
    double accuracy = metrics.path("ensemble").path("accuracy").asDouble(-1);
    // 2 epochs of the 64-64 MLP on 8 classes: far above chance (1/8); 0.5 leaves a wide margin
    assertTrue(accuracy > 0.5, "ensemble accuracy on the seen digits well above chance (1/8): " + accuracy);
    for (String k : List.of("nll", "brier", "ece", "auroc_entropy", "auroc_mi")) {
      assertTrue(metrics.path("ensemble").has(k), "metrics.json ensemble." + k + ": " + metrics);
    }
    assertTrue(fs.getFileStatus(new org.apache.hadoop.fs.Path(report + "/index.html")).getLen() > 0, "the HTML report");
  }

  // ---- YARN's view

  Set<ApplicationId> applicationIds() throws Exception {
    Set<ApplicationId> ids = new HashSet<>();
    for (ApplicationReport a : client.getApplications()) {
      ids.add(a.getApplicationId());
    }
    return ids;
  }

  /** The one application a submission added, once YARN has its final status (cluster mode returns at that point). */
  ApplicationReport onlyNewApplication(Set<ApplicationId> before, StandaloneSubmitIT.Result r) throws Exception {
    List<ApplicationReport> added = new ArrayList<>();
    for (ApplicationReport a : client.getApplications()) {
      if (!before.contains(a.getApplicationId())) {
        added.add(a);
      }
    }
    assertEquals(1, added.size(), "one YARN application per submission: " + added + "\n" + r.describe());
    ApplicationId id = added.get(0).getApplicationId();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // client mode: the AM unregisters after exit
    ApplicationReport app = client.getApplicationReport(id);
    while (app.getFinalApplicationStatus() == FinalApplicationStatus.UNDEFINED && System.nanoTime() < deadline) {
      Thread.sleep(250);
      app = client.getApplicationReport(id);
    }
    return app;
  }

  List<NodeReport> nodeReports() throws IOException {
    try {
      return client.getNodeReports(NodeState.RUNNING);
    } catch (org.apache.hadoop.yarn.exceptions.YarnException e) {
      throw new IOException(e);
    }
  }

  static String describe(ApplicationReport a) {
    return a.getApplicationId() + " " + a.getYarnApplicationState() + "/" + a.getFinalApplicationStatus()
        + " diagnostics: " + a.getDiagnostics();
  }

  /** The stderr of each container of an application, by container id, from the NodeManager's log folders. */
  Map<String, String> containerLogs(ApplicationId app) throws IOException {
    Map<String, String> logs = new HashMap<>();
    for (String d : yarn.getNodeManager(0).getConfig().getTrimmedStrings(YarnConfiguration.NM_LOG_DIRS)) {
      Path appDir = Path.of(URI.create(d.startsWith("file:") ? d : "file://" + d)).resolve(app.toString());
      if (!Files.isDirectory(appDir)) {
        continue;
      }
      try (Stream<Path> s = Files.list(appDir)) {
        for (Path c : s.toList()) {
          logs.put(c.getFileName().toString(), StandaloneSubmitIT.read(c.resolve("stderr")));
        }
      }
    }
    return logs;
  }

  /** The stderr of container {@code n} of the first attempt (1 is the ApplicationMaster). */
  String containerLog(ApplicationId app, int n) throws IOException {
    Map<String, String> logs = containerLogs(app);
    for (Iterator<Map.Entry<String, String>> it = logs.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, String> e = it.next();
      if (e.getKey().endsWith(String.format("_01_%06d", n)) || e.getKey().endsWith(String.format("_%06d", n))) {
        return e.getValue();
      }
    }
    fail("no log of container " + n + " of " + app + " in " + logs.keySet());
    return null;
  }

  String readText(String uri) throws IOException {
    try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(uri))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  // ---- processes

  /** scripts/submit.sh with YARN's spark-defaults, this machine's sizing and Spark's jars on HDFS. */
  StandaloneSubmitIT.Result submit(String name, String deployMode, List<String> deepensArgs) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("scripts/submit.sh").toString(),
        "--master", "yarn", "--deploy-mode", deployMode,
        "--properties-file", ROOT.resolve("conf/spark-defaults-yarn.conf").toString(),
        "--conf", "spark.yarn.jars=" + sparkJars));
    cmd.addAll(SIZING);
    cmd.addAll(deepensArgs);
    return run(name, cmd, SUBMIT);
  }

  StandaloneSubmitIT.Result run(String name, List<String> cmd, Duration timeout) throws Exception {
    return StandaloneSubmitIT.run(name, cmd, timeout, DIR, env);
  }

  static List<String> killProcessesOfThisFolder() {
    return StandaloneSubmitIT.killProcessesOf(DIR);
  }

  interface Check {
    void run() throws Exception;
  }

  /** Runs a check; a failure keeps the logs and says where they are (in {@link #stopClusters}). */
  void guard(Check check) throws Exception {
    try {
      check.run();
    } catch (Throwable t) {
      failed = true;
      System.out.println("YarnSubmitIT: " + String.valueOf(t.getMessage()).lines().findFirst().orElse("")
          + " -- logs in " + DIR);
      throw t;
    }
  }

  static void step(String what, long sinceNanos) {
    System.out.printf("YarnSubmitIT: %s: %.1f s%n", what, (System.nanoTime() - sinceNanos) / 1e9);
  }
}
