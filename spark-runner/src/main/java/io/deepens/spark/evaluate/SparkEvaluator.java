package io.deepens.spark.evaluate;

import io.deepens.core.InvalidInputException;
import io.deepens.core.aggregate.EnsembleAggregator;
import io.deepens.core.metrics.ClassificationMetrics;
import io.deepens.core.metrics.Histogram;
import io.deepens.core.metrics.Roc;
import io.deepens.core.metrics.RocCurve;
import io.deepens.core.mixture.ClassificationUncertainty;
import io.deepens.core.mixture.PosteriorMixture;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.Manifest;
import io.deepens.spark.data.FeatureDecoder;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.LoadedEnsemble;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates a resolved classification ensemble on a labelled test table and, optionally, an out-of-distribution
 * table. Every metric is accumulated on the executors and merged with {@code treeReduce}.
 *
 * <p>AUROC for separating OOD from test rows (OOD = positive, score = predictive entropy or mutual information):
 * exact and tie-aware when test plus OOD rows are at most {@link #EXACT_AUROC_LIMIT}; otherwise from 10,000-bin
 * histograms over [0, log K], whose error bound (the share of pairs falling into one bin) is reported.
 *
 * <p>A member's own mutual information exists only with Monte Carlo dropout passes ({@code ensemble.mcDropoutSamples
 * = S > 1}): {@code H(mean_s p_s) - mean_s H(p_s)} over its S passes, computed by the same mixture code as the
 * ensemble's (a one-member mixture of its passes). Without passes it is 0 on every row and its AUROC undefined.
 */
public final class SparkEvaluator {
  private static final Logger LOG = LoggerFactory.getLogger(SparkEvaluator.class);
  public static final long EXACT_AUROC_LIMIT = 5_000_000L;

  /**
   * Everything {@code evaluate} reports. AUROC fields are NaN without an OOD table; {@code memberAurocMi} is null
   * when members have no Monte Carlo passes (their mutual information is identically 0).
   */
  public record Evaluation(Manifest manifest, long testRows, long oodRows, ClassificationMetrics ensemble,
      ClassificationMetrics[] members, Histogram entropyTest, Histogram entropyOod, Histogram miTest,
      Histogram miOod, double aurocEntropy, double aurocMi, double auprEntropy, double[] memberAurocEntropy,
      double[] memberAuprEntropy, double[] memberAurocMi, RocCurve rocEntropy, RocCurve rocMi, boolean exactAuroc,
      double aurocMaxError) {}

  private final EnsembleScorer scorer;
  private final int batchSize;

  public SparkEvaluator(EnsembleScorer scorer, int batchSize) {
    this.scorer = scorer;
    this.batchSize = batchSize;
  }

  public Evaluation evaluate(Dataset<Row> test, Dataset<Row> ood) {
    Manifest m = scorer.manifest();
    InvalidInputException.check(scorer.classification(),
        "evaluate supports classification ensembles; version %s is a %s ensemble", m.version(), m.task());
    EnsembleSpec spec = EnsembleSpec.fromJson(m.spec().toString());
    int classes = m.outputs();
    int members = m.usableMembers().size();
    FeatureDecoder testDecoder = FeatureDecoder.of(test.schema(), spec.data().features(), spec.data().label(),
        classes, keyIfPresent(test, spec), m.numFeatures());
    test = spread(test);
    ood = ood == null ? null : spread(ood);
    boolean memberMi = scorer.samplesPerMember() > 1;
    EvaluationPartial total = accumulate(test, testDecoder, false, classes, members, memberMi);
    if (ood != null) {
      FeatureDecoder oodDecoder = FeatureDecoder.of(ood.schema(), spec.data().features(), null, 0,
          keyIfPresent(ood, spec), m.numFeatures());
      total.merge(accumulate(ood, oodDecoder, true, classes, members, memberMi));
    }
    long testRows = total.ensemble.count();
    InvalidInputException.check(testRows > 0, "the test table has no rows");
    double aurocE = Double.NaN;
    double aurocMi = Double.NaN;
    double auprE = Double.NaN;
    double[] memberAuroc = new double[members];
    double[] memberAupr = new double[members];
    java.util.Arrays.fill(memberAuroc, Double.NaN);
    java.util.Arrays.fill(memberAupr, Double.NaN);
    double[] memberAurocMi = memberMi ? new double[members] : null;
    if (memberMi) {
      java.util.Arrays.fill(memberAurocMi, Double.NaN);
    }
    RocCurve rocE = null;
    RocCurve rocMi = null;
    boolean exact = !total.exact.overflow;
    double maxError = 0;
    if (ood != null && total.oodRows > 0) {
      if (exact) {
        double[] te = total.exact.get(0);
        double[] oe = total.exact.get(1);
        double[] tm = total.exact.get(2);
        double[] om = total.exact.get(3);
        aurocE = Roc.auroc(oe, te);
        aurocMi = Roc.auroc(om, tm);
        auprE = Roc.averagePrecision(oe, te);
        rocE = Roc.curve(oe, te);
        rocMi = Roc.curve(om, tm);
        for (int k = 0; k < members; k++) {
          double[] pos = total.exact.get(EvaluationPartial.memberEntropyList(k, true));
          double[] neg = total.exact.get(EvaluationPartial.memberEntropyList(k, false));
          memberAuroc[k] = Roc.auroc(pos, neg);
          memberAupr[k] = Roc.averagePrecision(pos, neg);
          if (memberMi) {
            memberAurocMi[k] = Roc.auroc(total.exact.get(total.memberMiList(k, true)),
                total.exact.get(total.memberMiList(k, false)));
          }
        }
      } else {
        aurocE = total.rocEntropy.auroc();
        aurocMi = total.rocMi.auroc();
        auprE = total.rocEntropy.averagePrecision();
        rocE = total.rocEntropy.curve();
        rocMi = total.rocMi.curve();
        maxError = Math.max(total.rocEntropy.maxError(), total.rocMi.maxError());
        for (int k = 0; k < members; k++) {
          memberAuroc[k] = total.memberRocEntropy[k].auroc();
          memberAupr[k] = total.memberRocEntropy[k].averagePrecision();
          if (memberMi) {
            memberAurocMi[k] = total.memberRocMi[k].auroc();
            maxError = Math.max(maxError, total.memberRocMi[k].maxError());
          }
        }
      }
    }
    LOG.info("evaluated version {} on {} test rows and {} OOD rows (AUROC {})", m.version(), testRows,
        total.oodRows, exact ? "exact" : "binned, max error " + maxError);
    return new Evaluation(m, testRows, total.oodRows, total.ensemble, total.members, total.entropyTest,
        total.entropyOod, total.miTest, total.miOod, aurocE, aurocMi, auprE, memberAuroc, memberAupr, memberAurocMi,
        rocE, rocMi, exact, maxError);
  }

  /**
   * A table of fewer than two partitions per core, spread round-robin over two per core: the forward passes
   * dominate, a test table is often one or two file splits of unequal size (Fashion-MNIST's: 31 MB), and the
   * metrics do not depend on the order of the rows.
   */
  static Dataset<Row> spread(Dataset<Row> table) {
    int target = 2 * table.sparkSession().sparkContext().defaultParallelism();
    return table.queryExecution().toRdd().getNumPartitions() < target ? table.repartition(target) : table;
  }

  private static String keyIfPresent(Dataset<Row> t, EnsembleSpec spec) {
    String key = spec.data().key();
    return key != null && List.of(t.schema().fieldNames()).contains(key) ? key : null;
  }

  private EvaluationPartial accumulate(Dataset<Row> table, FeatureDecoder decoder, boolean isOod, int classes,
      int members, boolean memberMi) {
    EnsembleScorer s = scorer;
    int batch = batchSize;
    long limit = EXACT_AUROC_LIMIT;
    return table.queryExecution().toRdd().toJavaRDD().mapPartitionsWithIndex(
        (Integer part, Iterator<InternalRow> it) -> {
          EvaluationPartial p = new EvaluationPartial(classes, members, memberMi, limit);
          PosteriorMixture single = PosteriorMixture.of(new double[] {1.0});
          LoadedEnsemble ens = s.load();
          PosteriorMixture mixture = ens.mixture();
          int nf = decoder.numFeatures();
          float[] x = new float[batch * nf];
          int[] labels = new int[batch];
          float[] label = new float[1];
          long seen = 0;
          long batchNo = 0;
          int samples = s.samplesPerMember();
          while (it.hasNext()) {
            int n = 0;
            while (n < batch && it.hasNext()) {
              InternalRow r = it.next();
              long ordinal = seen++;
              String reason = decoder.decodeFeatures(r, x, n * nf);
              if (reason == null && !isOod) {
                reason = decoder.decodeLabel(r, label);
              }
              if (reason != null) {
                throw new InvalidInputException("cannot evaluate " + decoder.describe(r, ordinal, part) + " of the "
                    + (isOod ? "OOD" : "test") + " table: " + reason);
              }
              labels[n++] = (int) label[0];
            }
            // the mixture as score applies it (MC-dropout components too); a member's own predictive
            // distribution is the mean of its components
            float[][] comp = s.components(ens, x, n, part, batchNo++);
            ClassificationUncertainty u = samples > 1
                ? mixture.classify(comp, samples, n, classes) : mixture.classify(comp, n, classes);
            float[][] probs = comp;
            double[][] memberMis = null;
            if (samples > 1) {
              probs = new float[members][];
              memberMis = new double[members][];
              for (int k = 0; k < members; k++) {
                probs[k] = EnsembleAggregator.memberMoments(comp, k, samples, n, true);
                float[][] passes = java.util.Arrays.copyOfRange(comp, k * samples, (k + 1) * samples);
                memberMis[k] = single.classify(passes, samples, n, classes).mutualInformation();
              }
            }
            if (!isOod) {
              p.ensemble.add(u.probability(), labels, n);
              for (int k = 0; k < members; k++) {
                p.members[k].add(probs[k], labels, n);
              }
            } else {
              p.oodRows += n;
            }
            for (int i = 0; i < n; i++) {
              double e = u.predictiveEntropy()[i];
              double mi = u.mutualInformation()[i];
              (isOod ? p.entropyOod : p.entropyTest).add(e);
              (isOod ? p.miOod : p.miTest).add(mi);
              if (isOod) {
                p.rocEntropy.addPositive(e);
                p.rocMi.addPositive(mi);
              } else {
                p.rocEntropy.addNegative(e);
                p.rocMi.addNegative(mi);
              }
              p.exact.add(isOod ? 1 : 0, e);
              p.exact.add(isOod ? 3 : 2, mi);
              for (int k = 0; k < members; k++) {
                double h = entropy(probs[k], i * classes, classes);
                if (isOod) {
                  p.memberRocEntropy[k].addPositive(h);
                } else {
                  p.memberRocEntropy[k].addNegative(h);
                }
                p.exact.add(EvaluationPartial.memberEntropyList(k, isOod), h);
                if (memberMis != null) {
                  double mik = memberMis[k][i];
                  if (isOod) {
                    p.memberRocMi[k].addPositive(mik);
                  } else {
                    p.memberRocMi[k].addNegative(mik);
                  }
                  p.exact.add(p.memberMiList(k, isOod), mik);
                }
              }
            }
          }
          return List.of(p).iterator();
        }, true).treeReduce(EvaluationPartial::merge);
  }

  private static double entropy(float[] p, int offset, int classes) {
    double h = 0;
    for (int c = 0; c < classes; c++) {
      double q = p[offset + c];
      if (q > 0) {
        h -= q * Math.log(q);
      }
    }
    return h;
  }
}
