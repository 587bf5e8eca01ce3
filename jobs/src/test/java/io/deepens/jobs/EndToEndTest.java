package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.train.MemberModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart path through the real command line, in-process: import the embedded digits, train the reference
 * digits spec, score, evaluate. Asserts what a deep ensemble promises, with bounds that can fail.
 */
class EndToEndTest {
  static final String ROOT = Path.of("..").toAbsolutePath().normalize().toString();

  record Run(int code, String out, String err) {}

  static Run main(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      System.setOut(o);
      int code = Main.run(args, o, e);
      return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
    }
  }

  @Test
  void trainScoreEvaluateOnTheEmbeddedDigits(@TempDir Path tmp) throws Exception {
    String data = tmp.resolve("data").toString();
    String store = tmp.resolve("store").toString();
    Run imp = main("import", "optdigits", "--output", data, "--master", "local[2]");
    assertEquals(0, imp.code(), imp.err());
    Run imp2 = main("import", "optdigits", "--output", data, "--master", "local[2]");
    assertTrue(imp2.out().contains("already imported"), "a second import must leave the complete output alone");

    Run train = main("train", "--config", ROOT + "/conf/digits-mlp.yaml", "--data", data + "/train", "--store",
        store, "--members", "3", "--epochs", "12", "--run-id", "e2e", "--master", "local[2]");
    assertEquals(0, train.code(), train.err());
    assertTrue(train.out().contains("published " + store + "#v000001"), train.out());
    JsonNode manifest = new ObjectMapper().readTree(Path.of(store, "versions", "v000001", "manifest.json").toFile());
    assertEquals(List.of("--config", ROOT + "/conf/digits-mlp.yaml", "--data", data + "/train", "--store", store,
        "--members", "3", "--epochs", "12", "--run-id", "e2e", "--master", "local[2]"), new ObjectMapper()
            .convertValue(manifest.path("provenance").path("arguments"), List.class), "the manifest's command line");

    String scored = tmp.resolve("scored-ood").toString();
    Run score = main("score", "--ensemble", store, "--input", data + "/ood", "--output", scored, "--master",
        "local[2]");
    assertEquals(0, score.code(), score.err());
    Run again = main("score", "--ensemble", store, "--input", data + "/ood", "--output", scored, "--master",
        "local[2]");
    assertEquals(2, again.code(), "an existing output is refused without --mode overwrite");
    assertTrue(again.err().contains("--mode overwrite"), again.err());

    String narrow = tmp.resolve("scored-narrow").toString();
    Run keep = main("score", "--ensemble", store, "--input", data + "/ood", "--output", narrow, "--keep", "id",
        "--master", "local[2]");
    assertEquals(0, keep.code(), keep.err());
    SparkSession check = SparkSession.builder().master("local[1]").appName("e2e-keep").getOrCreate();
    try {
      assertEquals(List.of("id", "prediction", "probability", "max_probability", "predictive_entropy",
          "expected_entropy", "mutual_information"), List.of(check.read().parquet(narrow).columns()));
    } finally {
      check.stop();
    }

    // a shifted copy of the test table: every image mirrored through its centre (pixel order reversed)
    String mirrored = tmp.resolve("test-mirrored").toString();
    SparkSession shift = SparkSession.builder().master("local[1]").appName("e2e-shift").getOrCreate();
    try {
      Dataset<Row> t = shift.read().parquet(data + "/test");
      t.withColumn("features", org.apache.spark.sql.functions.reverse(t.col("features"))).write().parquet(mirrored);
    } finally {
      shift.stop();
    }
    String report = tmp.resolve("report").toString();
    Run eval = main("evaluate", "--ensemble", store + "#v000001", "--test", data + "/test", "--ood", data + "/ood",
        "--shift", "same=" + data + "/test", "--shift", "mirrored=" + mirrored, "--report", report, "--master",
        "local[2]");
    assertEquals(0, eval.code(), eval.err());
    assertTrue(eval.out().contains("dataset shift") && eval.out().contains("mirrored"), eval.out());
    Run twice = main("evaluate", "--ensemble", store, "--test", data + "/test", "--shift", "a=" + data + "/test",
        "--shift", "a=" + mirrored, "--report", tmp.resolve("report-twice").toString(), "--master", "local[2]");
    assertEquals(2, twice.code(), "a --shift name given twice is refused");
    assertTrue(twice.err().contains("--shift name 'a' is given twice"), twice.err());
    assertTrue(eval.out().contains("ensemble"), eval.out());
    for (String f : List.of("metrics.json", "index.html")) {
      assertTrue(Files.size(Path.of(report, f)) > 100, f);
    }
    JsonNode metrics = new ObjectMapper().readTree(Path.of(report, "metrics.json").toFile());
    JsonNode ens = metrics.path("ensemble");
    // Each member of the 64-64-64-8 MLP reaches ~0.97 on the seen digits after 30 epochs (quickstart); with 12
    // epochs 0.90 leaves room for noise while failing on a broken pipeline (chance is 0.125).
    assertTrue(ens.path("accuracy").asDouble() >= 0.90, "ensemble accuracy " + ens);
    assertTrue(ens.path("nll").asDouble() < 0.5, "ensemble NLL " + ens);
    // Unseen digits 8 and 9 must look more uncertain than seen ones: AUROC 0.5 is chance; the quickstart gets ~0.93.
    assertTrue(ens.path("auroc_entropy").asDouble() > 0.75, "AUROC(entropy) " + ens);
    assertTrue(ens.path("auroc_mi").asDouble() > 0.75, "AUROC(MI) " + ens);
    assertEquals(3, metrics.path("members").size());
    // --shift: the unshifted copy gives the test metrics, and its member mean is the mean of the members' rows
    JsonNode same = metrics.path("shift").path("same");
    assertEquals(metrics.path("test_rows").asLong(), same.path("rows").asLong());
    for (String k : List.of("accuracy", "nll", "brier", "ece")) {
      assertEquals(ens.path(k).asDouble(), same.path("ensemble").path(k).asDouble(), 1e-12, "shift 'same' " + k);
      double mean = 0;
      for (JsonNode member : metrics.path("members")) {
        mean += member.path(k).asDouble() / 3;
      }
      assertEquals(mean, same.path("member_mean").path(k).asDouble(), 1e-12, "shift 'same' member mean " + k);
    }
    // mirrored digits are far from anything seen: accuracy falls well below the test's and NLL rises
    JsonNode mirror = metrics.path("shift").path("mirrored").path("ensemble");
    assertTrue(mirror.path("accuracy").asDouble() < ens.path("accuracy").asDouble() - 0.3, mirror.toString());
    assertTrue(mirror.path("nll").asDouble() > ens.path("nll").asDouble() + 0.5, mirror.toString());
    assertTrue(Files.readString(Path.of(report, "index.html")).contains("<h2>Dataset shift</h2>"));
    // members without Monte Carlo dropout passes have no mutual information of their own: null, not 0.5
    for (JsonNode member : metrics.path("members")) {
      assertTrue(member.has("auroc_mi") && member.path("auroc_mi").isNull(), member.toString());
    }
    // provenance records the command line the report was made with, and the build's version
    assertEquals(List.of("--ensemble", store + "#v000001", "--test", data + "/test", "--ood", data + "/ood",
        "--shift", "same=" + data + "/test", "--shift", "mirrored=" + mirrored, "--report", report, "--master",
        "local[2]"), new ObjectMapper().convertValue(
            metrics.path("provenance").path("arguments"), List.class));
    assertTrue(metrics.path("provenance").path("deepensVersion").asText().matches("\\d+\\.\\d+\\.\\d+.*"),
        metrics.path("provenance").toString());

    // Epistemic uncertainty is higher on unseen classes than on seen ones, in the scored output itself.
    SparkSession spark = SparkSession.builder().master("local[1]").appName("e2e-check").getOrCreate();
    try {
      Row oodMi = spark.read().parquet(scored).agg(org.apache.spark.sql.functions.avg("mutual_information"))
          .first();
      String scoredTest = tmp.resolve("scored-test").toString();
      assertEquals(0, main("score", "--ensemble", store, "--input", data + "/test", "--output", scoredTest,
          "--master", "local[2]").code());
      spark = SparkSession.builder().master("local[1]").appName("e2e-check").getOrCreate();
      Row testMi = spark.read().parquet(scoredTest).agg(org.apache.spark.sql.functions.avg("mutual_information"))
          .first();
      assertTrue(oodMi.getDouble(0) > 2 * testMi.getDouble(0),
          "mean MI on unseen digits " + oodMi.getDouble(0) + " vs seen " + testMi.getDouble(0));

      // The Spark ML Transformer, as a Pipeline stage fitted, saved and loaded back, gives the rows the score
      // command wrote (same columns, same values; a different batch size than the command's default)
      Dataset<Row> testTable = spark.read().parquet(data + "/test");
      org.apache.spark.ml.PipelineModel fitted = new org.apache.spark.ml.Pipeline()
          .setStages(new org.apache.spark.ml.PipelineStage[] {
              io.deepens.spark.score.EnsembleModel.fromStore(store).setBatchSize(97)})
          .fit(testTable);
      String saved = tmp.resolve("pipeline").toString();
      fitted.write().save(saved);
      List<Row> viaPipeline = org.apache.spark.ml.PipelineModel.load(saved).transform(testTable).orderBy("id")
          .collectAsList();
      Dataset<Row> viaCommandTable = spark.read().parquet(scoredTest);
      assertEquals(List.of(viaCommandTable.columns()), List.of(fitted.transform(testTable).columns()));
      List<Row> viaCommand = viaCommandTable.orderBy("id").collectAsList();
      assertEquals(viaCommand.size(), viaPipeline.size());
      for (int i = 0; i < viaCommand.size(); i++) {
        Row a = viaCommand.get(i);
        Row b = viaPipeline.get(i);
        assertEquals(a.getLong(a.fieldIndex("id")), b.getLong(b.fieldIndex("id")));
        assertEquals(a.getInt(a.fieldIndex("prediction")), b.getInt(b.fieldIndex("prediction")), "row " + i);
        List<Float> pa = a.getList(a.fieldIndex("probability"));
        List<Float> pb = b.getList(b.fieldIndex("probability"));
        for (int c = 0; c < pa.size(); c++) {
          assertEquals(pa.get(c), pb.get(c), 1e-6f, "row " + i + " class " + c);
        }
        for (String col : List.of("max_probability", "predictive_entropy", "expected_entropy",
            "mutual_information")) {
          assertEquals(a.getDouble(a.fieldIndex(col)), b.getDouble(b.fieldIndex(col)), 1e-6, "row " + i + " " + col);
        }
      }
    } finally {
      spark.stop();
    }

    Run inspect = main("inspect", "--ensemble", store);
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("v000001") && inspect.out().contains("m-002.zip"), inspect.out());
  }

  /**
   * The same path with a user's ComputationGraphConfiguration (conf/digits-dl4j-graph.yaml: a wide dense branch and
   * a residual dense block, merged): the published members are graphs, and score and evaluate run them. Kept small
   * (2 members, 4 epochs). One such member reached 0.97-0.98 validation accuracy on the seen digits after 2-5
   * epochs in development (ComputationGraphMemberTest); 0.90 is the bound the MLP path above uses.
   */
  @Test
  void aComputationGraphEnsembleTrainsScoresAndEvaluates(@TempDir Path tmp) throws Exception {
    trainScoreEvaluateTwoMembers(tmp, "digits-dl4j-graph.yaml", "ComputationGraph");
  }

  /**
   * The same path with the cnn preset (conf/digits-cnn.yaml: 1×8×8 images, two 3×3 convolution blocks, dropout):
   * its members train with the lean CNN step and score with its forward pass inside Spark's tasks.
   */
  @Test
  void aCnnEnsembleTrainsScoresAndEvaluates(@TempDir Path tmp) throws Exception {
    trainScoreEvaluateTwoMembers(tmp, "digits-cnn.yaml", "MultiLayerNetwork");
  }

  private void trainScoreEvaluateTwoMembers(Path tmp, String config, String kind) throws Exception {
    String data = tmp.resolve("data").toString();
    String store = tmp.resolve("store").toString();
    assertEquals(0, main("import", "optdigits", "--output", data, "--master", "local[2]").code());
    Run train = main("train", "--config", ROOT + "/conf/" + config, "--data", data + "/train",
        "--store", store, "--members", "2", "--epochs", "4", "--run-id", "two", "--master", "local[2]");
    assertEquals(0, train.code(), train.err());
    assertTrue(train.out().contains("published " + store + "#v000001"), train.out());

    EnsembleStore st = EnsembleStore.open(store, new Configuration());
    Manifest m = st.readManifest("v000001");
    assertEquals(2, m.usableMembers().size());
    for (Manifest.MemberEntry e : m.usableMembers()) {
      MemberNetwork net = MemberModels.fromBytes(st.readVerified(m.version(), e.file(), e.sha256()));
      assertEquals(kind, net.kind(), e.file());
    }

    String scored = tmp.resolve("scored").toString();
    Run score = main("score", "--ensemble", store, "--input", data + "/test", "--output", scored, "--master",
        "local[2]");
    assertEquals(0, score.code(), score.err());
    SparkSession check = SparkSession.builder().master("local[1]").appName("e2e-graph").getOrCreate();
    try {
      Dataset<Row> out = check.read().parquet(scored);
      long rows = out.count();
      long correct = out.filter(functions.col("prediction").equalTo(functions.col("label"))).count();
      assertTrue(rows > 200, "scored rows " + rows);
      assertTrue((double) correct / rows >= 0.90, "scored accuracy " + correct + "/" + rows);
    } finally {
      check.stop();
    }

    String report = tmp.resolve("report").toString();
    Run eval = main("evaluate", "--ensemble", store + "#v000001", "--test", data + "/test", "--ood", data + "/ood",
        "--report", report, "--master", "local[2]");
    assertEquals(0, eval.code(), eval.err());
    JsonNode metrics = new ObjectMapper().readTree(Path.of(report, "metrics.json").toFile());
    JsonNode ens = metrics.path("ensemble");
    assertTrue(ens.path("accuracy").asDouble() >= 0.90, "ensemble accuracy " + ens);
    assertTrue(ens.path("nll").asDouble() < 0.5, "ensemble NLL " + ens);
    assertTrue(ens.path("auroc_entropy").asDouble() > 0.75, "AUROC(entropy) " + ens);
    assertEquals(2, metrics.path("members").size());
  }
}
