package io.deepens.core.metrics;

import io.deepens.core.InvalidInputException;
import java.util.Arrays;
import java.util.Locale;

/**
 * Exact ROC analysis of two score samples, where a higher score means "more positive" (for out-of-distribution
 * detection: positives are the OOD rows, the score is an uncertainty such as predictive entropy or mutual
 * information, Lakshminarayanan et al. 2017, section 3.5).
 *
 * <ul>
 *   <li>{@link #auroc}: the Mann–Whitney probability {@code P(s⁺ > s⁻) + ½ P(s⁺ = s⁻)} over all positive/negative
 *       pairs (ties count ½), which equals the trapezoidal area under {@link #curve}; identical to scikit-learn's
 *       {@code roc_auc_score}.</li>
 *   <li>{@link #averagePrecision}: {@code AP = Σ_n (R_n - R_{n-1}) P_n} over the distinct thresholds in decreasing
 *       order (a step function, no interpolation; tied scores form one threshold); identical to scikit-learn's
 *       {@code average_precision_score}.</li>
 * </ul>
 * Both sort copies of the inputs: {@code O(n log n)} time, {@code O(n)} memory. {@code -0.0} and {@code 0.0} are the
 * same score; NaN scores are rejected; infinities are allowed. When the scores do not fit in memory use
 * {@link BinnedRoc}.
 */
public final class Roc {
  private Roc() {}

  /** Tie-aware AUROC in [0, 1]. Both arrays must be non-empty and free of NaN. */
  public static double auroc(double[] positiveScores, double[] negativeScores) {
    final double[] pos = sortedCopy("positiveScores", positiveScores);
    final double[] neg = sortedCopy("negativeScores", negativeScores);
    // For each block of equal positive scores: negatives strictly below count 1, equal count 1/2.
    double sum = 0; // sum of 2 * (below + equal/2) over positives: exact in double up to 2^53
    int j = 0; // first negative >= current score
    int i = 0;
    while (i < pos.length) {
      final double s = pos[i];
      int i2 = i;
      while (i2 < pos.length && pos[i2] == s) {
        i2++;
      }
      while (j < neg.length && neg[j] < s) {
        j++;
      }
      int j2 = j;
      while (j2 < neg.length && neg[j2] == s) {
        j2++;
      }
      sum += (double) (i2 - i) * (2.0 * j + (j2 - j));
      i = i2;
    }
    return sum / (2.0 * pos.length * (double) neg.length);
  }

  /** Average precision (area under the precision–recall step curve) in [0, 1]. */
  public static double averagePrecision(double[] positiveScores, double[] negativeScores) {
    final double[] pos = sortedCopy("positiveScores", positiveScores);
    final double[] neg = sortedCopy("negativeScores", negativeScores);
    final long[][] steps = descendingSteps(pos, neg);
    return averagePrecision(steps[0], steps[1], pos.length);
  }

  /** The ROC curve; see {@link RocCurve}. */
  public static RocCurve curve(double[] positiveScores, double[] negativeScores) {
    final double[] pos = sortedCopy("positiveScores", positiveScores);
    final double[] neg = sortedCopy("negativeScores", negativeScores);
    final long[][] steps = descendingSteps(pos, neg);
    return curve(steps[0], steps[1], pos.length, neg.length);
  }

  /**
   * Cumulative true and false positives at each distinct threshold, thresholds in decreasing order:
   * {@code tp[t] = #{pos >= threshold_t}}, {@code fp[t] = #{neg >= threshold_t}}.
   */
  private static long[][] descendingSteps(double[] pos, double[] neg) {
    long[] tp = new long[pos.length + neg.length];
    long[] fp = new long[pos.length + neg.length];
    int i = pos.length - 1;
    int j = neg.length - 1;
    int t = 0;
    long ctp = 0;
    long cfp = 0;
    while (i >= 0 || j >= 0) {
      final double s = Math.max(i >= 0 ? pos[i] : Double.NEGATIVE_INFINITY, j >= 0 ? neg[j] : Double.NEGATIVE_INFINITY);
      while (i >= 0 && pos[i] == s) {
        i--;
        ctp++;
      }
      while (j >= 0 && neg[j] == s) {
        j--;
        cfp++;
      }
      tp[t] = ctp;
      fp[t] = cfp;
      t++;
    }
    return new long[][] {Arrays.copyOf(tp, t), Arrays.copyOf(fp, t)};
  }

  /** AP from cumulative (tp, fp) at decreasing thresholds. Shared with {@link BinnedRoc}. */
  static double averagePrecision(long[] tp, long[] fp, long positives) {
    double ap = 0;
    long prevTp = 0;
    for (int t = 0; t < tp.length; t++) {
      if (tp[t] > prevTp) {
        ap += (double) (tp[t] - prevTp) / positives * ((double) tp[t] / (tp[t] + fp[t]));
        prevTp = tp[t];
      }
    }
    return ap;
  }

  /** Curve from cumulative (tp, fp) at decreasing thresholds, with (0, 0) prepended. Shared with {@link BinnedRoc}. */
  static RocCurve curve(long[] tp, long[] fp, long positives, long negatives) {
    double[] fpr = new double[tp.length + 1];
    double[] tpr = new double[tp.length + 1];
    for (int t = 0; t < tp.length; t++) {
      fpr[t + 1] = (double) fp[t] / negatives;
      tpr[t + 1] = (double) tp[t] / positives;
    }
    return new RocCurve(fpr, tpr);
  }

  private static double[] sortedCopy(String name, double[] scores) {
    InvalidInputException.check(scores != null, "%s must not be null", name);
    InvalidInputException.check(scores.length > 0, "%s must hold at least one score, found none", name);
    double[] c = new double[scores.length];
    for (int i = 0; i < c.length; i++) {
      final double s = scores[i];
      if (Double.isNaN(s)) {
        throw new InvalidInputException(String.format(Locale.ROOT, "%s[%d] must not be NaN, found NaN", name, i));
      }
      c[i] = s + 0.0; // -0.0 + 0.0 = 0.0: Arrays.sort orders -0.0 before 0.0, but they are the same score
    }
    Arrays.sort(c);
    return c;
  }
}
