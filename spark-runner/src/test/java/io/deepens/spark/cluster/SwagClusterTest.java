package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import io.deepens.spark.train.MemberTask;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * MultiSWAG end to end: the same seed gives identical scored columns (two trainings, two loads), and on a real
 * multi-JVM cluster ({@code local-cluster[2,1,1024]}) an executor killed in the middle of a member's SWAG epochs
 * gives the same member files (SWA weights and SWAG moments) and the same scored columns as an undisturbed
 * {@code local[2]} run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SwagClusterTest {
  /** 2 members, 2 Adam epochs then 3 SWAG epochs (epochs 2, 3, 4), 4 samples per member. */
  static final EnsembleSpec SPEC = EnsembleSpec.fromJson(SparkTestSupport.smallSpec(2, 2).toJson().replace(
      "\"mcDropoutSamples\":0", "\"mcDropoutSamples\":0,\"swag\":{\"epochs\":3,\"learningRate\":0.01,\"rank\":2,"
          + "\"samples\":4}"));

  Path tmp;
  List<String> referenceFiles;
  List<String> referenceScores;

  @BeforeAll
  void reference(@TempDir Path dir) {
    tmp = dir;
    ClusterTestSupport.stopActive();
    SparkSession local = SparkTestSupport.local();
    try {
      Path store = tmp.resolve("store-local");
      Manifest m = ClusterTestSupport.train(local, SPEC, store, "reference").manifest();
      assertEquals(2, m.formatVersion(), "a SWAG ensemble is written as manifest format 2");
      assertEquals(Map.of("componentsPerMember", 4, "forwardPassesPerRow", 8), m.provenance().get("scoringCost"));
      referenceFiles = memberFiles(m);
      referenceScores = scores(local, store);
      // same seed, trained again into another store (loaded separately): identical scored columns
      Path again = tmp.resolve("store-again");
      Manifest m2 = ClusterTestSupport.train(local, SPEC, again, "again").manifest();
      assertEquals(referenceFiles, memberFiles(m2));
      assertEquals(referenceScores, scores(local, again));
      // the S samples are distinct components: members have their own mutual information
      assertTrue(referenceScores.stream().anyMatch(r -> !r.endsWith(",0.0]")), "all mutual information is 0");
    } finally {
      local.stop();
    }
  }

  @AfterAll
  void stop() {
    ClusterTestSupport.stopActive();
  }

  /** Each member's file SHA-256 (moments included) and paramsSha256 (the SWA weights). */
  private static List<String> memberFiles(Manifest m) {
    List<String> out = new ArrayList<>();
    for (Manifest.MemberEntry e : m.members()) {
      out.add(e.sha256() + "/" + e.report().path("report").path("paramsSha256").asText());
    }
    return out;
  }

  /** The scored output columns of the held-out digits (id % 5 == 4), ordered by id, as strings. */
  private static List<String> scores(SparkSession spark, Path store) {
    List<Row> rows = EnsembleScorer.resolve(spark, store.toUri().toString(), null)
        .score(spark, SparkTestSupport.digits(spark, 0, 7, 5, 4), null, null, InvalidPolicy.FAIL, 64, null)
        .orderBy("id")
        .select("id", "prediction", "probability", "predictive_entropy", "expected_entropy", "mutual_information")
        .collectAsList();
    return rows.stream().map(Row::toString).toList();
  }

  @Test
  void executorKilledMidSwagResumesToTheSameMembersAndScores() throws Exception {
    SparkSession spark = ClusterTestSupport.start("local-cluster[2,1,1024]", "deepens-swag-cluster-test", Map.of(
        "spark.locality.wait", "0",
        "spark.task.maxFailures", "2"));
    ClusterTestSupport.awaitExecutors(spark, 2, 120_000);
    // member 0 dies after epoch 4 of 5: after the second of its three SWAG epochs
    spark.sparkContext().conf().set(MemberTask.KILL_AFTER_EPOCH, "0:4");
    Manifest m;
    try {
      m = ClusterTestSupport.train(spark, SPEC, tmp.resolve("store-killed"), "killed").manifest();
    } finally {
      spark.sparkContext().conf().remove(MemberTask.KILL_AFTER_EPOCH);
    }
    JsonNode m0 = ClusterTestSupport.report(m, 0);
    assertEquals(4, m0.path("report").path("resumedFromEpoch").asInt(-1), "member 0 resumes mid-SWAG: " + m0);
    assertEquals(5, m0.path("report").path("epochsRun").asInt(-1));
    assertNotEquals("driver", m0.path("executorId").asText());
    assertEquals(referenceFiles, memberFiles(m), "member files after a kill mid-SWAG must equal the undisturbed ones");
    assertEquals(referenceScores, scores(spark, tmp.resolve("store-killed")));
  }
}
