package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.ProcessIdentity;
import io.deepens.core.store.RunLock;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.score.OutputCommit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a scheduler (cron, Airflow, Oozie) sees when it retries the same command line after a failure: the exit
 * code, the last log line, and what is readable at the output path. One tiny ensemble (OperationsTest's spec: 1
 * member, 2 epochs) trained once. Kills are real: {@code kill -9} of a child JVM running the command line, or the
 * commit's fault hook ({@link OutputCommit#FAULT_HOOK}, {@code Runtime.halt}) where the moment matters.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchedulerRetryTest {
  static final Pattern OUTCOME = Pattern.compile("io\\.deepens\\.jobs\\.Main: outcome: [^\\n\\r]+ \\(exit (\\d)\\)");

  Path tmp;
  String config;
  String data;
  String store;
  long testRows;
  long oodRows;

  static EndToEndTest.Run main(String... args) {
    return EndToEndTest.main(args);
  }

  /** Runs the command line in-process with the log captured; returns the run and the log lines. */
  static Logged logged(String... args) {
    List<String> log = new CopyOnWriteArrayList<>();
    EndToEndTest.Run r = OperationsTest.capturingLog(log, () -> main(args));
    return new Logged(r, log);
  }

  record Logged(EndToEndTest.Run run, List<String> log) {
    int code() {
      return run.code();
    }

    String last() {
      return log.isEmpty() ? "" : log.get(log.size() - 1);
    }

    boolean logged(String fragment) {
      return log.stream().anyMatch(l -> l.contains(fragment));
    }

    /** The last log line is one outcome line with this exit code, carrying these fragments; stderr is one line. */
    void assertOutcome(int code, String... fragments) {
      assertEquals(code, run.code(), run.err() + "\n" + last());
      var m = OUTCOME.matcher(last());
      assertTrue(m.matches(), "the last log line must be one outcome line: [" + last() + "]");
      assertEquals(code, Integer.parseInt(m.group(1)), last());
      for (String f : fragments) {
        assertTrue(last().contains(f), "'" + f + "' missing from the outcome line: " + last());
      }
      if (code != 0) {
        assertFalse(run.err().trim().contains("\n"), "one line on stderr: " + run.err());
      }
    }
  }

  String[] score(String ensemble, String input, String output, String... extra) {
    List<String> a = new ArrayList<>(List.of("score", "--ensemble", ensemble, "--input", input, "--output", output,
        "--master", "local[2]"));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  static SparkSession spark() {
    return SparkSessions.getOrCreate("local[2]", "retry-test", Map.of());
  }

  /** Writes {@code table} to {@code path} and stops the session (the command line starts its own). */
  static void write(Dataset<Row> table, String path) {
    table.write().mode("overwrite").parquet(path);
    table.sparkSession().stop();
  }

  static long count(String path) {
    SparkSession s = spark();
    try {
      return s.read().parquet(path).count();
    } finally {
      s.stop();
    }
  }

  /** Hidden siblings the scoring job left beside {@code output} (staging folders, moved-aside old outputs). */
  static List<String> leftovers(String output) throws Exception {
    Path out = Path.of(output);
    if (!Files.exists(out.getParent())) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(out.getParent())) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("." + out.getFileName() + ".deepens-")).sorted().toList();
    }
  }

  @BeforeAll
  void trainOnce(@TempDir Path dir) throws Exception {
    tmp = dir;
    config = dir.resolve("ops.yaml").toString();
    Files.writeString(Path.of(config), OperationsTest.SPEC);
    data = dir.resolve("data").toString();
    assertEquals(0, main("import", "optdigits", "--output", data, "--master", "local[2]").code());
    store = dir.resolve("store").toString();
    EndToEndTest.Run r = main("train", "--config", config, "--data", data + "/train", "--store", store, "--run-id",
        "nightly-1", "--master", "local[2]");
    assertEquals(0, r.code(), r.err());
    testRows = count(data + "/test");
    oodRows = count(data + "/ood");
    assertTrue(testRows > 100 && oodRows > 100 && testRows != oodRows, testRows + " " + oodRows);
  }

  // ------------------------------------------------------------------------------------------ 1. failed score

  @Test
  void aFailedScoreLeavesNothingAtTheOutputAndTheIdenticalCommandSucceedsOnceTheCauseIsFixed() throws Exception {
    // a NaN row with --invalid fail (the default): exit 2, nothing at the output path, no staging folder left
    String input = tmp.resolve("in-nan").toString();
    SparkSession s = spark();
    Dataset<Row> test = s.read().parquet(data + "/test");
    long firstId = test.agg(functions.min("id")).first().getLong(0);
    write(test.withColumn("features", functions.expr(
        "transform(features, (x, i) -> if(i = 3 and id = " + firstId + ", float('NaN'), x))")), input);
    String out = tmp.resolve("scored-nan").toString();
    Logged failed = logged(score(store, input, out));
    failed.assertOutcome(2, "score failed: cannot score id=" + firstId, "NaN");
    assertFalse(Files.exists(Path.of(out)), "a failed score must leave nothing at the output path");
    assertEquals(List.of(), leftovers(out));
    // the input is fixed; the identical command succeeds
    s = spark();
    write(s.read().parquet(data + "/test"), input);
    Logged retry = logged(score(store, input, out));
    retry.assertOutcome(0, "scored " + testRows + " rows");
    assertEquals(testRows, count(out));
    assertEquals(List.of(), leftovers(out));

    // a corrupt member file: exit 2 (a damaged store, which no retry fixes), nothing at the output path; once the
    // file is restored, the identical command succeeds
    Path copy = tmp.resolve("store-corrupt");
    OperationsTest.copy(Path.of(store), copy);
    Path member = copy.resolve("versions/v000001/members/m-000.zip");
    byte[] good = Files.readAllBytes(member);
    byte[] bad = good.clone();
    bad[bad.length / 2] ^= 0x5a;
    Files.write(member, bad);
    String out2 = tmp.resolve("scored-corrupt").toString();
    Logged damaged = logged(score(copy.toString(), data + "/test", out2));
    damaged.assertOutcome(2, "damaged store: checksum mismatch for", "m-000.zip", "Restore the file");
    assertFalse(Files.exists(Path.of(out2)));
    assertEquals(List.of(), leftovers(out2));
    Files.write(member, good);
    logged(score(copy.toString(), data + "/test", out2)).assertOutcome(0, "scored " + testRows + " rows");
    assertEquals(testRows, count(out2));
  }

  // ------------------------------------------------------------------------ 1 and 2. killed scores, kill -9

  /** A table big and slow enough (128 partitions, scored one row per batch) to be killed while it is written. */
  String bigInput() {
    Path big = tmp.resolve("in-big");
    if (!Files.exists(big.resolve("_SUCCESS"))) {
      SparkSession s = spark();
      Dataset<Row> t = s.read().parquet(data + "/test");
      Dataset<Row> u = t;
      for (int i = 1; i < 8; i++) {
        u = u.union(t.withColumn("id", functions.col("id").plus(i * 1_000_000L)));
      }
      write(u.repartition(128), big.toString());
    }
    return big.toString();
  }

  Process child(Path log, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions")
          || a.startsWith("-Dlog4j2.configurationFile")) {
        cmd.add(a);
      }
    }
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    cmd.addAll(List.of("-Xmx1g", "-cp", cp, Main.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(log.toFile())
        .start();
  }

  /** Starts the command in a child JVM and kill -9s it once a task committed a file into its staging folder. */
  void killMidWrite(String output, String... args) throws Exception {
    Path log = Files.createTempFile(tmp, "killed", ".log");
    Process p = child(log, args);
    Path parent = Path.of(output).getParent();
    String prefix = "." + Path.of(output).getFileName() + ".deepens-staging-";
    long until = System.currentTimeMillis() + 180_000;
    boolean committedTask = false;
    try {
      while (!committedTask && p.isAlive() && System.currentTimeMillis() < until) {
        try (Stream<Path> s = Files.list(parent)) {
          for (Path st : s.filter(x -> x.getFileName().toString().startsWith(prefix)).toList()) {
            Path attempts = st.resolve("_temporary/0");
            if (Files.isDirectory(attempts)) {
              try (Stream<Path> t = Files.list(attempts)) {
                committedTask |= t.anyMatch(x -> x.getFileName().toString().startsWith("task_"));
              }
            }
          }
        }
        Thread.sleep(20);
      }
    } finally {
      ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL on Linux
      p.waitFor(30, TimeUnit.SECONDS);
    }
    assertTrue(committedTask, "the child must be killed after a task committed, before the job ended; its log:\n"
        + Files.readString(log));
    assertEquals(137, p.exitValue(), "killed with SIGKILL");
  }

  @Test
  void aKilledScoreLeavesNothingAndAKilledOverwriteLeavesTheOldOutputReadable() throws Exception {
    String big = bigInput();
    long bigRows = 8 * testRows;

    // default mode: kill -9 mid-write leaves no output; the identical command then succeeds
    String out = tmp.resolve("scored-killed").toString();
    String[] args = score(store, big, out, "--master", "local[1]", "--batch-size", "1");
    killMidWrite(out, args);
    assertFalse(Files.exists(Path.of(out)), "a killed score must leave nothing at the output path");
    assertEquals(1, leftovers(out).size(), "the killed job's staging folder: " + leftovers(out));
    Logged retry = logged(args);
    retry.assertOutcome(0, "scored " + bigRows + " rows");
    assertTrue(retry.logged("left by a score that stopped before it finished"), "the leftover is removed");
    assertEquals(List.of(), leftovers(out));
    assertEquals(bigRows, count(out));

    // overwrite: kill -9 mid-write leaves the old output (testRows rows) readable and complete
    String over = tmp.resolve("scored-over").toString();
    logged(score(store, data + "/test", over)).assertOutcome(0, "scored " + testRows + " rows");
    String[] overwrite = score(store, big, over, "--master", "local[1]", "--batch-size", "1", "--mode", "overwrite");
    killMidWrite(over, overwrite);
    assertTrue(Files.exists(Path.of(over, "_SUCCESS")));
    assertEquals(testRows, count(over), "the old output is still there, whole");
    logged(overwrite).assertOutcome(0, "scored " + bigRows + " rows");
    assertEquals(bigRows, count(over));
    assertEquals(List.of(), leftovers(over));

    // the one moment an overwrite leaves nothing at the path is between its two renames: a process halted there
    // (the fault hook stands in for kill -9) leaves the old output aside, and the next score puts it back first
    String[] small = score(store, data + "/ood", over, "--mode", "overwrite");
    List<String> hooked = new ArrayList<>(List.of(small));
    hooked.addAll(List.of("--conf", OutputCommit.FAULT_HOOK + "=swapping"));
    Path log = Files.createTempFile(tmp, "halted", ".log");
    Process p = child(log, hooked.toArray(String[]::new));
    assertTrue(p.waitFor(180, TimeUnit.SECONDS));
    assertEquals(137, p.exitValue(), Files.readString(log));
    assertFalse(Files.exists(Path.of(over)), "halted between the renames");
    List<String> left = leftovers(over);
    assertEquals(2, left.size(), left.toString()); // the complete new output (staged) and the old one (replaced)
    assertTrue(left.stream().anyMatch(n -> n.contains(".deepens-replaced-")), left.toString());
    // any score of this output restores the old one first; this one fails on its arguments, after the restore
    Logged refused = logged(score(store, data + "/ood", over, "--batch-size", "0"));
    assertEquals(2, refused.code());
    assertTrue(refused.logged("restored the previous output"), String.join("\n", refused.log()));
    assertEquals(bigRows, count(over), "the old output is back, whole");
    logged(small).assertOutcome(0, "scored " + oodRows + " rows");
    assertEquals(oodRows, count(over));
    assertEquals(List.of(), leftovers(over));
  }

  // ------------------------------------------------------------------------------ 3. --max-invalid

  @Test
  void invalidRowsPastTheLimitFailWithExit2NamingTheReasonsAndKeptRowsAreCounted() throws Exception {
    // every row has 10 features where the ensemble takes 64 (the wrong table for this ensemble)
    String wrong = tmp.resolve("in-wrong-width").toString();
    write(spark().read().parquet(data + "/test").withColumn("features", functions.slice(functions.col("features"),
        1, 10)), wrong);
    String out = tmp.resolve("scored-wrong").toString();
    Logged all = logged(score(store, wrong, out, "--invalid", "skip"));
    all.assertOutcome(2, testRows + " of " + testRows + " rows are invalid (100.0%)", "more than --max-invalid 0.1",
        testRows + " rows, e.g. id=", "have 10 values, expected 64", "nothing was written to " + out);
    assertFalse(Files.exists(Path.of(out)));
    assertEquals(List.of(), leftovers(out));

    // 3 invalid rows of testRows: within the default 10%, skipped or kept and counted in the outcome line
    String some = tmp.resolve("in-some-invalid").toString();
    SparkSession s = spark();
    Dataset<Row> test = s.read().parquet(data + "/test");
    List<Long> ids = test.select("id").orderBy("id").limit(3).as(org.apache.spark.sql.Encoders.LONG())
        .collectAsList();
    write(test.withColumn("features", functions.when(functions.col("id").isin(ids.toArray()),
        functions.slice(functions.col("features"), 1, 10)).otherwise(functions.col("features"))), some);
    String skipped = tmp.resolve("scored-skip").toString();
    logged(score(store, some, skipped, "--invalid", "skip"))
        .assertOutcome(0, "scored " + (testRows - 3) + " rows", "(3 invalid rows skipped)");
    String kept = tmp.resolve("scored-keep").toString();
    logged(score(store, some, kept, "--invalid", "keep"))
        .assertOutcome(0, "scored " + testRows + " rows", "(3 invalid rows kept with null outputs");
    // a count as the limit: 2 rows allowed, 3 found
    String counted = tmp.resolve("scored-count").toString();
    logged(score(store, some, counted, "--invalid", "keep", "--max-invalid", "2"))
        .assertOutcome(2, "3 of " + testRows + " rows are invalid", "more than --max-invalid 2 (rows)",
            "3 rows, e.g. id=" + ids.get(0));
    assertFalse(Files.exists(Path.of(counted)));
    // an overwrite refused by the limit leaves the previous output as it was
    logged(score(store, wrong, kept, "--invalid", "keep", "--mode", "overwrite"))
        .assertOutcome(2, "its previous content is unchanged");
    assertEquals(testRows, count(kept));
    logged(score(store, wrong, counted, "--invalid", "skip", "--max-invalid", "1.0")).assertOutcome(0,
        "scored 0 rows", "(" + testRows + " invalid rows skipped)");
    logged(score(store, some, counted, "--max-invalid", "5")).assertOutcome(2, "--max-invalid applies to");
    logged(score(store, some, counted, "--invalid", "skip", "--max-invalid", "1.5")).assertOutcome(2,
        "--max-invalid must be a fraction");
  }

  // ------------------------------------------------------------------------ 4. one outcome line

  @Test
  void aParserErrorKeepsItsDetailInTheLogAndTheOutcomeOnOneLine() throws Exception {
    Path yaml = tmp.resolve("broken.yaml");
    Files.writeString(yaml, OperationsTest.SPEC.replace("  hidden: [32]", "  hidden: [32\n  activation: [relu"));
    Logged r = logged("train", "--config", yaml.toString(), "--data", data + "/train", "--store",
        tmp.resolve("s-yaml").toString());
    r.assertOutcome(2, "train failed: ", "broken.yaml");
    assertTrue(r.log().stream().anyMatch(l -> l.contains("deepens train failed:") && l.contains("\n")),
        "the parser's whole message (several lines) is in the log above the outcome: " + r.log());

    // a user's DL4J network configuration (JSON) that does not parse
    Files.writeString(tmp.resolve("broken-graph.json"), "{\"vertices\" : {\n  \"out\" : [1, 2,\n}");
    Path spec = tmp.resolve("graph.yaml");
    Files.writeString(spec, Files.readString(Path.of(EndToEndTest.ROOT, "conf/digits-dl4j-graph.yaml"))
        .replace("configPath: digits-dl4j-graph.json", "configPath: broken-graph.json"));
    Logged json = logged("train", "--config", spec.toString(), "--data", data + "/train", "--store",
        tmp.resolve("s-json").toString());
    json.assertOutcome(2, "network.config");

    assertEquals("a b c: d", Main.oneLine("a\n  b\r\n\tc:\n    ^\n d\n"));
    assertTrue(Main.oneLine("x".repeat(2000)).endsWith("… (the whole message is in the log above)"));
  }

  // ------------------------------------------------------------------------- 5. damaged stores

  Path copyOfStore(String name) throws Exception {
    Path copy = tmp.resolve(name);
    OperationsTest.copy(Path.of(store), copy);
    return copy;
  }

  @Test
  void aDamagedStoreExits2NamingTheFileAndAnUnreachableFileSystemExits3() throws Exception {
    Path garbage = copyOfStore("store-latest-garbage");
    Files.writeString(garbage.resolve("LATEST"), "<html>\n404\n</html>");
    // the local file system keeps a checksum beside each file (.LATEST.crc): it notices the change first
    logged("inspect", "--ensemble", garbage.toString()).assertOutcome(2, "damaged store: ", "LATEST fails the file"
        + " system's own checksum", "Restore the file");
    Files.delete(garbage.resolve(".LATEST.crc")); // as on a file system without checksum files
    logged("inspect", "--ensemble", garbage.toString()).assertOutcome(2, "damaged store: ", "LATEST holds '<html> 404"
        + " </html>', which is not a version name", "Restore the file");

    Path missingVersion = copyOfStore("store-latest-missing");
    try (Stream<Path> walk = Files.walk(missingVersion.resolve("versions/v000001"))) { // removed by hand
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
    logged("inspect", "--ensemble", missingVersion.toString()).assertOutcome(2, "damaged store: ",
        "LATEST names version v000001, which does not exist", "published versions: []", "republish");
    // naming a version that does not exist is a usage error (exit 2 too), not damage
    logged("inspect", "--ensemble", store + "#v000009").assertOutcome(2, "version v000009 does not exist in store");

    Path manifest = copyOfStore("store-manifest");
    Path mf = manifest.resolve("versions/v000001/manifest.json");
    byte[] m = Files.readAllBytes(mf);
    Files.write(mf, java.util.Arrays.copyOf(m, m.length / 2));
    Files.delete(mf.resolveSibling(".manifest.json.crc"));
    logged("inspect", "--ensemble", manifest.toString()).assertOutcome(2, "damaged store: manifest ",
        "manifest.json is not a valid manifest", "line ", "Restore the file");

    Path missingMember = copyOfStore("store-member-missing");
    Files.delete(missingMember.resolve("versions/v000001/members/m-000.zip"));
    String out = tmp.resolve("scored-missing-member").toString();
    logged(score(missingMember.toString(), data + "/test", out)).assertOutcome(2, "damaged store: file ",
        "m-000.zip, which the manifest of v000001 lists, is missing");
    assertFalse(Files.exists(Path.of(out)));
    // (a member file with the wrong bytes: aFailedScoreLeavesNothingAtTheOutput...)

    // a name node that cannot be reached is an infrastructure failure: retry later
    Logged down = logged("inspect", "--ensemble", "hdfs://127.0.0.1:1/models/digits");
    down.assertOutcome(3, "inspect failed: ");
    assertFalse(down.last().contains("damaged"), down.last());
  }

  // --------------------------------------------------------------- 6. killed train on the same host

  @Test
  void aTrainRunKilledOnThisHostIsResumedAtOnce() throws Exception {
    String s2 = tmp.resolve("store-killed-train").toString();
    // what kill -9 of a train driver leaves: its lock, with a heartbeat seconds old, naming this host and its pid
    Process dead = new ProcessBuilder("true").start();
    assertEquals(0, dead.waitFor());
    Path lock = Path.of(s2, "checkpoints/nightly-9/LOCK");
    Files.createDirectories(lock.getParent());
    Instant now = Instant.now();
    Files.write(lock, EnsembleStore.toJson(new RunLock.Holder("killed", "nightly-9", "deepens train",
        ProcessIdentity.host(), dead.pid(), now.minusSeconds(40).toString(), now.minusSeconds(5).toString(),
        ProcessIdentity.hostId(), Instant.now().minusSeconds(45).toString())));
    long t0 = System.nanoTime();
    Logged rerun = logged("train", "--config", config, "--data", data + "/train", "--store", s2, "--run-id",
        "nightly-9", "--master", "local[2]");
    rerun.assertOutcome(0, "published " + s2 + " version v000001 as run nightly-9");
    assertTrue(rerun.logged("taking over lock") && rerun.logged("at once") && rerun.logged("pid " + dead.pid()
        + " is not running on this host"), String.join("\n", rerun.log()));
    assertTrue(System.nanoTime() - t0 < TimeUnit.MINUTES.toNanos(5), "no 10-minute wait");
  }

  // ------------------------------------------------------------------------- 7. null features

  @Test
  void aRowWithNullFeaturesIsNamedWithItsReason() throws Exception {
    String input = tmp.resolve("train-null").toString();
    SparkSession s = spark();
    Dataset<Row> train = s.read().parquet(data + "/train");
    long id = train.agg(functions.min("id")).first().getLong(0);
    write(train.withColumn("features", functions.when(functions.col("id").equalTo(id), functions.lit(null))
        .otherwise(functions.col("features"))), input);
    Logged r = logged("train", "--config", config, "--data", input, "--store", tmp.resolve("s-null").toString(),
        "--master", "local[2]");
    r.assertOutcome(2, "has invalid rows; nothing was trained. 1 invalid row, e.g. id=" + id
        + ": features 'features' are null. Fix or filter these rows");
    assertFalse(r.last().contains("1 rows"), r.last());
  }
}
