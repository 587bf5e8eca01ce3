package io.deepens.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.data.OptDigits;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.train.MemberModels;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import io.deepens.spark.score.LoadedEnsemble;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Train, publish and score on a real {@code local[2]} SparkSession with the embedded digits. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalTrainScoreTest {
  Path tmp;
  SparkSession spark;
  Dataset<Row> train;
  Dataset<Row> test;
  SparkEnsembleTrainer.Result first;

  @BeforeAll
  void trainOnce(@TempDir Path dir) {
    tmp = dir;
    spark = SparkTestSupport.local();
    train = SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2, 3);
    test = SparkTestSupport.digits(spark, 0, 7, 5, 4);
    first = trainTo("store-a", "run-a");
  }

  private SparkEnsembleTrainer.Result trainTo(String store, String run) {
    EnsembleSpec spec = SparkTestSupport.smallSpec(2, 3);
    return new SparkEnsembleTrainer(spark).train(train, null, spec,
        new SparkEnsembleTrainer.Options(tmp.resolve(store).toString(), run, "digits[0..7]", Map.of()));
  }

  private static String paramsSha(Manifest m, int member) {
    return m.members().get(member).report().path("report").path("paramsSha256").asText();
  }

  @Test
  void sameSeedGivesIdenticalMembersAndMembersDiffer() {
    SparkEnsembleTrainer.Result second = trainTo("store-b", "run-b");
    for (int m = 0; m < 2; m++) {
      assertEquals(paramsSha(first.manifest(), m), paramsSha(second.manifest(), m),
          "member " + m + " parameters must be identical for the same seed");
      assertEquals(first.manifest().members().get(m).sha256().length(), 64);
    }
    assertNotEquals(paramsSha(first.manifest(), 0), paramsSha(first.manifest(), 1),
        "members 0 and 1 must start from different initialisations");
    assertEquals(List.of(0.5, 0.5), List.of(first.manifest().weights()[0], first.manifest().weights()[1]));
  }

  @Test
  void aSeparateValidationTableReplacesTheHashSplit() {
    Dataset<Row> validation = SparkTestSupport.digits(spark, 0, 7, 5, 4);
    SparkEnsembleTrainer.Result r = new SparkEnsembleTrainer(spark).train(train, validation,
        SparkTestSupport.smallSpec(1, 1),
        new SparkEnsembleTrainer.Options(tmp.resolve("store-val").toString(), "run-val", "digits", Map.of()));
    Manifest m = r.manifest();
    assertEquals(train.count(), m.data().trainRows(), "every row of the training table trains");
    assertEquals(validation.count(), m.data().validationRows(), "the validation table is the validation set");
    assertEquals(validation.count(), r.outcomes().get(0).validationKeys.length);
  }

  @Test
  void publishedVersionIsCompleteAndCheckpointsAreGone() throws Exception {
    Path store = tmp.resolve("store-a");
    assertEquals("v000001", Files.readString(store.resolve("LATEST")).trim());
    assertTrue(Files.exists(store.resolve("versions/v000001/manifest.json")));
    assertTrue(Files.exists(store.resolve("versions/v000001/members/m-000.zip")));
    assertTrue(!Files.exists(store.resolve("checkpoints/run-a")), "checkpoints of a published run are removed");
    Manifest m = first.manifest();
    assertEquals(64, m.numFeatures());
    assertEquals(8, m.outputs());
    assertTrue(m.data().validationRows() > 0 && m.data().trainRows() > 0);
    assertEquals(m.data().rows(), m.data().trainRows() + m.data().validationRows());
  }

  @Test
  void theScorersStackedPassFollowsTheSameSwitchAsTraining() {
    // LeanPath parses the switch for scoring as for training: "no" turns the stacked MLP pass off (it used to turn
    // off only this one), an unparseable value is an error naming the property
    io.deepens.spark.score.LoadedEnsemble ens =
        EnsembleScorer.resolve(spark, tmp.resolve("store-a").toString(), null).load();
    try {
      System.setProperty(io.deepens.core.lean.LeanPath.MLP_PROPERTY, "no");
      assertEquals(null, ens.borrowForward(16), "-Ddeepens.fastMlp=no: members run through DL4J's output()");
      System.setProperty(io.deepens.core.lean.LeanPath.MLP_PROPERTY, "flase");
      io.deepens.core.InvalidInputException e = org.junit.jupiter.api.Assertions.assertThrows(
          io.deepens.core.InvalidInputException.class, () -> ens.borrowForward(16));
      assertTrue(e.getMessage().contains("deepens.fastMlp is 'flase'"), e.getMessage());
    } finally {
      System.clearProperty(io.deepens.core.lean.LeanPath.MLP_PROPERTY);
    }
    var f = ens.borrowForward(16);
    assertTrue(f != null, "switch unset: the stacked pass on the CPU backend");
    ens.releaseForward(f);
  }

  @Test
  void probabilityColumnIsTheWeightedMixtureOfTheMembersOwnOutputs() throws Exception {
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, tmp.resolve("store-a").toString(), null);
    List<Row> rows = scorer.score(spark, test, null, null, InvalidPolicy.FAIL, 37, null).orderBy("id")
        .collectAsList();
    assertEquals(test.count(), rows.size());
    // the digits MLP members ran through the stacked forward pass (local mode: this JVM is the executor), so the
    // comparison below checks that pass against DL4J's own output()
    assertEquals(Boolean.TRUE, scorer.load().stackedForward());
    // independent computation: load the member files ourselves, run them one row at a time, mix by hand
    Manifest m = first.manifest();
    EnsembleStore store = EnsembleStore.open(tmp.resolve("store-a").toString(), new Configuration());
    List<MemberNetwork> nets = new ArrayList<>();
    for (Manifest.MemberEntry e : m.usableMembers()) {
      nets.add(MemberModels.fromBytes(store.readVerified(m.version(), e.file(), e.sha256())));
    }
    OptDigits digits = OptDigits.load();
    double tol = 1e-5; // float32 network outputs mixed in double; the column is stored as float
    int correct = 0;
    for (Row r : rows) {
      float[] x = digits.features((int) r.getLong(0));
      double[] mix = new double[8];
      double expectedEntropy = 0;
      for (int k = 0; k < nets.size(); k++) {
        float[] p = MemberModels.predict(nets.get(k), x, 1, 64);
        double h = 0;
        for (int c = 0; c < 8; c++) {
          mix[c] += m.weights()[k] * p[c];
          h -= p[c] > 0 ? p[c] * Math.log(p[c]) : 0;
        }
        expectedEntropy += m.weights()[k] * h;
      }
      double total = 0;
      int argmax = 0;
      for (int c = 0; c < 8; c++) {
        total -= mix[c] > 0 ? mix[c] * Math.log(mix[c]) : 0;
        argmax = mix[c] > mix[argmax] ? c : argmax;
      }
      List<Float> prob = r.getList(r.fieldIndex("probability"));
      for (int c = 0; c < 8; c++) {
        assertEquals(mix[c], prob.get(c), tol, "probability[" + c + "] of id " + r.getLong(0));
      }
      assertEquals(argmax, r.getInt(r.fieldIndex("prediction")));
      assertEquals(mix[argmax], r.getDouble(r.fieldIndex("max_probability")), tol);
      assertEquals(total, r.getDouble(r.fieldIndex("predictive_entropy")), tol);
      assertEquals(expectedEntropy, r.getDouble(r.fieldIndex("expected_entropy")), tol);
      assertEquals(Math.max(0, total - expectedEntropy), r.getDouble(r.fieldIndex("mutual_information")), tol);
      correct += argmax == r.getInt(2) ? 1 : 0;
    }
    // 3 epochs of a 64-32-8 MLP on ~900 digits: far above the 1/8 chance level; 0.8 leaves a wide margin
    assertTrue(correct / (double) rows.size() > 0.8, "accuracy " + correct / (double) rows.size());
  }

  @Test
  void outputSchemaIsStable() {
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, tmp.resolve("store-a").toString(), "v000001");
    Dataset<Row> out = scorer.score(spark, test, null, null, InvalidPolicy.KEEP, 64, null);
    assertEquals("struct<id:bigint,features:array<float>,label:int,prediction:int,probability:array<float>,"
        + "max_probability:double,predictive_entropy:double,expected_entropy:double,mutual_information:double,"
        + "invalid_reason:string>", out.schema().simpleString());
  }

  @Test
  void invalidRowPolicies() {
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, tmp.resolve("store-a").toString(), null);
    float[] good = OptDigits.load().features(0);
    Float[] nan = SparkTestSupport.box(good);
    nan[5] = Float.NaN;
    Float[] shortRow = new Float[10];
    java.util.Arrays.fill(shortRow, 0f);
    List<Row> rows = List.of(RowFactory.create(1L, SparkTestSupport.box(good), 0),
        RowFactory.create(2L, nan, 0), RowFactory.create(3L, shortRow, 0), RowFactory.create(4L, null, 0));
    Dataset<Row> bad = spark.createDataFrame(rows, SparkTestSupport.digitsSchema()).coalesce(1);

    Exception e = assertThrows(Exception.class,
        () -> scorer.score(spark, bad, null, null, InvalidPolicy.FAIL, 16, null).collectAsList());
    String msg = String.valueOf(rootMessage(e));
    assertTrue(msg.contains("id=2") && msg.contains("feature 5") && msg.contains("NaN"), msg);

    LongAccumulator skipped = spark.sparkContext().longAccumulator();
    List<Row> kept = scorer.score(spark, bad, null, null, InvalidPolicy.SKIP, 16, skipped).collectAsList();
    assertEquals(1, kept.size());
    assertEquals(1L, kept.get(0).getLong(0));
    assertEquals(3L, skipped.value());

    List<Row> all = scorer.score(spark, bad, null, null, InvalidPolicy.KEEP, 16, null).orderBy("id").collectAsList();
    assertEquals(4, all.size());
    assertNull(all.get(0).get(all.get(0).fieldIndex("invalid_reason")));
    for (int i = 1; i < 4; i++) {
      Row r = all.get(i);
      assertNull(r.get(r.fieldIndex("prediction")));
      assertNull(r.get(r.fieldIndex("probability")));
      assertTrue(r.getString(r.fieldIndex("invalid_reason")).length() > 5);
    }
    assertTrue(all.get(2).getString(all.get(2).fieldIndex("invalid_reason")).contains("have 10 values, expected 64"));
    assertTrue(all.get(3).getString(all.get(3).fieldIndex("invalid_reason")).contains("null"));
  }

  @Test
  void tamperedMemberFileIsRefusedNamingTheFile() throws Exception {
    Path copy = tmp.resolve("store-tampered");
    copyTree(tmp.resolve("store-a"), copy);
    Path member = copy.resolve("versions/v000001/members/m-001.zip");
    byte[] bytes = Files.readAllBytes(member);
    bytes[bytes.length / 2] ^= 0x5a;
    Files.write(member, bytes);
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, copy.toString(), null);
    Exception e = assertThrows(Exception.class,
        () -> scorer.score(spark, test, null, null, InvalidPolicy.FAIL, 64, null).count());
    String msg = rootMessage(e);
    assertTrue(msg.contains("checksum mismatch") && msg.contains("m-001.zip"), msg);
  }

  @Test
  void membersAreLoadedOncePerJvmNotPerPartition() {
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, tmp.resolve("store-a").toString(), null);
    scorer.score(spark, test, null, null, InvalidPolicy.FAIL, 64, null).count();
    int loads = LoadedEnsemble.loads();
    scorer.score(spark, test.repartition(6), null, null, InvalidPolicy.FAIL, 16, null).count();
    assertEquals(loads, LoadedEnsemble.loads(), "a second scoring pass over 6 partitions must not reload members");
  }

  @Test
  void schemaAndDataErrorsFailBeforeTraining() {
    EnsembleSpec spec = SparkTestSupport.smallSpec(1, 1);
    SparkEnsembleTrainer trainer = new SparkEnsembleTrainer(spark);
    SparkEnsembleTrainer.Options opts =
        new SparkEnsembleTrainer.Options(tmp.resolve("store-err").toString(), "err", "bad", Map.of());
    InvalidInputException missing = assertThrows(InvalidInputException.class,
        () -> trainer.train(train.drop("label"), null, spec, opts));
    assertTrue(missing.getMessage().contains("label column 'label' is not in the table"), missing.getMessage());

    float[] x = OptDigits.load().features(3);
    Float[] nan = SparkTestSupport.box(x);
    nan[7] = Float.NaN;
    List<Row> rows = new ArrayList<>(train.limit(50).collectAsList());
    rows.add(RowFactory.create(9001L, nan, 1));
    rows.add(RowFactory.create(9002L, new Float[] {1f, 2f}, 1));
    rows.add(RowFactory.create(9003L, SparkTestSupport.box(x), 9));
    Dataset<Row> bad = spark.createDataFrame(rows, SparkTestSupport.digitsSchema());
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> trainer.train(bad, null, spec, opts));
    String msg = e.getMessage();
    assertTrue(msg.contains("id=9001") && msg.contains("NaN"), msg);
    assertTrue(msg.contains("1 row has 2 values") && msg.contains("id=9002"), msg);
    assertTrue(msg.contains("id=9003") && msg.contains("label 'label' is 9"), msg);
    assertTrue(!Files.exists(tmp.resolve("store-err/versions")), "nothing may be published");
  }

  static String rootMessage(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getMessage()).append(" | ");
    }
    return sb.toString();
  }

  static void copyTree(Path from, Path to) throws Exception {
    try (var s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

}
