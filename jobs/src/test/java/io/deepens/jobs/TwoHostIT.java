package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.store.Sha256;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * deepens on two hosts, as far as the network goes: host A (network namespace {@value #NS_A}, 10.78.0.1) runs the
 * standalone master and the driver, host B ({@value #NS_B}, 10.78.0.2) runs the worker and its executors. The two
 * namespaces are joined by a veth pair and nothing else: neither has a route to the machine's own interfaces, and
 * each one's loopback is its own, so an executor told to call the driver at 127.0.0.1 would reach nothing. The
 * submissions pass no driver settings: Spark finds the driver's address itself. The file system is shared (like an
 * NFS mount), except one folder that host B mounts privately: a store there is one the driver cannot see.
 *
 * <p>Checks: import + train + score succeed, both members trained in an executor on host B and their files are
 * where the driver reads them; a train into the private store publishes nothing and fails with exit 2 saying the
 * store must be shared. Needs root (network and mount namespaces); without it the test is skipped with the reason
 * printed. On CI (environment {@code CI=true}) it must run: there a missing capability fails it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TwoHostIT {
  static final Path ROOT = Path.of(EndToEndTest.ROOT);
  static final String NS_A = "deepens-it-a";
  static final String NS_B = "deepens-it-b";
  static final String IP_A = "10.78.0.1";
  static final String IP_B = "10.78.0.2";
  static final int MASTER_PORT = 7078;
  static final Duration SUBMIT = Duration.ofSeconds(420);

  Path dir;
  Map<String, String> env;
  final List<Process> daemons = new ArrayList<>();

  @BeforeAll
  void twoHosts() throws Exception {
    String why = whyNoNamespaces();
    if (why != null) {
      String msg = "TwoHostIT skipped: " + why;
      System.out.println(msg);
      if ("true".equals(System.getenv("CI"))) {
        fail(msg + " (CI must run it: run it as root on a machine with iproute2)");
      }
      Assumptions.abort(msg);
    }
    dir = ROOT.resolve("jobs/target/it-two-host");
    deleteNamespaces();
    StandaloneSubmitIT.deleteRecursively(dir);
    Files.createDirectories(dir.resolve("private-store"));
    Files.createDirectories(dir.resolve("logs"));
    env = new HashMap<>(System.getenv());
    env.remove("SPARK_TESTING");
    env.remove("SPARK_CONF_DIR");
    env.remove("SPARK_LOCAL_IP");
    env.remove("SPARK_LOCAL_HOSTNAME");
    env.put("PATH", Path.of(System.getProperty("java.home"), "bin") + File.pathSeparator
        + env.getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
    env.put("DEEPENS_SPARK_HOME", dir.resolve("spark-home").toString());
    env.put("DEEPENS_SPARK_SUBMIT", "build");
    env.put("DEEPENS_DRIVER_MEMORY", "1g");

    sh("netns", "ip netns add " + NS_A + " && ip netns add " + NS_B
        + " && ip link add dpit-a netns " + NS_A + " type veth peer name dpit-b netns " + NS_B
        + " && ip -n " + NS_A + " addr add " + IP_A + "/24 dev dpit-a && ip -n " + NS_A + " link set dpit-a up"
        + " && ip -n " + NS_A + " link set lo up"
        + " && ip -n " + NS_B + " addr add " + IP_B + "/24 dev dpit-b && ip -n " + NS_B + " link set dpit-b up"
        + " && ip -n " + NS_B + " link set lo up");
    String sparkHome = sh("spark-home", "source scripts/spark-home.sh && deepens_spark_home && echo $SPARK_HOME")
        .strip();
    env.put("SPARK_HOME", sparkHome);
    env.put("SPARK_SCALA_VERSION", "2.12");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String opens = sh("java-opens", "source scripts/java-opens.sh && echo \"${OPENS[@]}\"").strip();
    daemons.add(start("master", "exec ip netns exec " + NS_A + " " + java + " -Xmx512m " + opens
        + " -cp '" + sparkHome + "/jars/*' org.apache.spark.deploy.master.Master --host " + IP_A + " --port "
        + MASTER_PORT + " --webui-port 8078"));
    waitForLog("master", "Starting Spark master at spark://" + IP_A + ":" + MASTER_PORT);
    // host B: its own mount namespace (ip netns exec makes one), with a private folder over dir/private-store
    daemons.add(start("worker", "exec ip netns exec " + NS_B + " sh -c 'mount -t tmpfs -o size=256m deepens-it "
        + dir.resolve("private-store") + " && exec " + java + " -Xmx512m " + opens + " -cp \"" + sparkHome
        + "/jars/*\" org.apache.spark.deploy.worker.Worker spark://" + IP_A + ":" + MASTER_PORT + " --host " + IP_B
        + " --cores 2 --memory 3g --webui-port 8079 --work-dir " + dir.resolve("worker") + "'"));
    waitForLog("worker", "Successfully registered with master");
  }

  @AfterAll
  void stop() throws Exception {
    for (Process p : daemons) {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    }
    for (Process p : daemons) {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
    }
    if (dir != null) {
      deleteNamespaces(); // kills what is left in them (executors) by pid, then removes them
    }
  }

  @Test
  void trainAndScoreWithTheWorkerOnAnotherHostAndNoDriverSettings() throws Exception {
    Path data = dir.resolve("data");
    Path store = dir.resolve("store");
    Path scored = dir.resolve("scored");
    StandaloneSubmitIT.Result r = submit("train-score", List.of(
        "import", "optdigits", "--output", data.toString(),
        "+", "train", "--config", ROOT.resolve("conf/digits-mlp.yaml").toString(), "--data", data + "/train",
        "--store", store.toString(), "--members", "2", "--epochs", "2", "--run-id", "two-host",
        "+", "score", "--ensemble", store.toString(), "--input", data + "/test", "--output", scored.toString()));
    assertEquals(0, r.code(), r.describe());
    assertFalse(r.err().contains("CoarseGrainedScheduler@127.0.0.1"), "the driver did not announce loopback");
    assertTrue(r.err().contains("is on a local file system and the master spark://" + IP_A + ":" + MASTER_PORT
        + " can run executors on other hosts"), "a file: store on a cluster master is warned about\n"
        + r.describe());

    assertEquals("v000001", Files.readString(store.resolve("LATEST")).strip());
    JsonNode m = new ObjectMapper().readTree(store.resolve("versions/v000001/manifest.json").toFile());
    assertEquals(2, m.path("members").size());
    for (JsonNode member : m.path("members")) {
      JsonNode report = member.path("report");
      assertEquals(IP_B, report.path("host").asText(), "member trained on host B: " + report);
      assertFalse(report.path("executorId").asText().equals("driver"), report.toString());
      String file = member.path("file").asText();
      assertEquals(m.path("files").path(file).asText(),
          Sha256.of(Files.readAllBytes(store.resolve("versions/v000001").resolve(file))), file);
    }
    StandaloneSubmitIT.checkScoredTable(data.toString(), scored.toString());

    // a store that only host B sees: the members train, their files are not where the driver reads them
    Path hidden = dir.resolve("private-store");
    StandaloneSubmitIT.Result h = submit("train-private-store", List.of(
        "train", "--config", ROOT.resolve("conf/digits-mlp.yaml").toString(), "--data", data + "/train",
        "--store", hidden.toString(), "--members", "2", "--epochs", "1", "--run-id", "hidden"));
    assertEquals(2, h.code(), h.describe());
    List<String> outcomes = StandaloneSubmitIT.outcomes(h.err());
    assertEquals(1, outcomes.size(), h.describe());
    assertTrue(outcomes.get(0).contains("nothing was published: member 0's file "), outcomes.get(0));
    assertTrue(outcomes.get(0).contains("does not exist where the driver reads it"), outcomes.get(0));
    assertTrue(outcomes.get(0).contains("the store must be a file system that the driver and every executor host "
        + "share"), outcomes.get(0));
    assertFalse(Files.exists(hidden.resolve("LATEST")), "nothing published");
    assertFalse(Files.exists(hidden.resolve("versions")), "nothing published");
  }

  StandaloneSubmitIT.Result submit(String name, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS_A, "bash",
        ROOT.resolve("scripts/submit.sh").toString(), "--master", "spark://" + IP_A + ":" + MASTER_PORT,
        "--executor-memory", "2g"));
    cmd.addAll(args);
    return StandaloneSubmitIT.run(name, cmd, SUBMIT, dir, env);
  }

  /** Why this machine cannot give the test two namespaces, or null when it can. */
  static String whyNoNamespaces() {
    try {
      Process id = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
      String uid = new String(id.getInputStream().readAllBytes()).strip();
      id.waitFor();
      if (!uid.equals("0")) {
        return "needs root to create network and mount namespaces (running as uid " + uid + ")";
      }
      Process ip = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
      String said = new String(ip.getInputStream().readAllBytes()).strip();
      if (ip.waitFor() != 0) {
        return "'ip netns list' failed: " + said;
      }
      return null;
    } catch (IOException e) {
      return "cannot run 'ip' (iproute2): " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** Kills every process left in the test's namespaces (by pid) and deletes the namespaces and their veth pair. */
  void deleteNamespaces() throws Exception {
    for (String ns : List.of(NS_B, NS_A)) {
      Process pids = new ProcessBuilder("ip", "netns", "pids", ns).redirectErrorStream(true).start();
      String out = new String(pids.getInputStream().readAllBytes());
      pids.waitFor();
      for (String pid : out.split("\\s+")) {
        if (pid.matches("\\d+")) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    }
    Thread.sleep(500);
    new ProcessBuilder("sh", "-c", "ip netns del " + NS_A + " 2>/dev/null; ip netns del " + NS_B + " 2>/dev/null; "
        + "true").start().waitFor();
  }

  String sh(String name, String script) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(ROOT.toFile())
        .redirectError(dir.resolve("logs/" + name + ".err").toFile());
    pb.environment().clear();
    pb.environment().putAll(env == null ? System.getenv() : env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), name + ": " + script + "\n" + StandaloneSubmitIT.read(dir.resolve("logs/" + name
        + ".err")));
    return out;
  }

  Process start(String name, String script) throws IOException {
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(ROOT.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(dir.resolve("logs/" + name + ".log").toFile()).redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(env);
    return pb.start();
  }

  void waitForLog(String name, String line) throws Exception {
    Path log = dir.resolve("logs/" + name + ".log");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (StandaloneSubmitIT.read(log).contains(line)) {
        return;
      }
      Thread.sleep(500);
    }
    fail(name + " did not log '" + line + "' within 120 s:\n" + StandaloneSubmitIT.tail(StandaloneSubmitIT.read(log),
        40));
  }
}
