package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.random.Bootstrap;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSection;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkTestSupport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming placement in {@code local[2]}: members read the Parquet table's partitions themselves; same seed,
 * same members; no shuffle write (the copy placement writes members × the table); a separate validation table and
 * bootstrap multiplicities; MultiSWAG members.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamPlacementTest {
  static final EnsembleSpec STREAM = SparkTestSupport.streamSpec(SparkTestSupport.smallSpec(2, 3), 200, 0);

  Path tmp;
  SparkSession spark;
  Dataset<Row> train;
  Dataset<Row> validation;

  @BeforeAll
  void writeTables(@TempDir Path dir) {
    tmp = dir;
    spark = SparkTestSupport.local();
    SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2, 3).repartition(5).write()
        .parquet(dir.resolve("train").toString());
    SparkTestSupport.digits(spark, 0, 7, 5, 4).write().parquet(dir.resolve("validation").toString());
    train = spark.read().parquet(dir.resolve("train").toString());
    validation = spark.read().parquet(dir.resolve("validation").toString());
  }

  private Manifest train(EnsembleSpec spec, Dataset<Row> val, String runId) {
    return train(train, spec, val, runId);
  }

  private Manifest train(Dataset<Row> table, EnsembleSpec spec, Dataset<Row> val, String runId) {
    return new SparkEnsembleTrainer(spark).train(table, val, spec, new SparkEnsembleTrainer.Options(
        tmp.resolve("store").toUri().toString(), runId, "digits", Map.of())).manifest();
  }

  static List<String> shas(Manifest m) {
    List<String> out = new ArrayList<>();
    m.members().forEach(e -> out.add(e.report().path("report").path("paramsSha256").asText(null)));
    return out;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> timing(Manifest m) {
    return (Map<String, Object>) m.provenance().get("timing");
  }

  @Test
  void sameSeedGivesIdenticalMembersAndNothingIsShuffled() {
    assertTrue(train.rdd().getNumPartitions() >= 2, "the table has several splits");
    Manifest a = train(STREAM, null, "stream-a");
    Manifest b = train(STREAM, null, "stream-b");
    List<String> shas = shas(a);
    assertEquals(2, shas.size());
    shas.forEach(s -> assertTrue(s != null && s.length() == 64, "member parameters: " + shas));
    assertEquals(shas, shas(b), "same seed, same table: bit-identical members");
    assertNotEquals(shas.get(0), shas.get(1));
    assertEquals("stream", timing(a).get("placement"));
    assertEquals(0L, ((Number) timing(a).get("shuffleWriteBytes")).longValue(), "stream: no shuffle write");
    for (int m = 0; m < 2; m++) {
      JsonNode r = a.members().get(m).report().path("report");
      double accuracy = r.path("epochs").get(2).path("validationAccuracy").asDouble();
      assertTrue(accuracy > 0.85, "member " + m + " learns digits: validation accuracy " + accuracy);
      assertEquals(a.data().trainRows(), r.path("trainRows").asLong(), "every training row once per epoch");
      assertEquals(a.data().validationRows(), r.path("validationRows").asLong());
    }
    // a wider table: its extra column is never read, and the members are the same
    Path widePath = tmp.resolve("train-wide");
    train.withColumn("notes", functions.lit("n".repeat(200))).write().parquet(widePath.toString());
    Dataset<Row> wide = spark.read().parquet(widePath.toString());
    String plan = SparkEnsembleTrainer.trainingColumns(wide, STREAM).queryExecution().executedPlan().toString();
    assertTrue(plan.contains("ReadSchema: struct<") && !plan.contains("notes"), plan);
    assertEquals(shas, shas(train(wide, STREAM, null, "stream-wide")), "the extra column changes nothing");
    // a column that fails whenever it is computed: training must never read it
    org.apache.spark.sql.expressions.UserDefinedFunction boom = functions.udf(
        (org.apache.spark.sql.api.java.UDF1<Long, String>) id -> {
          throw new IllegalStateException("column 'boom' was read (row " + id + ")");
        }, org.apache.spark.sql.types.DataTypes.StringType);
    Dataset<Row> trap = train.withColumn("boom", boom.apply(functions.col("id")));
    assertEquals(shas, shas(train(trap, STREAM, null, "stream-trap")), "only the spec's columns are read");
    Manifest copy = train(SparkTestSupport.smallSpec(2, 3), null, "copy");
    long copied = ((Number) timing(copy).get("shuffleWriteBytes")).longValue();
    // two copies of ~1,150 rows of 64 floats: well over 2 × 1,150 × 64 × 4 / 4 bytes even if compressed 4-fold
    assertTrue(copied > 2 * 1150 * 64, "copy: members × the table through the shuffle, found " + copied);
    assertEquals("copy", timing(copy).get("placement"));
  }

  @Test
  void aValidationTableAndBootstrapWork() {
    EnsembleSection e = STREAM.ensemble();
    EnsembleSpec spec = new EnsembleSpec(STREAM.name(), STREAM.task(), STREAM.data(), STREAM.network(),
        STREAM.withEpochs(2).training(), new EnsembleSection(e.members(), e.seed(), true, e.weighting(),
        e.temperature(), e.mcDropoutSamples()), STREAM.resources());
    Manifest m = train(spec, validation, "stream-bootstrap");
    long validationRows = validation.count();
    List<Long> ids = new ArrayList<>();
    train.select("id").collectAsList().forEach(r -> ids.add(r.getLong(0)));
    for (int k = 0; k < 2; k++) {
      long seed = Seeds.derive(spec.ensemble().seed(), k, SeedPurpose.BOOTSTRAP, 0);
      long expected = 0;
      for (long id : ids) {
        expected += Bootstrap.multiplicity(seed, Seeds.rowKey(id));
      }
      JsonNode r = m.members().get(k).report().path("report");
      assertEquals(expected, r.path("trainRows").asLong(), "member " + k + ": the sum of bootstrap multiplicities");
      assertEquals(validationRows, r.path("validationRows").asLong());
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void swagMembersStreamTheirSgdEpochsAndPublishTheirMoments() {
    EnsembleSpec swag = SparkTestSupport.streamSpec(SparkTestSupport.smallSpec(2, 3, """
        swag:
          epochs: 2
          learningRate: 0.02
          rank: 2
          snapshotsPerEpoch: 2
          samples: 3
        """), 200, 0);
    Manifest a = train(swag, null, "swag-a");
    Manifest b = train(swag, null, "swag-b");
    assertEquals(shas(a), shas(b), "same seed, same SWAG members");
    assertEquals(Manifest.FORMAT_VERSION, a.formatVersion(), "a SWAG ensemble's manifest");
    assertEquals(0L, ((Number) timing(a).get("shuffleWriteBytes")).longValue(), "stream: no shuffle write");
    assertEquals(3, ((Number) ((Map<String, Object>) a.provenance().get("scoringCost")).get("componentsPerMember"))
        .intValue(), "S samples per member");
    for (Manifest.MemberEntry e : a.members()) {
      assertEquals(5, e.report().path("report").path("epochsRun").asInt(), "3 Adam + 2 SWAG epochs");
      assertEquals(0.02, e.report().path("report").path("epochs").get(4).path("learningRate").asDouble(), 0.0);
    }
  }
}
