package io.deepens.spark.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EnsembleModel} from {@code spark-shell}: Spark's own Scala REPL ({@code org.apache.spark.repl.Main}, the
 * class the {@code spark-shell} script starts) runs in a child JVM and is fed, on its standard input, the lines a
 * user would type: score a Parquet table with {@code EnsembleModel.fromStore}, use the model as a Pipeline stage
 * saved and loaded back with {@code PipelineModel.load}, and load a saved model by its class name alone (what
 * PySpark's {@code JavaMLReader} does through py4j). Its three output tables must equal what the Java API gives for
 * the same rows.
 *
 * <p>The child JVM has this test's classpath (Spark, Scala 2.12.18 compiler and deepens' classes) where a real
 * {@code spark-shell --jars deepens-jobs-*-all.jar} has Spark's {@code jars/} folder plus the shaded jar.
 */
class EnsembleModelSparkShellTest {
  private static final List<String> COLUMNS = List.of("id", "prediction", "probability", "max_probability",
      "predictive_entropy", "expected_entropy", "mutual_information");
  /** The REPL's report of a failed line: a compile error, or an exception it caught and printed. */
  private static final Pattern REPL_ERROR = Pattern.compile(
      "(?m)^(<console>:\\d+: error:|error:|[\\w.$]+(Exception|Error)(: |$))");
  private static final long TIMEOUT_SECONDS = 180;

  @Test
  void sparkShellScoresAsPipelineStageAndLoadsByClassName(@TempDir Path dir) throws Exception {
    SparkSession spark = SparkTestSupport.local();
    String store = dir.resolve("store").toString();
    new SparkEnsembleTrainer(spark).train(SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2), null,
        SparkTestSupport.smallSpec(2, 2), new SparkEnsembleTrainer.Options(store, "run-shell", "digits", Map.of()));
    String input = dir.resolve("input").toString();
    SparkTestSupport.digits(spark, 0, 7, 5, 4).write().parquet(input);
    Path out = dir.resolve("out");

    String script = String.join("\n",
        "import io.deepens.spark.score.EnsembleModel",
        "import org.apache.spark.ml.{Pipeline, PipelineModel, PipelineStage, Transformer}",
        "import org.apache.spark.ml.util.MLReader",
        "val outputs = Seq(" + String.join(", ", COLUMNS.stream().map(EnsembleModelSparkShellTest::scala).toList())
            + ")",
        "val df = spark.read.parquet(" + scala(input) + ")",
        "val m = EnsembleModel.fromStore(" + scala(store) + ")",
        "println(s\"deepens-shell: version=${m.version} rows=${df.count}\")",
        "m.transform(df).select(outputs.head, outputs.tail: _*).write.parquet(" + scala(out + "/direct") + ")",
        "val pipeline = new Pipeline().setStages(Array[PipelineStage](m))",
        "pipeline.fit(df).write.save(" + scala(out + "/pipeline-model") + ")",
        "val reloaded = PipelineModel.load(" + scala(out + "/pipeline-model") + ")",
        "println(s\"deepens-shell: pipeline stages=${reloaded.stages.map(_.getClass.getName).mkString(\",\")}\")",
        "reloaded.transform(df).select(outputs.head, outputs.tail: _*).write.parquet("
            + scala(out + "/pipeline") + ")",
        "m.write.save(" + scala(out + "/model") + ")",
        "// what PySpark's JavaMLReader does through py4j: the class by name, its static read(), load(path)",
        "val byName = Class.forName(\"io.deepens.spark.score.EnsembleModel\").getMethod(\"read\").invoke(null)"
            + ".asInstanceOf[MLReader[Transformer]].load(" + scala(out + "/model") + ")",
        "println(s\"deepens-shell: by name=${byName.getClass.getName} uid=${byName.uid == m.uid}\")",
        "byName.transform(df).select(outputs.head, outputs.tail: _*).write.parquet(" + scala(out + "/by-name") + ")",
        ":quit",
        "");

    Shell shell = runSparkShell(dir, script);
    String report = shell.report();
    assertEquals(0, shell.exitCode, "spark-shell exit code\n" + report);
    Matcher error = REPL_ERROR.matcher(shell.stdout);
    if (error.find()) {
      int from = shell.stdout.lastIndexOf("scala> ", error.start());
      fail("a line failed in spark-shell:\n"
          + shell.stdout.substring(Math.max(0, from), Math.min(shell.stdout.length(), error.start() + 4000))
          + "\n" + report);
    }
    long rows = spark.read().parquet(input).count();
    assertTrue(shell.stdout.contains("deepens-shell: version=v000001 rows=" + rows), report);
    assertTrue(shell.stdout.contains("deepens-shell: pipeline stages=" + EnsembleModel.class.getName()), report);
    assertTrue(shell.stdout.contains("deepens-shell: by name=" + EnsembleModel.class.getName() + " uid=true"),
        report);

    // the same rows through the Java API, in this JVM
    List<Row> expected = EnsembleModel.fromStore(store).transform(spark.read().parquet(input))
        .select(COLUMNS.get(0), COLUMNS.subList(1, COLUMNS.size()).toArray(new String[0]))
        .orderBy("id").collectAsList();
    assertEquals(rows, expected.size());
    for (String table : List.of("direct", "pipeline", "by-name")) {
      Path p = out.resolve(table);
      assertTrue(Files.exists(p.resolve("_SUCCESS")), table + " was not written\n" + report);
      Dataset<Row> written = spark.read().parquet(p.toString());
      assertEquals(COLUMNS, Arrays.asList(written.columns()), table + " columns");
      List<Row> actual = written.orderBy("id").collectAsList();
      assertEquals(rows, actual.size(), table + " row count");
      EnsembleModelTest.assertSameScores(expected, actual);
    }
    String stageMeta = Files.readString(firstFile(out.resolve("pipeline-model/stages"), "part-00000"));
    assertTrue(stageMeta.contains("\"class\":\"" + EnsembleModel.class.getName() + "\""), stageMeta);
  }

  /** Runs Spark's REPL as {@code spark-shell --master local[2]} does, feeding {@code script} on standard input. */
  private static Shell runSparkShell(Path dir, String script) throws IOException, InterruptedException {
    Path work = Files.createDirectories(dir.resolve("shell"));
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx1g");
    // the REPL compiles every line with a cold scalac: C1 alone and one GC thread halve its time on 2 cores
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:+UseSerialGC");
    cmd.addAll(SparkTestSupport.JAVA17_OPENS);
    cmd.add("-Dscala.usejavacp=true"); // what spark-shell passes: the compiler sees the JVM's classpath
    cmd.add("-Dspark.master=local[2]");
    cmd.add("-Dspark.app.name=Spark shell");
    cmd.add("-Dspark.driver.host=127.0.0.1");
    cmd.add("-Dspark.driver.bindAddress=127.0.0.1");
    cmd.add("-Dspark.ui.enabled=false");
    cmd.add("-Dspark.sql.shuffle.partitions=4");
    cmd.add("-Dspark.local.dir=" + work.resolve("local"));
    cmd.add("-Dspark.sql.warehouse.dir=" + work.resolve("warehouse"));
    cmd.add("-Djava.io.tmpdir=" + Files.createDirectories(work.resolve("tmp")));
    String log4j = System.getProperty("log4j2.configurationFile");
    if (log4j != null) {
      cmd.add("-Dlog4j2.configurationFile=" + log4j);
    }
    cmd.add("-cp");
    cmd.add(SparkTestSupport.testClasspath());
    cmd.add("org.apache.spark.repl.Main");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile())
        .redirectOutput(work.resolve("stdout.txt").toFile())
        .redirectError(work.resolve("stderr.txt").toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    pb.environment().put("SPARK_LOCAL_HOSTNAME", "127.0.0.1");
    pb.environment().put("SPARK_SCALA_VERSION", "2.12");
    Files.writeString(work.resolve("script.scala"), script);
    Process p = pb.start();
    int exit;
    try {
      try (OutputStream in = p.getOutputStream()) {
        in.write(script.getBytes(StandardCharsets.UTF_8));
      }
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        fail("spark-shell (pid " + p.pid() + ") did not end within " + TIMEOUT_SECONDS + " s; it was killed\n"
            + new Shell(-1, read(work.resolve("stdout.txt")), read(work.resolve("stderr.txt"))).report());
      }
      exit = p.exitValue();
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
    return new Shell(exit, read(work.resolve("stdout.txt")), read(work.resolve("stderr.txt")));
  }

  private record Shell(int exitCode, String stdout, String stderr) {
    String report() {
      return "--- spark-shell exit code " + exitCode + "\n--- stdout:\n" + tail(stdout) + "\n--- stderr:\n"
          + tail(stderr);
    }
  }

  private static String tail(String s) {
    int max = 20_000;
    return s.length() <= max ? s : "[... " + (s.length() - max) + " chars]\n" + s.substring(s.length() - max);
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p) : "";
  }

  private static Path firstFile(Path under, String name) throws IOException {
    try (var s = Files.walk(under)) {
      return s.filter(f -> f.getFileName().toString().equals(name)).findFirst()
          .orElseThrow(() -> new AssertionError("no " + name + " under " + under));
    }
  }

  /** A Scala string literal. */
  private static String scala(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
