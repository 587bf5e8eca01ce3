package io.deepens.core.weighting;

import io.deepens.core.InvalidInputException;
import java.util.Arrays;

/** Summaries of an ensemble's weights and diversity, for the training report and {@code inspect}. */
public final class EnsembleDiagnostics {
  private EnsembleDiagnostics() {}

  /**
   * Kish's effective number of members {@code (Σ w)² / Σ w²}, which is {@code 1 / Σ w²} for weights summing to 1: M for
   * uniform weights, 1 when one member carries all the weight. Weights must be finite, {@code >= 0}, not all 0.
   */
  public static double effectiveMembers(double[] w) {
    InvalidInputException.check(w != null && w.length > 0, "w must hold at least one weight");
    double s = 0;
    double s2 = 0;
    for (int m = 0; m < w.length; m++) {
      final double x = w[m];
      InvalidInputException.check(x >= 0 && Double.isFinite(x), "w[%d] must be finite and >= 0, found %s (w=%s)", m,
          x, Arrays.toString(w));
      s += x;
      s2 += x * x;
    }
    InvalidInputException.check(s > 0, "w must not be all zero, found %s", Arrays.toString(w));
    return s * s / s2;
  }

  /** Fraction of rows on which two members predict different classes (Fort, Hu &amp; Lakshminarayanan 2019). */
  public static double disagreementRate(int[] predA, int[] predB) {
    InvalidInputException.check(predA != null && predB != null, "predA and predB must not be null");
    InvalidInputException.check(predA.length == predB.length,
        "predA and predB must have the same length, found %d and %d", predA.length, predB.length);
    InvalidInputException.check(predA.length > 0, "predA and predB must hold at least one prediction, found 0");
    long differ = 0;
    for (int i = 0; i < predA.length; i++) {
      if (predA[i] != predB[i]) {
        differ++;
      }
    }
    return (double) differ / predA.length;
  }

  /** The symmetric {@code M x M} matrix of {@link #disagreementRate}s, zero on the diagonal. */
  public static double[][] pairwiseDisagreement(int[][] predictions) {
    InvalidInputException.check(predictions != null && predictions.length > 0,
        "predictions must hold at least one member");
    final int members = predictions.length;
    for (int m = 0; m < members; m++) {
      InvalidInputException.check(predictions[m] != null, "predictions[%d] must not be null", m);
      InvalidInputException.check(predictions[m].length == predictions[0].length,
          "every member must have the same number of predictions: predictions[0] has %d, predictions[%d] has %d",
          predictions[0].length, m, predictions[m].length);
    }
    double[][] d = new double[members][members];
    for (int a = 0; a < members; a++) {
      for (int b = a + 1; b < members; b++) {
        d[a][b] = d[b][a] = disagreementRate(predictions[a], predictions[b]);
      }
    }
    return d;
  }
}
