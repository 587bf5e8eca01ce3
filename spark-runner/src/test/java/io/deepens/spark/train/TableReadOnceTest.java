package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.data.FeatureDecoder;
import io.deepens.spark.data.LabeledRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train} reads its input once: the stage that writes the training shuffle also profiles the table, the
 * check runs on that profile, and the member stage reads the shuffle without reading the table again. Reads are
 * counted with a listener, from the input metrics of the tasks that scan the Parquet files (a table built with
 * {@code createDataFrame} has no input metrics, hence Parquet here).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TableReadOnceTest {
  Path tmp;
  SparkSession spark;
  Dataset<Row> train;
  Dataset<Row> validation;
  long trainRows;
  long validationRows;

  @BeforeAll
  void writeTables(@TempDir Path dir) {
    tmp = dir;
    spark = SparkTestSupport.local();
    SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2, 3).write().parquet(dir.resolve("train").toString());
    SparkTestSupport.digits(spark, 0, 7, 5, 4).write().parquet(dir.resolve("validation").toString());
    train = spark.read().parquet(dir.resolve("train").toString());
    validation = spark.read().parquet(dir.resolve("validation").toString());
    trainRows = train.count();
    validationRows = validation.count();
  }

  /** Per stage, the rows its successful tasks read from files; and how many result tasks ran. */
  static final class Reads extends SparkListener {
    final Map<Integer, Long> rowsReadByStage = new ConcurrentHashMap<>();
    final AtomicInteger resultTasks = new AtomicInteger();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      if (!e.taskInfo().successful() || e.taskMetrics() == null) {
        return;
      }
      long read = e.taskMetrics().inputMetrics().recordsRead();
      if (read > 0) {
        rowsReadByStage.merge(e.stageId(), read, Long::sum);
      }
      if ("ResultTask".equals(e.taskType())) {
        resultTasks.incrementAndGet();
      }
    }
  }

  private Reads listen() {
    Reads reads = new Reads();
    spark.sparkContext().addSparkListener(reads);
    return reads;
  }

  private void stop(Reads reads) throws TimeoutException {
    spark.sparkContext().listenerBus().waitUntilEmpty(30_000); // events reach listeners asynchronously
    spark.sparkContext().removeSparkListener(reads);
  }

  private SparkEnsembleTrainer.Options options(String name) {
    return new SparkEnsembleTrainer.Options(tmp.resolve("store-" + name).toString(), name, name, Map.of());
  }

  @Test
  void theTrainingTableIsReadOnceAndTheFingerprintIsTheTablesOwn() throws TimeoutException {
    EnsembleSpec spec = SparkTestSupport.smallSpec(2, 1);
    Reads reads = listen();
    SparkEnsembleTrainer.Result result;
    try {
      result = new SparkEnsembleTrainer(spark).train(train, null, spec, options("once"));
    } finally {
      stop(reads);
    }
    assertEquals(1, reads.rowsReadByStage.size(), "stages that read the table, with the rows each read: "
        + reads.rowsReadByStage);
    assertEquals(trainRows, reads.rowsReadByStage.values().iterator().next(), "rows read from the table");
    assertEquals(2, reads.resultTasks.get(), "the only result tasks are the 2 members' (no profiling job)");

    // the fingerprint, computed here from its definition: key column 'id', content hash, hash split at 0.2
    long splitSeed = Seeds.derive(spec.ensemble().seed(), 0, SeedPurpose.VALIDATION_SPLIT, 0);
    long hash = 0;
    long held = 0;
    for (Row r : train.collectAsList()) {
      List<Float> f = r.getList(r.fieldIndex("features"));
      float[] x = new float[f.size()];
      for (int j = 0; j < x.length; j++) {
        x[j] = f.get(j);
      }
      long key = Seeds.rowKey(r.getLong(r.fieldIndex("id")));
      float label = r.getInt(r.fieldIndex("label"));
      hash += Seeds.mix64(key ^ Seeds.mix64(Seeds.rowKey(x, label)));
      held += FeatureDecoder.unit(key, splitSeed) < 0.2 ? 1 : 0;
    }
    Manifest.DataFingerprint data = result.manifest().data();
    assertEquals(trainRows, data.rows());
    assertEquals(held, data.validationRows());
    assertEquals(trainRows - held, data.trainRows());
    assertEquals(String.format(Locale.ROOT, "%016x", hash), data.contentHash());
  }

  @Test
  void aSeparateValidationTableIsReadOnceInTheSameStage() throws TimeoutException {
    EnsembleSpec spec = SparkTestSupport.smallSpec(2, 1);
    Reads reads = listen();
    SparkEnsembleTrainer.Result result;
    try {
      result = new SparkEnsembleTrainer(spark).train(train, validation, spec, options("val"));
    } finally {
      stop(reads);
    }
    assertEquals(1, reads.rowsReadByStage.size(), "stages that read the tables: " + reads.rowsReadByStage);
    assertEquals(trainRows + validationRows, reads.rowsReadByStage.values().iterator().next());
    assertEquals(2, reads.resultTasks.get());
    Manifest m = result.manifest();
    assertEquals(trainRows, m.data().trainRows());
    assertEquals(validationRows, m.data().validationRows());
    assertEquals(validationRows, result.outcomes().get(1).validationKeys.length);
  }

  @Test
  void aBadTableIsRefusedAfterOneReadAndNoMemberStarts() throws Exception {
    List<Row> rows = new ArrayList<>(train.limit(40).collectAsList());
    Float[] nan = new Float[64];
    java.util.Arrays.fill(nan, 0.5f);
    nan[3] = Float.NaN;
    rows.add(RowFactory.create(9001L, nan, 1));
    rows.add(RowFactory.create(9002L, new Float[] {1f, 2f}, 1));
    Path badPath = tmp.resolve("bad");
    spark.createDataFrame(rows, SparkTestSupport.digitsSchema()).repartition(2).write().parquet(badPath.toString());
    Dataset<Row> bad = spark.read().parquet(badPath.toString());
    Reads reads = listen();
    InvalidInputException e;
    try {
      e = assertThrows(InvalidInputException.class,
          () -> new SparkEnsembleTrainer(spark).train(bad, null, SparkTestSupport.smallSpec(2, 1), options("bad")));
    } finally {
      stop(reads);
    }
    String msg = e.getMessage();
    assertTrue(msg.startsWith("training table bad has invalid rows; nothing was trained.")
        && msg.contains("id=9001") && msg.contains("NaN") && msg.contains("1 row has 2 values (e.g. id=9002)"), msg);
    assertEquals(1, reads.rowsReadByStage.size(), "stages that read the table: " + reads.rowsReadByStage);
    assertEquals(rows.size(), reads.rowsReadByStage.values().iterator().next());
    assertEquals(0, reads.resultTasks.get(), "no member task may start on a refused table");
    assertTrue(!Files.exists(tmp.resolve("store-bad/versions")), "nothing may be published");
  }

  @Test
  void aMemberRefusesARowThatDoesNotMatchTheCheckedTable() {
    MemberTask task = new MemberTask(SparkTestSupport.smallSpec(1, 1).toJson(), tmp.resolve("unused").toString(),
        "refuse", 4, null, "");
    task.checkRow(0, new LabeledRow(1L, new float[4], 1f));
    DeepensException refused = assertThrows(DeepensException.class,
        () -> task.checkRow(0, new LabeledRow(2L, null, 0f)));
    assertTrue(refused.getMessage().contains("it no longer decodes"), refused.getMessage());
    DeepensException length = assertThrows(DeepensException.class,
        () -> task.checkRow(0, new LabeledRow(3L, new float[5], 0f)));
    assertTrue(length.getMessage().contains("it has 5 features, expected 4"), length.getMessage());
  }

  /**
   * Rows reach a member in the order Spark fetches them, so a refused row can come after rows the member already
   * stored: the member stops there and leaves no spill file behind.
   */
  @Test
  void aRowRefusedAfterStoredRowsLeavesNoSpillFiles() throws Exception {
    MemberTask task = new MemberTask(SparkTestSupport.smallSpec(1, 1).toJson(), tmp.resolve("unused").toString(),
        "refuse-late", 4, null, "");
    int member = 7; // a folder name no other test uses: deepens-m7-*
    List<scala.Tuple2<MemberRowKey, LabeledRow>> rows = new ArrayList<>();
    for (int i = 0; i < 3000; i++) { // stored (train and validation) before the refused row arrives
      rows.add(new scala.Tuple2<>(new MemberRowKey(member, i % 10 == 0, i, i), new LabeledRow(i, new float[4], 0f)));
    }
    rows.add(new scala.Tuple2<>(new MemberRowKey(member, false, -1, 9999), new LabeledRow(9999, null, 0f)));
    Path local = Path.of(org.apache.spark.SparkEnv.get() != null
        ? org.apache.spark.util.Utils.getLocalDir(org.apache.spark.SparkEnv.get().conf())
        : System.getProperty("java.io.tmpdir"));
    DeepensException refused = assertThrows(DeepensException.class, () -> task.run(member, rows.iterator()));
    assertTrue(refused.getMessage().contains("it no longer decodes"), refused.getMessage());
    try (var files = Files.list(local)) {
      List<Path> left = files.filter(f -> f.getFileName().toString().startsWith("deepens-m" + member + "-")).toList();
      assertTrue(left.isEmpty(), "spill folders left behind: " + left);
    }
  }
}
