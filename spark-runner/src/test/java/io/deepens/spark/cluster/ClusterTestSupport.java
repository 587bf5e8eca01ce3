package io.deepens.spark.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Starts a real multi-JVM Spark cluster ({@code local-cluster[N,cores,memMB]}) from the test JVM: master and
 * workers run inside this JVM, every executor is its own JVM started by a worker with this JVM's classpath.
 * Only one SparkContext may live in a JVM, so starting one stops whatever session is active (the shared
 * {@code local[2]} session of {@link SparkTestSupport} is recreated on its next use).
 */
final class ClusterTestSupport {
  /** Spark's Java 17 list (the same as the parent pom's spark.java17.opens). */
  static final String JAVA17_OPENS = String.join(" ", SparkTestSupport.JAVA17_OPENS);

  private ClusterTestSupport() {}

  /** This JVM's classpath with absolute entries (surefire's manifest-only booter jar is resolved). */
  static String testClasspath() {
    return SparkTestSupport.testClasspath();
  }

  /** Stops any active SparkSession, then starts {@code master} (a local-cluster URL) with the given extra conf. */
  static SparkSession start(String master, String appName, Map<String, String> extra) {
    stopActive();
    Map<String, String> conf = new LinkedHashMap<>();
    conf.put("spark.executor.extraClassPath", testClasspath());
    String log4j = System.getProperty("log4j2.configurationFile");
    conf.put("spark.executor.extraJavaOptions",
        JAVA17_OPENS + (log4j == null ? "" : " -Dlog4j2.configurationFile=" + log4j));
    conf.put("spark.executorEnv.SPARK_SCALA_VERSION", "2.12");
    conf.put("spark.executorEnv.SPARK_TESTING", "1");
    conf.put("spark.executor.memory", "768m");
    conf.put("spark.sql.shuffle.partitions", "4");
    conf.put("spark.kryo.registrationRequired", "true");
    conf.putAll(extra);
    SparkSession spark = SparkSessions.getOrCreate(master, appName, conf);
    if (!master.equals(spark.sparkContext().master())) {
      throw new IllegalStateException("an old session was reused: master " + spark.sparkContext().master());
    }
    return spark;
  }

  static void stopActive() {
    SparkSession.getActiveSession().foreach(s -> {
      s.stop();
      return null;
    });
    SparkSession.getDefaultSession().foreach(s -> {
      s.stop();
      return null;
    });
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
  }

  /** Waits until {@code n} executors have registered (a local-cluster starts them asynchronously). */
  static void awaitExecutors(SparkSession spark, int n, long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (spark.sparkContext().statusTracker().getExecutorInfos().length - 1 < n) { // minus the driver
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("only " + (spark.sparkContext().statusTracker().getExecutorInfos().length - 1)
            + " of " + n + " executors registered in " + timeoutMs + " ms");
      }
      Thread.sleep(200);
    }
  }

  /** The digits training table of the local tests (labels 0..7, ids with id % 5 in 0..3). */
  static Dataset<Row> digitsTrain(SparkSession spark) {
    return SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2, 3);
  }

  static SparkEnsembleTrainer.Result train(SparkSession spark, EnsembleSpec spec, Path store, String runId) {
    return new SparkEnsembleTrainer(spark).train(digitsTrain(spark), null, spec,
        new SparkEnsembleTrainer.Options(store.toUri().toString(), runId, "digits[0..7]", Map.of()));
  }

  /** Trains in {@code local[2]} (the shared test session), returns per-member paramsSha256 and stops the session. */
  static List<String> localReference(EnsembleSpec spec, Path store) {
    stopActive();
    SparkSession local = SparkTestSupport.local();
    try {
      return paramsShas(train(local, spec, store, "reference").manifest());
    } finally {
      local.stop();
    }
  }

  /** The small digits spec of {@link SparkTestSupport#smallSpec} asking for {@code gpus} GPUs per member. */
  static EnsembleSpec gpuSpec(int members, int epochs, String gpus) {
    String json = SparkTestSupport.smallSpec(members, epochs).toJson();
    com.fasterxml.jackson.databind.node.ObjectNode tree;
    try {
      tree = (com.fasterxml.jackson.databind.node.ObjectNode) io.deepens.core.store.EnsembleStore.json().readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    ((com.fasterxml.jackson.databind.node.ObjectNode) tree.get("resources")).put("gpusPerMember",
        Double.parseDouble(gpus));
    return EnsembleSpec.fromJson(tree.toString());
  }

  /** Records when each task of the member-training stage ran, to show that members overlapped in time. */
  static final class MemberTaskTimes extends org.apache.spark.scheduler.SparkListener {
    final Map<Integer, String> stageNames = new java.util.concurrent.ConcurrentHashMap<>();
    final List<long[]> spans = new java.util.concurrent.CopyOnWriteArrayList<>(); // stageId, launch, finish, ok

    @Override
    public void onStageSubmitted(org.apache.spark.scheduler.SparkListenerStageSubmitted e) {
      stageNames.put(e.stageInfo().stageId(), e.stageInfo().name());
    }

    @Override
    public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) {
      spans.add(new long[] {e.stageId(), e.taskInfo().launchTime(), e.taskInfo().finishTime(),
          e.taskInfo().successful() ? 1 : 0});
    }

    /** Successful tasks of stages named "collectPartitions at SparkEnsembleTrainer..." (the member tasks). */
    List<long[]> memberTasks() {
      return spans.stream().filter(t -> t[3] == 1
          && stageNames.getOrDefault((int) t[0], "").startsWith("collectPartitions at SparkEnsembleTrainer")).toList();
    }

    /** True if the two given tasks ran at the same time for a while. */
    static boolean overlap(long[] a, long[] b) {
      return Math.max(a[1], b[1]) < Math.min(a[2], b[2]);
    }
  }

  static JsonNode report(Manifest m, int member) {
    return m.members().get(member).report();
  }

  static List<String> paramsShas(Manifest m) {
    List<String> out = new ArrayList<>();
    for (Manifest.MemberEntry e : m.members()) {
      out.add(e.report().path("report").path("paramsSha256").asText(null));
    }
    return out;
  }

  static Map<Integer, String> executors(Manifest m) {
    Map<Integer, String> out = new HashMap<>();
    for (Manifest.MemberEntry e : m.members()) {
      out.put(e.index(), e.report().path("executorId").asText(null));
    }
    return out;
  }
}
