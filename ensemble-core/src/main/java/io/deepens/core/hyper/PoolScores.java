package io.deepens.core.hyper;

import io.deepens.core.InvalidInputException;
import io.deepens.core.aggregate.MemberPredictions;
import io.deepens.core.metrics.LogScore;

/**
 * A candidate's validation log-likelihoods and metrics from the outputs its task returned
 * ({@link MemberPredictions}): classification probabilities, or regression (mean, variance) pairs; with Monte
 * Carlo dropout (S passes) the candidate's predictive distribution is the equal mixture of its passes, as in the
 * published ensemble.
 *
 * <p>Classification: ℓ(i) = {@link LogScore#of}(p̄(y_i)) with p̄ the mean of the passes' probabilities.
 * Regression: ℓ(i) = log((1/S) Σ_s N(y_i; μ_s, σ²_s)).
 */
public final class PoolScores {
  private PoolScores() {}

  /** Per-row log-likelihoods of the labels. */
  public static double[] logLikelihoods(MemberPredictions p, float[] labels, boolean classification) {
    int rows = labels.length;
    InvalidInputException.check(p.outputs() != null && p.outputs().length == (long) rows * p.width() * p.samples(),
        "candidate %d gave %s validation outputs, expected %d passes x %d rows x %d", p.member(),
        p.outputs() == null ? "no" : p.outputs().length, p.samples(), rows, p.width());
    double[] out = new double[rows];
    int s = p.samples();
    int w = p.width();
    float[] o = p.outputs();
    for (int i = 0; i < rows; i++) {
      if (classification) {
        int y = Math.round(labels[i]);
        double prob = 0;
        for (int k = 0; k < s; k++) {
          prob += o[(k * rows + i) * w + y];
        }
        out[i] = LogScore.of(prob / s);
      } else {
        double lse = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < s; k++) {
          double mean = o[(k * rows + i) * w];
          double var = o[(k * rows + i) * w + 1];
          double d = labels[i] - mean;
          lse = GreedySelection.logAddExp(lse, -0.5 * (Math.log(2 * Math.PI * var) + d * d / var));
        }
        out[i] = lse - Math.log(s);
      }
    }
    return out;
  }

  /** Share of rows whose most probable class (of the mean over passes) is the label. */
  public static double accuracy(MemberPredictions p, float[] labels) {
    int rows = labels.length;
    int s = p.samples();
    int w = p.width();
    float[] o = p.outputs();
    int right = 0;
    double[] mean = new double[w];
    for (int i = 0; i < rows; i++) {
      java.util.Arrays.fill(mean, 0);
      for (int k = 0; k < s; k++) {
        for (int j = 0; j < w; j++) {
          mean[j] += o[(k * rows + i) * w + j];
        }
      }
      int best = 0;
      for (int j = 1; j < w; j++) {
        if (mean[j] > mean[best]) {
          best = j;
        }
      }
      right += best == Math.round(labels[i]) ? 1 : 0;
    }
    return rows == 0 ? Double.NaN : right / (double) rows;
  }

  /** −mean of {@code logLik}. */
  public static double nll(double[] logLik) {
    double sum = 0;
    for (double l : logLik) {
      sum += l;
    }
    return -sum / logLik.length;
  }
}
