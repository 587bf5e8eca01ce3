package io.deepens.spark.evaluate;

import io.deepens.core.metrics.BinnedRoc;
import io.deepens.core.metrics.ClassificationMetrics;
import io.deepens.core.metrics.Histogram;
import java.io.Serializable;

/**
 * Mergeable evaluation state of one partition (or of many, after merging): metrics of the ensemble and of every
 * member on the test rows, entropy and mutual-information histograms and ROC accumulators for test vs OOD rows,
 * and, while small enough, the exact per-row scores. With Monte Carlo dropout passes every member also has its own
 * mutual information (over its passes), accumulated like the ensemble's.
 */
public final class EvaluationPartial implements Serializable {
  private static final long serialVersionUID = 1L;

  final ClassificationMetrics ensemble;
  final ClassificationMetrics[] members;
  final Histogram entropyTest;
  final Histogram entropyOod;
  final Histogram miTest;
  final Histogram miOod;
  final BinnedRoc rocEntropy;
  final BinnedRoc rocMi;
  final BinnedRoc[] memberRocEntropy;
  /** Per member with Monte Carlo passes, else null: its own mutual information, test negative, OOD positive. */
  final BinnedRoc[] memberRocMi;
  /**
   * Exact scores: [0] test entropy, [1] ood entropy, [2] test MI, [3] ood MI, then per member test/ood entropy
   * ({@link #memberEntropyList}), then with Monte Carlo passes per member test/ood MI ({@link #memberMiList}).
   */
  ScoreLists exact;
  long oodRows;

  EvaluationPartial(int classes, int members, boolean memberMi, long exactLimit) {
    double maxEntropy = Math.log(classes);
    int bins = 10_000;
    ensemble = new ClassificationMetrics(classes);
    this.members = new ClassificationMetrics[members];
    memberRocEntropy = new BinnedRoc[members];
    memberRocMi = memberMi ? new BinnedRoc[members] : null;
    for (int m = 0; m < members; m++) {
      this.members[m] = new ClassificationMetrics(classes);
      memberRocEntropy[m] = new BinnedRoc(0, maxEntropy, bins);
      if (memberMi) {
        memberRocMi[m] = new BinnedRoc(0, maxEntropy, bins);
      }
    }
    entropyTest = new Histogram(0, maxEntropy, 30);
    entropyOod = new Histogram(0, maxEntropy, 30);
    miTest = new Histogram(0, maxEntropy, 120);
    miOod = new Histogram(0, maxEntropy, 120);
    rocEntropy = new BinnedRoc(0, maxEntropy, bins);
    rocMi = new BinnedRoc(0, maxEntropy, bins);
    exact = new ScoreLists(4 + (memberMi ? 4 : 2) * members, exactLimit);
  }

  /** The exact list of member k's entropies on test (or OOD) rows. */
  static int memberEntropyList(int k, boolean ood) {
    return 4 + 2 * k + (ood ? 1 : 0);
  }

  /** The exact list of member k's own mutual information on test (or OOD) rows. */
  int memberMiList(int k, boolean ood) {
    return 4 + 2 * members.length + 2 * k + (ood ? 1 : 0);
  }

  EvaluationPartial merge(EvaluationPartial o) {
    ensemble.merge(o.ensemble);
    for (int m = 0; m < members.length; m++) {
      members[m].merge(o.members[m]);
      memberRocEntropy[m].merge(o.memberRocEntropy[m]);
      if (memberRocMi != null) {
        memberRocMi[m].merge(o.memberRocMi[m]);
      }
    }
    entropyTest.merge(o.entropyTest);
    entropyOod.merge(o.entropyOod);
    miTest.merge(o.miTest);
    miOod.merge(o.miOod);
    rocEntropy.merge(o.rocEntropy);
    rocMi.merge(o.rocMi);
    exact = exact.merge(o.exact);
    oodRows += o.oodRows;
    return this;
  }

  /** Growable double lists that give up (become null) once their total size passes a limit. */
  static final class ScoreLists implements Serializable {
    private static final long serialVersionUID = 1L;
    double[][] values;
    int[] sizes;
    final long limit;
    boolean overflow;

    ScoreLists(int lists, long limit) {
      values = new double[lists][16];
      sizes = new int[lists];
      this.limit = limit;
    }

    void add(int list, double v) {
      if (overflow) {
        return;
      }
      if (sizes[list] == values[list].length) {
        if (values[list].length * 2L > limit) {
          drop();
          return;
        }
        values[list] = java.util.Arrays.copyOf(values[list], values[list].length * 2);
      }
      values[list][sizes[list]++] = v;
    }

    private void drop() {
      overflow = true;
      values = null;
      sizes = null;
    }

    double[] get(int list) {
      return java.util.Arrays.copyOf(values[list], sizes[list]);
    }

    ScoreLists merge(ScoreLists o) {
      if (overflow || o.overflow) {
        drop();
        return this;
      }
      for (int l = 0; l < values.length; l++) {
        for (int i = 0; i < o.sizes[l]; i++) {
          add(l, o.values[l][i]);
          if (overflow) {
            return this;
          }
        }
      }
      return this;
    }
  }
}
