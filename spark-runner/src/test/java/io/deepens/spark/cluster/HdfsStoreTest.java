package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.spark.MiniHdfs;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store on HDFS: an in-process {@link MiniDFSCluster} (name node and one data node on 127.0.0.1), training
 * data read from HDFS, the ensemble trained and published to {@code hdfs://127.0.0.1:PORT/deepens/store}, then
 * scored from there with the scores written back to HDFS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HdfsStoreTest {
  MiniHdfs hdfs;
  MiniDFSCluster dfs;
  SparkSession spark;
  String root;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    hdfs = MiniHdfs.start(dir.resolve("dfs"));
    dfs = hdfs.cluster();
    root = hdfs.uri();
    ClusterTestSupport.stopActive();
    spark = SparkTestSupport.local();
  }

  @AfterAll
  void stop() throws java.io.IOException {
    if (spark != null) {
      spark.stop();
    }
    if (hdfs != null) {
      hdfs.close();
    }
  }

  @Test
  void trainToHdfsThenScoreFromIt() throws Exception {
    assertEquals("127.0.0.1", dfs.getNameNode().getNameNodeAddress().getAddress().getHostAddress());
    assertEquals("127.0.0.1", dfs.getDataNodes().get(0).getXferAddress().getAddress().getHostAddress());

    String data = root + "/deepens/data/train";
    ClusterTestSupport.digitsTrain(spark).write().parquet(data);
    String store = root + "/deepens/store";
    Dataset<Row> table = spark.read().parquet(data);
    SparkEnsembleTrainer.Result r = new SparkEnsembleTrainer(spark).train(table, null,
        SparkTestSupport.smallSpec(2, 2), new SparkEnsembleTrainer.Options(store, "hdfs-run", data, Map.of()));
    assertEquals(2, r.manifest().usableMembers().size());

    FileSystem fs = FileSystem.get(URI.create(root), spark.sparkContext().hadoopConfiguration());
    assertEquals("hdfs", fs.getScheme());
    org.apache.hadoop.fs.Path latest = new org.apache.hadoop.fs.Path(store + "/LATEST");
    try (var in = fs.open(latest)) {
      assertEquals(r.version(), new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
    }
    assertTrue(fs.exists(new org.apache.hadoop.fs.Path(store + "/versions/" + r.version() + "/manifest.json")));
    assertFalse(fs.exists(new org.apache.hadoop.fs.Path(store + "/checkpoints/hdfs-run")),
        "checkpoints on HDFS are removed after publishing");
    // every member file on HDFS carries the SHA-256 the manifest lists
    EnsembleStore es = EnsembleStore.open(store, spark.sparkContext().hadoopConfiguration());
    Manifest m = es.readManifest(r.version());
    for (Manifest.MemberEntry e : m.usableMembers()) {
      assertTrue(es.readVerified(m.version(), e.file(), e.sha256()).length > 0);
    }

    EnsembleScorer scorer = EnsembleScorer.resolve(spark, store, null);
    assertEquals(r.version(), scorer.manifest().version());
    Dataset<Row> test = SparkTestSupport.digits(spark, 0, 7, 5, 4);
    String out = root + "/deepens/scores";
    scorer.score(spark, test, null, null, InvalidPolicy.FAIL, 64, null).write().parquet(out);
    List<Row> scored = spark.read().parquet(out).select("label", "prediction", "probability").collectAsList();
    assertEquals(test.count(), scored.size());
    int correct = 0;
    for (Row row : scored) {
      List<Float> p = row.getList(2);
      double sum = 0;
      for (float v : p) {
        sum += v;
      }
      assertEquals(1.0, sum, 1e-5, "mixture probabilities sum to 1 (float32 rounding)");
      correct += row.getInt(0) == row.getInt(1) ? 1 : 0;
    }
    // 2 epochs of a 64-32-8 MLP: far above chance (1/8); 0.75 leaves a wide margin
    assertTrue(correct / (double) scored.size() > 0.75, "accuracy " + correct / (double) scored.size());
  }
}
