package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.store.RunLock;
import io.deepens.core.store.Sha256;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Running deepens unattended, through the real command line in-process: idempotent run ids, resuming a crashed run,
 * a run id held by another process, warm start, retention with scorer leases, a scorer that keeps its version while
 * the next one is published, and {@code inspect}'s output. One tiny ensemble (1 member, 1 hidden layer, 2 epochs)
 * trained once; the other stores are copies of it or short runs of the same spec.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OperationsTest {
  static final String SPEC = """
      name: ops-test
      task: classification
      data:
        features: features
        label: label
        classes: 8
        key: id
        validation:
          fraction: 0.2
      network:
        type: mlp
        hidden: [32]
        activation: relu
      training:
        optimizer: adam
        learningRate: 0.005
        batchSize: 32
        epochs: 2
      ensemble:
        members: 1
        seed: 7
      resources:
        threadsPerMember: 1
      """;

  Path tmp;
  String config;
  String data;
  String storeA;
  Manifest first;

  static EndToEndTest.Run main(String... args) {
    return EndToEndTest.main(args);
  }

  String[] train(String store, String runId, String... extra) {
    List<String> a = new java.util.ArrayList<>(List.of("train", "--config", config, "--data", data + "/train",
        "--store", store, "--run-id", runId, "--master", "local[2]"));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  static EnsembleStore open(String store) {
    return EnsembleStore.open(store, new Configuration());
  }

  static String paramsSha(Manifest m) {
    return m.members().get(0).report().path("report").path("paramsSha256").asText();
  }

  @BeforeAll
  void trainOnce(@TempDir Path dir) throws Exception {
    tmp = dir;
    config = dir.resolve("ops.yaml").toString();
    Files.writeString(Path.of(config), SPEC);
    data = dir.resolve("data").toString();
    assertEquals(0, main("import", "optdigits", "--output", data, "--master", "local[2]").code());
    storeA = dir.resolve("store-a").toString();
    EndToEndTest.Run r = main(train(storeA, "nightly-1"));
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("published " + storeA + "#v000001"), r.out());
    first = open(storeA).readManifest("v000001");
  }

  @Test
  void rerunningAPublishedRunIdPublishesNothingExits0AndSaysWhereTheResultIs() throws Exception {
    Map<String, String> before = snapshot(Path.of(storeA));
    List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    EndToEndTest.Run r = capturingLog(log, () -> main(train(storeA, "nightly-1")));
    assertEquals(0, r.code(), "a rerun of a finished run is a success (exit 0): " + r.err());
    assertTrue(r.out().contains("nothing to do: run nightly-1 was already published as " + storeA + "#v000001"),
        r.out());
    assertFalse(r.out().contains("published " + storeA + "#"), "no new publication is announced: " + r.out());
    assertEquals(List.of("v000001"), open(storeA).versions());
    assertEquals("v000001", open(storeA).latestVersion().orElseThrow());
    assertEquals(before, snapshot(Path.of(storeA)),
        "the rerun wrote nothing to the store: no version, checkpoint, lock, staging folder or run record");
    assertTrue(log.stream().anyMatch(l -> l.startsWith("org.apache.spark.SparkContext")), "Spark logged " + log);
    assertEquals("io.deepens.jobs.Main: outcome: nothing to do: run nightly-1 was already published as " + storeA
        + "#v000001 (exit 0)", log.get(log.size() - 1), "the outcome is the last log line, after Spark's shutdown");
  }

  /** Every file under {@code dir} (relative path) with its size, modification time and SHA-256. */
  static Map<String, String> snapshot(Path dir) throws Exception {
    Map<String, String> m = new java.util.TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.toList()) {
        String key = dir.relativize(p).toString();
        m.put(key, Files.isDirectory(p) ? "dir"
            : Files.size(p) + " " + Files.getLastModifiedTime(p) + " " + Sha256.of(Files.readAllBytes(p)));
      }
    }
    return m;
  }

  /** Runs {@code body} with every log event (Spark's SparkContext at INFO, as in conf/log4j2.properties) captured. */
  static <T> T capturingLog(List<String> lines, java.util.function.Supplier<T> body) {
    org.apache.logging.log4j.core.LoggerContext ctx =
        (org.apache.logging.log4j.core.LoggerContext) org.apache.logging.log4j.LogManager.getContext(false);
    org.apache.logging.log4j.core.appender.AbstractAppender app =
        new org.apache.logging.log4j.core.appender.AbstractAppender("ops-test-capture", null, null, true,
            org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY) {
          @Override
          public void append(org.apache.logging.log4j.core.LogEvent e) {
            lines.add(e.getLoggerName() + ": " + e.getMessage().getFormattedMessage());
          }
        };
    app.start();
    org.apache.logging.log4j.Level before = org.apache.logging.log4j.LogManager
        .getLogger("org.apache.spark.SparkContext").getLevel();
    org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.spark.SparkContext",
        org.apache.logging.log4j.Level.INFO);
    ctx.getConfiguration().getRootLogger().addAppender(app, org.apache.logging.log4j.Level.ALL, null);
    ctx.getConfiguration().getLoggers().values().forEach(l -> {
      if (!l.isAdditive()) {
        l.addAppender(app, org.apache.logging.log4j.Level.ALL, null);
      }
    });
    ctx.updateLoggers();
    try {
      return body.get();
    } finally {
      ctx.getConfiguration().getRootLogger().removeAppender(app.getName());
      ctx.getConfiguration().getLoggers().values().forEach(l -> l.removeAppender(app.getName()));
      org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.spark.SparkContext", before);
      ctx.updateLoggers();
      app.stop();
    }
  }

  @Test
  void aCrashedRunResumesFromItsCheckpointsAndEndsWithTheUndisturbedParameters() throws Exception {
    String store = tmp.resolve("store-crash").toString();
    // the store refuses publication: a file where the staging folder must go (as a file system failing at the end)
    Files.createDirectories(Path.of(store));
    Files.writeString(Path.of(store, "staging"), "in the way");
    EndToEndTest.Run crashed = main(train(store, "nightly-1"));
    assertEquals(ExitCode.INFRASTRUCTURE.code, crashed.code(), crashed.err());
    assertTrue(crashed.err().contains("staging"), crashed.err());
    assertTrue(Files.exists(Path.of(store, "checkpoints/nightly-1/m-000/latest.ckpt")), "the checkpoint stays");
    assertTrue(open(store).versions().isEmpty());
    // the crashed driver JVM never released its lock: its last heartbeat is 11 minutes old
    Files.write(Path.of(store, "checkpoints/nightly-1/LOCK"), EnsembleStore.toJson(new RunLock.Holder("dead",
        "nightly-1", "deepens train", "lost-host", 1, Instant.now().minus(Duration.ofMinutes(12)).toString(),
        Instant.now().minus(Duration.ofMinutes(11)).toString())));
    Files.delete(Path.of(store, "staging"));

    EndToEndTest.Run rerun = main(train(store, "nightly-1"));
    assertEquals(0, rerun.code(), rerun.err());
    assertTrue(rerun.out().contains("published " + store + "#v000001"), rerun.out());
    Manifest m = open(store).readManifest("v000001");
    JsonNode report = m.members().get(0).report().path("report");
    assertEquals(2, report.path("resumedFromEpoch").asInt(), "the rerun resumed after epoch 2, training nothing");
    assertEquals(paramsSha(first), paramsSha(m), "same parameters as the undisturbed run");
    assertFalse(Files.exists(Path.of(store, "checkpoints/nightly-1")), "checkpoints removed after publication");
  }

  @Test
  void aRunIdHeldByAnotherLiveProcessFailsAtOnceWithExitCode5() throws Exception {
    String store = tmp.resolve("store-busy").toString();
    try (RunLock other = RunLock.acquire(open(store), "nightly-1", "deepens train (the 02:00 cron run)")) {
      EndToEndTest.Run r = main(train(store, "nightly-1"));
      assertEquals(ExitCode.BUSY.code, r.code(), r.err());
      assertTrue(r.err().contains("run id 'nightly-1' is being trained by another process: deepens train (the 02:00"
          + " cron run)") && r.err().contains("Wait for it to finish, or use another --run-id"), r.err());
      try (Stream<Path> files = Files.list(Path.of(store, "checkpoints/nightly-1"))) {
        assertEquals(List.of("LOCK"), files.map(p -> p.getFileName().toString()).toList(),
            "the loser wrote nothing");
      }
      assertEquals(other.holder().token(), RunLock.read(open(store), "nightly-1").orElseThrow().token(),
          "the winner keeps its lock");
    }
  }

  @Test
  void warmStartRetentionAndAScorerThatKeepsItsVersionWhileTheNextIsPublished() throws Exception {
    Path storePath = tmp.resolve("store-warm");
    copy(Path.of(storeA), storePath);
    String store = storePath.toString();
    SparkSession spark = SparkSessions.getOrCreate("local[2]", "ops-test", Map.of());
    Dataset<Row> test = spark.read().parquet(data + "/test");
    EnsembleScorer onV1 = EnsembleScorer.resolve(spark, store, null); // a scoring job starts on LATEST = v000001
    assertEquals("v000001", onV1.manifest().version());
    float[] before = probabilities(spark, onV1, test);

    EndToEndTest.Run warm = main(train(store, "nightly-2", "--warm-start", "LATEST", "--keep", "1"));
    assertEquals(0, warm.code(), warm.err());
    assertTrue(warm.out().contains("published " + store + "#v000002"), warm.out());
    EnsembleStore st = open(store);
    assertEquals(List.of("v000001", "v000002"), st.versions(),
        "--keep 1 keeps v000001: a scorer resolved it less than an hour ago");
    Manifest v2 = st.readManifest("v000002");
    JsonNode provenance = EnsembleStore.json().valueToTree(v2.provenance());
    assertEquals("v000001", provenance.path("warmStart").path("version").asText(), provenance.toString());
    assertEquals("nightly-1", provenance.path("warmStart").path("runId").asText());
    assertNotEquals(paramsSha(first), paramsSha(v2));
    double coldNll = first.members().get(0).report().path("report").path("epochs").get(0).path("validationNll")
        .asDouble();
    double warmNll = v2.members().get(0).report().path("report").path("epochs").get(0).path("validationNll")
        .asDouble();
    assertTrue(warmNll < coldNll, "warm-started epoch 0 (" + warmNll + ") continues from v1, better than a cold "
        + "epoch 0 (" + coldNll + ")");

    // the job that resolved v000001 keeps scoring v000001 after v000002 is LATEST
    spark = SparkSessions.getOrCreate("local[2]", "ops-test", Map.of());
    test = spark.read().parquet(data + "/test");
    assertArrayEquals(before, probabilities(spark, onV1, test), 0f);
    assertArrayEquals(before, probabilities(spark, EnsembleScorer.resolve(spark, store, "v000001"), test), 0f);
    EnsembleScorer latest = EnsembleScorer.resolve(spark, store, null);
    assertEquals("v000002", latest.manifest().version());
    assertFalse(java.util.Arrays.equals(before, probabilities(spark, latest, test)), "v000002 scores differently");
    spark.stop();

    // an hour later the leases have expired: gc removes v000001
    try (Stream<Path> leases = Files.walk(storePath.resolve("leases/v000001"))) {
      for (Path p : leases.filter(Files::isRegularFile).toList()) {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(Duration.ofMinutes(61))));
      }
    }
    EndToEndTest.Run gc = main("gc", "--store", store, "--keep", "1");
    assertEquals(0, gc.code(), gc.err());
    assertTrue(gc.out().contains("removed v000001") && gc.out().contains("keep    v000002  (one of the newest 1)"),
        gc.out());
    assertEquals(List.of("v000002"), open(store).versions());
    assertEquals(ExitCode.NOTHING_TO_DO.code, main("gc", "--store", store, "--keep", "1").code());

    EndToEndTest.Run mismatch = main(train(store, "nightly-3", "--warm-start", "v000002", "--members", "2"));
    assertEquals(ExitCode.USAGE.code, mismatch.code());
    assertTrue(mismatch.err().contains("--warm-start v000002 has 1 members but this run trains 2"), mismatch.err());
  }

  @Test
  void inspectPrintsTheManifestAsATableAsJsonAndListsVersions() throws Exception {
    String sha = first.members().get(0).sha256();
    EndToEndTest.Run table = main("inspect", "--ensemble", storeA + "#v000001");
    assertEquals(0, table.code(), table.err());
    String out = table.out();
    for (String line : List.of("run       nightly-1, published ", "task      classification, 64 features, 8 outputs",
        "spec      ops-test (sha256 " + first.specSha256() + ")", "mixture   temperature 1.0000",
        "scoring   1 forward pass per row (one per member)",
        "member  status           weight    val NLL    val acc  file (sha256)")) {
      assertTrue(out.contains(line), "'" + line + "' missing from:\n" + out);
    }
    assertTrue(Pattern.compile("(?m)^ensemble  file:\\S+store-a#v000001$").matcher(out).find(), out);
    assertTrue(Pattern.compile("(?m)^data      \\S+/train: \\d+ rows \\(\\d+ train, \\d+ validation\\), content hash "
        + "[0-9a-f]+$").matcher(out).find(), out);
    assertTrue(Pattern.compile("(?m)^0\\s+OK\\s+1\\.0000\\s+\\d\\.\\d{4}\\s+\\d\\.\\d{4}\\s+members/m-000\\.zip \\("
        + sha.substring(0, 12) + "…\\)$").matcher(out).find(), out);
    assertTrue(Pattern.compile("(?m)^  runId\\s+nightly-1$").matcher(out).find(), out);

    EndToEndTest.Run json = main("inspect", "--ensemble", storeA, "--json");
    assertEquals(0, json.code(), json.err());
    JsonNode m = new ObjectMapper().readTree(json.out());
    assertEquals("v000001", m.path("version").asText());
    assertEquals("nightly-1", m.path("runId").asText());
    assertEquals(1, m.path("members").size());
    assertEquals(1.0, m.path("weights").get(0).asDouble(), 0.0);
    byte[] member = Files.readAllBytes(Path.of(storeA, "versions/v000001/members/m-000.zip"));
    assertEquals(Sha256.of(member), m.path("files").path("members/m-000.zip").asText(),
        "the JSON's checksum is the file's");
    assertEquals(data + "/train", m.path("data").path("uri").asText());

    EndToEndTest.Run versions = main("inspect", "--ensemble", storeA, "--versions");
    assertEquals(0, versions.code(), versions.err());
    assertTrue(Pattern.compile("^v000001 \\(LATEST\\)  run nightly-1\\s+\\S+Z  1 members\\n$")
        .matcher(versions.out()).matches(), versions.out());
  }

  static float[] probabilities(SparkSession spark, EnsembleScorer scorer, Dataset<Row> in) {
    List<Row> rows = scorer.score(spark, in, null, null, InvalidPolicy.FAIL, 256, null).orderBy("id")
        .select("probability").collectAsList();
    float[] out = new float[rows.size() * 8];
    for (int i = 0; i < rows.size(); i++) {
      List<Float> p = rows.get(i).getList(0);
      for (int c = 0; c < 8; c++) {
        out[i * 8 + c] = p.get(c);
      }
    }
    return out;
  }

  static void copy(Path from, Path to) throws Exception {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }
}
