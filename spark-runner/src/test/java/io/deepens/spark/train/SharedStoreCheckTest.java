package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.EnsembleStore;
import io.deepens.spark.SparkTestSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver publishes only member files it can read with the SHA-256 their tasks reported. A fault hook stands in
 * for an executor that wrote its member file to a disk the driver does not share (the file is gone where the driver
 * looks) or for a file that changed after its task wrote it; the two-host test ({@code TwoHostIT}) does the same
 * with a worker whose store folder is its own.
 */
class SharedStoreCheckTest {
  @TempDir Path tmp;
  final SparkSession spark = SparkTestSupport.local();

  @AfterEach
  void clearFault() {
    spark.sparkContext().conf().remove(MemberTask.MEMBER_FILE_FAULT);
  }

  private SparkEnsembleTrainer.Result train(String run) {
    Dataset<Row> table = SparkTestSupport.digits(spark, 0, 7, 5, 0, 1);
    EnsembleSpec spec = SparkTestSupport.smallSpec(2, 1);
    return new SparkEnsembleTrainer(spark).train(table, null, spec,
        new SparkEnsembleTrainer.Options(tmp.resolve("store").toString(), run, "digits", Map.of()));
  }

  private void assertNothingPublishedAfterV1(String fault, String expected) throws Exception {
    assertEquals("v000001", train("first").version());
    spark.sparkContext().conf().set(MemberTask.MEMBER_FILE_FAULT, fault);
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> train("second"));
    String msg = e.getMessage();
    assertTrue(msg.startsWith("nothing was published: member 1's file "), msg);
    assertTrue(msg.contains(expected), msg);
    assertTrue(msg.contains("the store must be a file system that the driver and every executor host share: "
        + "hdfs://, s3a://"), msg);
    EnsembleStore store = EnsembleStore.open(tmp.resolve("store").toString(), new Configuration());
    assertEquals(Optional.of("v000001"), store.latestVersion(), "LATEST still names the previous version");
    assertEquals(List.of("v000001"), store.versions());
    Path staging = tmp.resolve("store/staging");
    if (Files.exists(staging)) {
      try (Stream<Path> s = Files.list(staging)) {
        assertEquals(List.of(), s.toList(), "nothing was staged");
      }
    }
    assertTrue(store.publishedRun("second").isEmpty(), "the run is not marked published: a rerun trains it");
  }

  @Test
  void aMemberFileTheDriverCannotSeeStopsThePublish() throws Exception {
    assertNothingPublishedAfterV1("hide:1", "does not exist where the driver reads it");
  }

  @Test
  void aMemberFileWhoseHashDiffersFromItsTasksReportStopsThePublish() throws Exception {
    assertNothingPublishedAfterV1("alter:1", "but its task wrote ");
  }
}
