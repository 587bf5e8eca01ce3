package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MultiSWAG with batch norm end to end on the digits, {@code local[2]}: conf/digits-multiswag.yaml with
 * {@code network.batchNorm: true} and fewer epochs, members and samples trains, publishes and scores; the same seed
 * trained twice into two stores gives identical member files and identical scored columns; the S components differ.
 */
class SwagBatchNormClusterTest {
  /** conf/digits-multiswag.yaml, batch norm on; 2 members, 3 Adam epochs + 3 SWAG epochs, rank 4, 4 samples. */
  static EnsembleSpec spec() throws Exception {
    Path conf = GpuClusterTest.repoRoot().resolve("conf/digits-multiswag.yaml");
    String yaml = Files.readString(conf);
    String bn = replace(replace(replace(replace(replace(replace(yaml,
        "batchNorm: false", "batchNorm: true"),
        "  epochs: 15\n", "  epochs: 3\n"),
        "    epochs: 10 ", "    epochs: 3 "),
        "    rank: 10 ", "    rank: 4 "),
        "    samples: 8 ", "    samples: 4 "),
        "  members: 3\n", "  members: 2\n");
    return SpecLoader.parse(bn, "conf/digits-multiswag.yaml (batchNorm: true)");
  }

  private static String replace(String s, String from, String to) {
    if (!s.contains(from)) {
      throw new AssertionError("conf/digits-multiswag.yaml no longer contains '" + from + "'");
    }
    return s.replace(from, to);
  }

  @Test
  void batchNormMultiSwagTrainsAndScoresDeterministically(@TempDir Path tmp) throws Exception {
    EnsembleSpec spec = spec();
    assertTrue(spec.network().batchNorm());
    assertEquals(4, spec.ensemble().swag().samples());
    ClusterTestSupport.stopActive();
    SparkSession local = SparkTestSupport.local();
    try {
      Manifest m = ClusterTestSupport.train(local, spec, tmp.resolve("a"), "a").manifest();
      assertEquals(2, m.formatVersion());
      assertEquals(Map.of("componentsPerMember", 4, "forwardPassesPerRow", 8), m.provenance().get("scoringCost"));
      List<Row> a = scores(local, tmp.resolve("a"));
      Manifest m2 = ClusterTestSupport.train(local, spec, tmp.resolve("b"), "b").manifest();
      assertEquals(memberFiles(m), memberFiles(m2), "same seed: the same member files (moments, BN statistics)");
      List<Row> b = scores(local, tmp.resolve("b"));
      assertEquals(a.stream().map(Row::toString).toList(), b.stream().map(Row::toString).toList(),
          "same seed: identical scored columns");
      assertTrue(a.stream().anyMatch(r -> r.getDouble(r.fieldIndex("mutual_information")) > 0),
          "all mutual information is 0: the SWAG samples are not distinct components");
      long correct = a.stream()
          .filter(r -> ((Number) r.getAs("prediction")).doubleValue() == ((Number) r.getAs("label")).doubleValue())
          .count();
      double accuracy = (double) correct / a.size();
      System.out.printf("digits MultiSWAG with batch norm: %d held-out rows, accuracy %.4f%n", a.size(), accuracy);
      assertTrue(accuracy > 0.8, "held-out accuracy " + accuracy);
    } finally {
      local.stop();
    }
  }

  private static List<String> memberFiles(Manifest m) {
    List<String> out = new ArrayList<>();
    for (Manifest.MemberEntry e : m.members()) {
      out.add(e.sha256() + "/" + e.report().path("report").path("paramsSha256").asText());
    }
    return out;
  }

  /** The scored held-out digits (id % 5 == 4, labels 0..7), ordered by id. */
  private static List<Row> scores(SparkSession spark, Path store) {
    return EnsembleScorer.resolve(spark, store.toUri().toString(), null)
        .score(spark, SparkTestSupport.digits(spark, 0, 7, 5, 4), null, null, InvalidPolicy.FAIL, 64, null)
        .orderBy("id")
        .select("id", "label", "prediction", "probability", "predictive_entropy", "expected_entropy",
            "mutual_information")
        .collectAsList();
  }
}
