package io.deepens.spark.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.data.OptDigits;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scoring job that dies after some of its tasks have written and committed their files leaves no visible output:
 * Spark's file committer (algorithm version 1, Spark 3.5's default) keeps task output under {@code _temporary}
 * until the job commits. A rerun then writes the complete table. (A JVM killed mid-write is recorded by hand in
 * scripts/bench/README.md, "A killed scoring job".)
 */
class ScoreOutputCommitTest {

  @Test
  void aJobThatFailsAfterSomeTasksCommittedLeavesNothingVisibleAndARerunWritesEverything(@TempDir Path tmp)
      throws Exception {
    SparkSession spark = SparkTestSupport.local();
    String store = tmp.resolve("store").toString();
    new SparkEnsembleTrainer(spark).train(SparkTestSupport.digits(spark, 0, 7, 5, 0), null,
        SparkTestSupport.smallSpec(1, 1), new SparkEnsembleTrainer.Options(store, "commit", "digits", Map.of()));
    OptDigits d = OptDigits.load();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      rows.add(RowFactory.create((long) i, SparkTestSupport.box(d.features(i)), d.label(i)));
    }
    Float[] bad = SparkTestSupport.box(d.features(0));
    bad[3] = Float.POSITIVE_INFINITY;
    rows.add(RowFactory.create(300L, bad, 0)); // the last row of the last of 3 slices
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Dataset<Row> input = spark.createDataFrame(jsc.parallelize(rows, 3), SparkTestSupport.digitsSchema());
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, store, null);
    Path out = tmp.resolve("scored");

    AtomicInteger succeeded = new AtomicInteger();
    SparkListener listener = new SparkListener() {
      @Override
      public void onTaskEnd(SparkListenerTaskEnd e) {
        if (e.taskInfo().successful()) {
          succeeded.incrementAndGet();
        }
      }
    };
    spark.sparkContext().addSparkListener(listener);
    try {
      assertThrows(Exception.class, () -> scorer.score(spark, input, null, null, InvalidPolicy.FAIL, 50, null)
          .write().parquet(out.toString()));
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } finally {
      spark.sparkContext().removeSparkListener(listener);
    }
    assertTrue(succeeded.get() >= 1, "the test needs a task that committed its file before the job failed");
    assertFalse(Files.exists(out.resolve("_SUCCESS")), "a failed job must not write _SUCCESS");
    List<Path> visible = visibleParquet(out);
    assertEquals(List.of(), visible, "no part file may be visible outside _temporary");

    // the rerun (without the bad row) replaces whatever was left and writes every row
    Dataset<Row> fixed = input.filter("id < 300");
    scorer.score(spark, fixed, null, null, InvalidPolicy.FAIL, 50, null).write().mode("overwrite")
        .parquet(out.toString());
    assertTrue(Files.exists(out.resolve("_SUCCESS")));
    assertEquals(300, spark.read().parquet(out.toString()).count());
  }

  private static List<Path> visibleParquet(Path dir) throws Exception {
    if (!Files.exists(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".parquet"))
          .filter(p -> !dir.relativize(p).toString().startsWith("_temporary"))
          .toList();
    }
  }
}
