package io.deepens.spark.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** {@link EnsembleModel}: params, persistence round trip, Pipeline use against {@link EnsembleScorer}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EnsembleModelTest {
  private static final String[] OUTPUTS = {"prediction", "probability", "max_probability", "predictive_entropy",
      "expected_entropy", "mutual_information"};
  Path tmp;
  SparkSession spark;
  Dataset<Row> test;
  String store;

  @BeforeAll
  void trainOnce(@TempDir Path dir) {
    tmp = dir;
    spark = SparkTestSupport.local();
    Dataset<Row> train = SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2);
    test = SparkTestSupport.digits(spark, 0, 7, 5, 4);
    store = dir.resolve("store").toString();
    new SparkEnsembleTrainer(spark).train(train, null, SparkTestSupport.smallSpec(2, 2),
        new SparkEnsembleTrainer.Options(store, "run-model", "digits", Map.of()));
  }

  @Test
  void transformGivesTheScorersRowsAndPinsTheVersion() {
    EnsembleModel model = EnsembleModel.fromStore(store).setBatchSize(19);
    assertEquals("v000001", model.version());
    assertEquals(64, model.manifestSha256().length());
    List<Row> viaModel = model.transform(test).orderBy("id").collectAsList();
    List<Row> viaScorer = EnsembleScorer.resolve(spark, store, null)
        .score(spark, test, null, null, InvalidPolicy.FAIL, 2048, null).orderBy("id").collectAsList();
    assertSameScores(viaScorer, viaModel);
    assertEquals(test.count(), viaModel.size());
  }

  @Test
  void inAPipelineAfterVectorAssemblerItGivesTheSameRowsAsTheScorerOnColumns() {
    // 64 numeric columns f0..f63 (the layout a user's table often has)
    List<Column> cols = new ArrayList<>(List.of(functions.col("id"), functions.col("label")));
    String[] names = new String[64];
    for (int j = 0; j < 64; j++) {
      names[j] = "f" + j;
      cols.add(functions.col("features").getItem(j).cast(DataTypes.DoubleType).as(names[j]));
    }
    Dataset<Row> wide = test.select(cols.toArray(new Column[0]));
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new SQLTransformer().setStatement("SELECT *, id % 3 AS bucket FROM __THIS__"),
        new VectorAssembler().setInputCols(names).setOutputCol("vec"),
        EnsembleModel.fromStore(store + "#v000001").setFeaturesCol("vec").setKeyCol("id")});
    PipelineModel fitted = pipeline.fit(wide);
    Dataset<Row> out = fitted.transform(wide);
    assertEquals("bucket", out.schema().fields()[66].name());
    List<Row> viaPipeline = out.select(outputsWithId()).orderBy("id").collectAsList();
    List<Row> viaScorer = EnsembleScorer.resolve(spark, store, "v000001")
        .score(spark, wide, List.of(names), "id", InvalidPolicy.FAIL, 64, null)
        .select(outputsWithId()).orderBy("id").collectAsList();
    assertEquals(test.count(), viaPipeline.size());
    assertSameScores(viaScorer, viaPipeline);
  }

  @Test
  void saveAndLoadRoundTripKeepsParamsVersionAndRows() throws IOException {
    EnsembleModel model = EnsembleModel.fromStore(store).setInvalidPolicy("keep").setBatchSize(33)
        .setKeyCol("id");
    String path = tmp.resolve("saved-model").toString();
    model.write().save(path);
    assertTrue(Files.exists(tmp.resolve("saved-model/metadata/part-00000")));
    String meta = Files.readString(tmp.resolve("saved-model/metadata/part-00000"));
    assertTrue(meta.contains("\"class\":\"io.deepens.spark.score.EnsembleModel\"") && meta.contains("\"sparkVersion\""),
        meta);
    assertTrue(!Files.exists(tmp.resolve("saved-model/members")), "members are referenced, never copied");

    EnsembleModel loaded = EnsembleModel.load(path);
    assertEquals(model.uid(), loaded.uid());
    assertEquals(model.getEnsemble(), loaded.getEnsemble());
    assertEquals("keep", loaded.getInvalidPolicy());
    assertEquals(33, loaded.getBatchSize());
    assertEquals("id", loaded.getKeyCol());
    assertTrue(!loaded.isSet(loaded.featuresCol()));
    assertEquals(model.version(), loaded.version());
    assertEquals(model.manifestSha256(), loaded.manifestSha256());
    assertSameScores(model.transform(test).orderBy("id").collectAsList(),
        loaded.transform(test).orderBy("id").collectAsList());

    // a second save refuses to overwrite unless told to
    assertThrows(IOException.class, () -> model.write().save(path));
    model.setBatchSize(7).write().overwrite().save(path);
    assertEquals(7, EnsembleModel.load(path).getBatchSize());
  }

  @Test
  void aSavedModelStaysOnItsVersionWhenANewerOneIsPublished() throws Exception {
    Path copy = tmp.resolve("store-pinned");
    copyTree(Path.of(store), copy);
    EnsembleModel model = EnsembleModel.fromStore(copy.toString());
    String path = tmp.resolve("pinned-model").toString();
    model.write().save(path);
    // a second published version: LATEST moves, the saved model must not
    copyTree(copy.resolve("versions/v000001"), copy.resolve("versions/v000002"));
    Path m2 = copy.resolve("versions/v000002/manifest.json");
    Files.writeString(m2, Files.readString(m2).replace("\"v000001\"", "\"v000002\""));
    Files.writeString(copy.resolve("LATEST"), "v000002\n");
    assertEquals("v000001", EnsembleModel.load(path).version());
    assertEquals("v000002", EnsembleModel.fromStore(copy.toString()).version());
  }

  @Test
  void loadingDetectsThatThePinnedVersionWasAltered() throws Exception {
    Path copy = tmp.resolve("store-altered");
    copyTree(Path.of(store), copy);
    EnsembleModel model = EnsembleModel.fromStore(copy + "#v000001");
    String path = tmp.resolve("altered-model").toString();
    model.write().save(path);
    Path manifest = copy.resolve("versions/v000001/manifest.json");
    // a change a JSON parser would not see: one more space
    Files.writeString(manifest, Files.readString(manifest).replaceFirst("\\{", "{ "));
    Exception e = assertThrows(Exception.class, () -> EnsembleModel.load(path));
    assertTrue(e.getMessage().contains("was altered") && e.getMessage().contains(model.manifestSha256()),
        e.getMessage());
  }

  @Test
  void transformSchemaRejectsBadTablesBeforeTouchingData() {
    EnsembleModel model = EnsembleModel.fromStore(store);
    StructType good = test.schema();
    StructType out = model.transformSchema(good);
    assertEquals(good.size() + OUTPUTS.length, out.size());
    assertEquals("probability", out.fields()[good.size() + 1].name());

    InvalidInputException missing = assertThrows(InvalidInputException.class,
        () -> model.transformSchema(new StructType().add("id", DataTypes.LongType).add("x", DataTypes.IntegerType)));
    assertTrue(missing.getMessage().contains("features column 'features' is not in the table"),
        missing.getMessage());

    StructType strings = new StructType().add("id", DataTypes.LongType).add("features", DataTypes.StringType);
    InvalidInputException type = assertThrows(InvalidInputException.class, () -> model.transformSchema(strings));
    assertTrue(type.getMessage().contains("has type string"), type.getMessage());

    StructType clash = good.add("prediction", DataTypes.DoubleType);
    InvalidInputException shadow = assertThrows(InvalidInputException.class, () -> model.transformSchema(clash));
    assertTrue(shadow.getMessage().contains("'prediction'"), shadow.getMessage());

    StructType threeCols = new StructType().add("a", DataTypes.DoubleType).add("b", DataTypes.DoubleType)
        .add("c", DataTypes.DoubleType);
    EnsembleModel cols = model.copy(new org.apache.spark.ml.param.ParamMap())
        .setFeaturesCols(new String[] {"a", "b", "c"});
    InvalidInputException width = assertThrows(InvalidInputException.class, () -> cols.transformSchema(threeCols));
    assertTrue(width.getMessage().contains("expects 64 features but 3"), width.getMessage());

    EnsembleModel both = cols.copy(new org.apache.spark.ml.param.ParamMap()).setFeaturesCol("features");
    InvalidInputException ambiguous = assertThrows(InvalidInputException.class, () -> both.transformSchema(good));
    assertTrue(ambiguous.getMessage().contains("not both"), ambiguous.getMessage());

    // the data is never read: a table whose rows would fail to decode still gets its schema checked
    Dataset<Row> neverRead = test.withColumn("prediction", functions.lit(1));
    assertThrows(InvalidInputException.class, () -> model.transform(neverRead));
  }

  @Test
  void paramValidatorsRejectBadValues() {
    EnsembleModel model = new EnsembleModel();
    assertThrows(IllegalArgumentException.class, () -> model.setInvalidPolicy("drop"));
    assertThrows(IllegalArgumentException.class, () -> model.setBatchSize(0));
    assertThrows(IllegalArgumentException.class, () -> model.setEnsemble("store#"));
    assertThrows(IllegalArgumentException.class, () -> model.setFeaturesCols(new String[0]));
    assertEquals("fail", model.getInvalidPolicy());
    assertEquals(EnsembleScorer.DEFAULT_BATCH, model.getBatchSize());
    InvalidInputException unset = assertThrows(InvalidInputException.class, () -> model.transformSchema(
        test.schema()));
    assertTrue(unset.getMessage().contains("ensemble param is not set"), unset.getMessage());
    assertTrue(model.explainParams().contains("invalidPolicy: what to do with a row"), model.explainParams());
    assertNotEquals(model.uid(), new EnsembleModel().uid());
    assertArrayEquals(new String[] {"a"}, model.setFeaturesCols(new String[] {"a"}).getFeaturesCols());
  }

  /**
   * Same ids, same predictions, and every output within 1e-6 absolute: float32 forward passes give results that
   * differ in the last bits with the batch size (different GEMM blocking), ~1e-7 for these probabilities.
   */
  static void assertSameScores(List<Row> expected, List<Row> actual) {
    double tol = 1e-6;
    assertEquals(expected.size(), actual.size(), "row count");
    for (int i = 0; i < expected.size(); i++) {
      Row e = expected.get(i);
      Row a = actual.get(i);
      long id = e.getLong(e.fieldIndex("id"));
      assertEquals(id, a.getLong(a.fieldIndex("id")), "row " + i);
      assertEquals((Integer) e.getAs("prediction"), (Integer) a.getAs("prediction"), "prediction of id " + id);
      List<Float> pe = e.getList(e.fieldIndex("probability"));
      List<Float> pa = a.getList(a.fieldIndex("probability"));
      assertEquals(pe.size(), pa.size());
      for (int c = 0; c < pe.size(); c++) {
        assertEquals(pe.get(c), pa.get(c), tol, "probability[" + c + "] of id " + id);
      }
      for (String col : List.of("max_probability", "predictive_entropy", "expected_entropy", "mutual_information")) {
        assertEquals((Double) e.getAs(col), (Double) a.getAs(col), tol, col + " of id " + id);
      }
    }
  }

  private static Column[] outputsWithId() {
    List<Column> c = new ArrayList<>(List.of(functions.col("id")));
    for (String o : OUTPUTS) {
      c.add(functions.col(o));
    }
    return c.toArray(new Column[0]);
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (var s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else if (!p.getFileName().toString().endsWith(".crc")) {
          Files.copy(p, t);
        }
      }
    }
  }
}
