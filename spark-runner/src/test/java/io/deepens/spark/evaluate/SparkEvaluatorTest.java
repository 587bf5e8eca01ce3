package io.deepens.spark.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.data.OptDigits;
import io.deepens.core.metrics.ClassificationMetrics;
import io.deepens.core.metrics.Roc;
import io.deepens.core.mixture.ClassificationUncertainty;
import io.deepens.core.mixture.PosteriorMixture;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.train.MemberModels;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import io.deepens.spark.score.LoadedEnsemble;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluator's metrics, accumulated on executors and merged across partitions, equal ensemble-core's metrics
 * computed in one pass on the collected rows and the members' own outputs.
 */
class SparkEvaluatorTest {

  @Test
  void executorAccumulatedMetricsEqualOnePassMetricsOnCollectedRows(@TempDir Path tmp) {
    SparkSession spark = SparkTestSupport.local();
    Dataset<Row> train = SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2, 3);
    Dataset<Row> test = SparkTestSupport.digits(spark, 0, 7, 5, 4).repartition(4);
    Dataset<Row> ood = SparkTestSupport.digits(spark, 8, 9, 0).repartition(3);
    String store = tmp.resolve("store").toString();
    new SparkEnsembleTrainer(spark).train(train, null, SparkTestSupport.smallSpec(2, 2),
        new SparkEnsembleTrainer.Options(store, "eval", "digits", Map.of()));

    EnsembleScorer scorer = EnsembleScorer.resolve(spark, store, null);
    SparkEvaluator.Evaluation e = new SparkEvaluator(scorer, 29).evaluate(test, ood);

    // one pass on the driver over collected rows
    Manifest m = scorer.manifest();
    List<MemberNetwork> nets = members(store, m);
    OptDigits digits = OptDigits.load();
    List<Row> testRows = test.collectAsList();
    List<Row> oodRows = ood.collectAsList();
    PosteriorMixture mixture = PosteriorMixture.of(m.weights());
    ClassificationMetrics ens = new ClassificationMetrics(8);
    ClassificationMetrics[] members = {new ClassificationMetrics(8), new ClassificationMetrics(8)};
    double[] testEntropy = new double[testRows.size()];
    double[] testMi = new double[testRows.size()];
    for (int i = 0; i < testRows.size(); i++) {
      Row r = testRows.get(i);
      float[] x = digits.features((int) r.getLong(0));
      float[][] p = new float[nets.size()][];
      for (int k = 0; k < nets.size(); k++) {
        p[k] = MemberModels.predict(nets.get(k), x, 1, 64);
        members[k].add(p[k], new int[] {r.getInt(2)}, 1);
      }
      ClassificationUncertainty u = mixture.classify(p, 1, 8);
      ens.add(u.probability(), new int[] {r.getInt(2)}, 1);
      testEntropy[i] = u.predictiveEntropy()[0];
      testMi[i] = u.mutualInformation()[0];
    }
    double[] oodEntropy = new double[oodRows.size()];
    double[] oodMi = new double[oodRows.size()];
    for (int i = 0; i < oodRows.size(); i++) {
      float[] x = digits.features((int) oodRows.get(i).getLong(0));
      float[][] p = new float[nets.size()][];
      for (int k = 0; k < nets.size(); k++) {
        p[k] = MemberModels.predict(nets.get(k), x, 1, 64);
      }
      ClassificationUncertainty u = mixture.classify(p, 1, 8);
      oodEntropy[i] = u.predictiveEntropy()[0];
      oodMi[i] = u.mutualInformation()[0];
    }

    // Batched float32 forward passes vs one row at a time differ in the last float bits only.
    double tol = 1e-6;
    assertEquals(testRows.size(), e.testRows());
    assertEquals(oodRows.size(), e.oodRows());
    assertEquals(ens.accuracy(), e.ensemble().accuracy(), 0.0, "accuracy is a count ratio: exact");
    assertEquals(ens.nll(), e.ensemble().nll(), tol);
    assertEquals(ens.brier(), e.ensemble().brier(), tol);
    assertEquals(ens.ece(), e.ensemble().ece(), 1e-4); // a row at a bin edge may move bins: 1/n per row
    for (int k = 0; k < 2; k++) {
      assertEquals(members[k].accuracy(), e.members()[k].accuracy(), 0.0);
      assertEquals(members[k].nll(), e.members()[k].nll(), tol);
    }
    assertTrue(e.exactAuroc());
    assertEquals(Roc.auroc(oodEntropy, testEntropy), e.aurocEntropy(), 1e-3);
    assertEquals(Roc.auroc(oodMi, testMi), e.aurocMi(), 1e-3);
    assertEquals(testRows.size(), e.entropyTest().total());
    assertEquals(oodRows.size(), e.miOod().total());
    assertNull(e.memberAurocMi(), "without Monte Carlo passes a member's mutual information is 0: no AUROC of it");
  }

  @Test
  void anMcDropoutEnsembleIsEvaluatedAsScoreAppliesIt(@TempDir Path tmp) {
    // Three dropout passes per member: evaluate must mix the same 2 x 3 components that score writes. With the
    // same partitions (cached, at least two per core, so evaluate does not spread them) and batch size, both draw
    // the same masks, so evaluate's metrics equal those computed from score's columns.
    SparkSession spark = SparkTestSupport.local();
    Dataset<Row> train = SparkTestSupport.digits(spark, 0, 7, 5, 0, 1, 2, 3);
    Dataset<Row> test = SparkTestSupport.digits(spark, 0, 7, 5, 4).repartition(4).cache();
    Dataset<Row> ood = SparkTestSupport.digits(spark, 8, 9, 0).repartition(4).cache();
    test.count();
    ood.count();
    String store = tmp.resolve("store").toString();
    EnsembleSpec spec = SpecLoader.parse("""
        name: digits-mc
        task: classification
        data: {features: features, label: label, classes: 8, key: id, validation: {fraction: 0.2}}
        network: {type: mlp, hidden: [32], activation: relu, dropout: 0.3}
        training: {optimizer: adam, learningRate: 0.005, batchSize: 32, epochs: 2}
        ensemble: {members: 2, seed: 7, mcDropoutSamples: 3}
        resources: {threadsPerMember: 1}
        """, "mc");
    new SparkEnsembleTrainer(spark).train(train, null, spec,
        new SparkEnsembleTrainer.Options(store, "mc", "digits", Map.of()));
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, store, null);
    assertEquals(3, scorer.samplesPerMember());
    SparkEvaluator.Evaluation e = new SparkEvaluator(scorer, 29).evaluate(test, ood);

    List<Row> scoredTest = scorer.score(spark, test, null, null, InvalidPolicy.FAIL, 29, null)
        .select("label", "probability", "mutual_information", "prediction").collectAsList();
    List<Row> scoredOod = scorer.score(spark, ood, null, null, InvalidPolicy.FAIL, 29, null)
        .select("mutual_information").collectAsList();
    double nll = 0;
    int correct = 0;
    double[] miTest = new double[scoredTest.size()];
    for (int i = 0; i < scoredTest.size(); i++) {
      Row r = scoredTest.get(i);
      int y = r.getInt(0);
      nll -= Math.log(r.<Float>getList(1).get(y));
      correct += r.getInt(3) == y ? 1 : 0;
      miTest[i] = r.getDouble(2);
    }
    double[] miOod = scoredOod.stream().mapToDouble(r -> r.getDouble(0)).toArray();
    assertEquals((double) correct / scoredTest.size(), e.ensemble().accuracy(), 0.0);
    assertEquals(nll / scoredTest.size(), e.ensemble().nll(), 1e-5); // score writes float probabilities
    assertEquals(Roc.auroc(miOod, miTest), e.aurocMi(), 1e-6);

    // each member's own AUROC(MI), from its 3 passes per row as score draws them, computed here by hand:
    // MI = H(mean_s p_s) - mean_s H(p_s)
    double[][] memberMiTest = memberMutualInformation(scorer, test);
    double[][] memberMiOod = memberMutualInformation(scorer, ood);
    assertEquals(2, e.memberAurocMi().length);
    for (int k = 0; k < 2; k++) {
      double expected = Roc.auroc(memberMiOod[k], memberMiTest[k]);
      assertEquals(expected, e.memberAurocMi()[k], 1e-9, "member " + k);
      assertTrue(Math.abs(expected - 0.5) > 0.01, "member " + k + "'s passes disagree more on OOD rows: " + expected);
    }

    // and the passes matter: the members' deterministic outputs mix to another NLL
    Manifest m = scorer.manifest();
    List<MemberNetwork> nets = members(store, m);
    OptDigits digits = OptDigits.load();
    PosteriorMixture mixture = PosteriorMixture.of(m.weights()).withTemperature(m.temperature());
    ClassificationMetrics deterministic = new ClassificationMetrics(8);
    for (Row r : test.collectAsList()) {
      float[] x = digits.features((int) r.getLong(0));
      float[][] p = {MemberModels.predict(nets.get(0), x, 1, 64), MemberModels.predict(nets.get(1), x, 1, 64)};
      deterministic.add(mixture.classify(p, 1, 8).probability(), new int[] {r.getInt(2)}, 1);
    }
    assertTrue(Math.abs(deterministic.nll() - e.ensemble().nll()) > 1e-4,
        "MC passes left the NLL at the deterministic mixture's " + deterministic.nll());
  }

  /**
   * Per member, its mutual information over its Monte Carlo passes on every row of {@code table}, with the
   * partitions and batches (29 rows) evaluate sees, so the passes draw the same masks.
   */
  private static double[][] memberMutualInformation(EnsembleScorer scorer, Dataset<Row> table) {
    OptDigits digits = OptDigits.load();
    LoadedEnsemble ens = scorer.load();
    int samples = scorer.samplesPerMember();
    List<List<Row>> partitions = table.javaRDD().glom().collect();
    List<double[]> perRow = new ArrayList<>();
    for (int part = 0; part < partitions.size(); part++) {
      List<Row> rows = partitions.get(part);
      long batchNo = 0;
      for (int start = 0; start < rows.size(); start += 29) {
        int n = Math.min(29, rows.size() - start);
        float[] x = new float[29 * 64];
        for (int i = 0; i < n; i++) {
          System.arraycopy(digits.features((int) rows.get(start + i).getLong(0)), 0, x, i * 64, 64);
        }
        float[][] comp = scorer.components(ens, x, n, part, batchNo++);
        for (int i = 0; i < n; i++) {
          double[] mi = new double[comp.length / samples];
          for (int k = 0; k < mi.length; k++) {
            double[] mean = new double[8];
            double meanEntropy = 0;
            for (int s = 0; s < samples; s++) {
              for (int c = 0; c < 8; c++) {
                double q = comp[k * samples + s][i * 8 + c];
                mean[c] += q / samples;
                meanEntropy -= q > 0 ? q * Math.log(q) / samples : 0;
              }
            }
            double h = 0;
            for (double q : mean) {
              h -= q > 0 ? q * Math.log(q) : 0;
            }
            mi[k] = h - meanEntropy;
          }
          perRow.add(mi);
        }
      }
    }
    double[][] out = new double[perRow.get(0).length][perRow.size()];
    for (int r = 0; r < perRow.size(); r++) {
      for (int k = 0; k < out.length; k++) {
        out[k][r] = perRow.get(r)[k];
      }
    }
    return out;
  }

  /** The published members, read and verified as a scorer reads them. */
  private static List<MemberNetwork> members(String store, Manifest m) {
    EnsembleStore st = EnsembleStore.open(store, new Configuration());
    List<MemberNetwork> nets = new ArrayList<>();
    for (Manifest.MemberEntry me : m.usableMembers()) {
      nets.add(MemberModels.fromBytes(st.readVerified(m.version(), me.file(), me.sha256())));
    }
    return nets;
  }
}
