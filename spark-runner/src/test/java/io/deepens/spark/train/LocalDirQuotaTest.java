package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.SparkTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A table larger than Spark's local directory trains with the streaming placement: spark.local.dir is an 8 MiB
 * tmpfs (mounted here; needs root: skipped otherwise, a failure when CI=true), the table ~14 MB of poorly
 * compressible floats. The copy placement, which writes members × the table to that directory, fails there with
 * "No space left on device"; the streaming one writes nothing there and trains.
 */
class LocalDirQuotaTest {
  static final int ROWS = 12_000;
  static final int FEATURES = 256;

  static EnsembleSpec spec(String placement) {
    return SpecLoader.parse("""
        name: quota-test
        task: classification
        data:
          features: features
          label: label
          classes: 4
          key: id
          validation: {fraction: 0.1}
          placement: %s
        network: {type: mlp, hidden: [8]}
        training: {batchSize: 256, epochs: 1}
        ensemble: {members: 2, seed: 3}
        resources: {threadsPerMember: 1}
        """.formatted(placement), "quota-test");
  }

  private static boolean run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
  }

  @Test
  void aTableLargerThanTheLocalDirTrainsWithTheStreamingPlacement(@TempDir Path dir) throws Exception {
    Path quota = dir.resolve("local-dir");
    Files.createDirectories(quota);
    boolean mounted = run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", quota.toString());
    if (!mounted) {
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but an 8 MiB tmpfs could not be mounted at " + quota + " (needs root and mount rights)");
      }
      Assumptions.abort("needs root to mount an 8 MiB tmpfs as spark.local.dir");
    }
    try {
      String table = dir.resolve("table").toString();
      SparkSession shared = SparkTestSupport.local();
      List<Row> rows = new ArrayList<>();
      SplittableRandom rnd = new SplittableRandom(11);
      for (int i = 0; i < ROWS; i++) {
        Float[] x = new Float[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
          x[j] = (float) rnd.nextDouble();
        }
        rows.add(RowFactory.create((long) i, x, i % 4));
      }
      StructType schema = new StructType().add("id", DataTypes.LongType, false)
          .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), true)
          .add("label", DataTypes.IntegerType, true);
      shared.createDataFrame(rows, schema).repartition(4).write().parquet(table);
      shared.stop();

      SparkSession spark = SparkSessions.getOrCreate("local[2]", "deepens-quota-test",
          Map.of("spark.local.dir", quota.toString(), "spark.kryo.registrationRequired", "false"));
      try {
        Manifest m = new SparkEnsembleTrainer(spark).train(spark.read().parquet(table), null, spec("stream"),
            new SparkEnsembleTrainer.Options(dir.resolve("store").toUri().toString(), "stream", table, Map.of()))
            .manifest();
        assertEquals(2, m.members().size());
        m.members().forEach(e -> assertTrue(e.usable(), "member " + e.index() + " trained"));
        Exception copy = assertThrows(Exception.class, () -> new SparkEnsembleTrainer(spark).train(
            spark.read().parquet(table), null, spec("copy"), new SparkEnsembleTrainer.Options(
                dir.resolve("store").toUri().toString(), "copy", table, Map.of())));
        StringBuilder chain = new StringBuilder();
        for (Throwable t = copy; t != null; t = t.getCause()) {
          chain.append(t).append(" | ");
        }
        assertTrue(chain.toString().contains("No space left on device"), chain.toString());
      } finally {
        spark.stop();
      }
    } finally {
      run("umount", "-l", quota.toString());
    }
  }
}
