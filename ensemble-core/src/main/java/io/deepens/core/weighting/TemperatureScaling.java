package io.deepens.core.weighting;

import io.deepens.core.InvalidInputException;
import io.deepens.core.metrics.LogScore;
import io.deepens.core.mixture.PosteriorMixture;
import java.util.Locale;

/**
 * Temperature scaling of the whole ensemble (Guo, Pleiss, Sun &amp; Weinberger, <i>On Calibration of Modern Neural
 * Networks</i>, ICML 2017, section 4.2): one scalar {@code T} that minimises the validation negative log-likelihood of
 * the mixture of tempered members,
 * <pre>  NLL(T) = -(1/n) Σ_i log max(Σ_m w_m p_{m,T}(y_i | x_i), 1e-12),   p_{m,T}(k) ∝ p_m(k)^{1/T} = softmax(logits_m/T)_k,</pre>
 * exactly the mixture that {@link PosteriorMixture#withTemperature} applies at scoring time, with the same 1e-12
 * floor ({@link LogScore}) as {@code ClassificationMetrics.nll}. {@code T > 1} softens over-confident members.
 *
 * <p>The search is one-dimensional on {@code u = log T} over {@code [log 0.05, log 20]}: a grid of
 * {@value #GRID_POINTS} points locates the best bracket (for a single member NLL is convex in 1/T, hence unimodal in
 * u; for a mixture it need not be, and the grid guards against a distant local minimum), then golden-section search
 * refines it to {@code |Δu| < 1e-7}. If the minimum is at an end of the range, that end is returned.
 */
public final class TemperatureScaling {
  private TemperatureScaling() {}

  public static final double MIN_TEMPERATURE = 0.05;
  public static final double MAX_TEMPERATURE = 20;
  static final int GRID_POINTS = 49;
  private static final double INV_PHI = (Math.sqrt(5) - 1) / 2;

  /**
   * @param memberProbs {@code memberProbs[m]}: member m's row-major {@code [rows x classes]} probabilities (finite,
   *     {@code >= 0}, rows summing to 1 within 1e-3)
   * @param weights mixture weights (as {@link PosteriorMixture#of})
   * @param labels true classes, {@code 0..classes-1}
   * @return the fitted temperature in {@code [0.05, 20]}
   */
  public static double fit(float[][] memberProbs, double[] weights, int[] labels, int rows, int classes) {
    final Objective f = new Objective(memberProbs, weights, labels, rows, classes);
    final double lo = Math.log(MIN_TEMPERATURE);
    final double hi = Math.log(MAX_TEMPERATURE);
    final double step = (hi - lo) / (GRID_POINTS - 1);
    int best = 0;
    double bestValue = Double.POSITIVE_INFINITY;
    for (int g = 0; g < GRID_POINTS; g++) {
      final double v = f.nll(Math.exp(lo + g * step));
      if (v < bestValue) {
        bestValue = v;
        best = g;
      }
    }
    double a = lo + Math.max(0, best - 1) * step;
    double b = lo + Math.min(GRID_POINTS - 1, best + 1) * step;
    double c = b - INV_PHI * (b - a);
    double d = a + INV_PHI * (b - a);
    double fc = f.nll(Math.exp(c));
    double fd = f.nll(Math.exp(d));
    while (b - a > 1e-7) {
      if (fc <= fd) {
        b = d;
        d = c;
        fd = fc;
        c = b - INV_PHI * (b - a);
        fc = f.nll(Math.exp(c));
      } else {
        a = c;
        c = d;
        fc = fd;
        d = a + INV_PHI * (b - a);
        fd = f.nll(Math.exp(d));
      }
    }
    final double u = 0.5 * (a + b);
    final double t = Math.exp(u);
    // Never return something worse than the best grid point (guards a flat or noisy objective).
    return f.nll(t) <= bestValue ? Math.min(MAX_TEMPERATURE, Math.max(MIN_TEMPERATURE, t))
        : Math.exp(lo + best * step);
  }

  /** The objective {@code NLL(T)} above, for reports and tests. */
  public static double nll(float[][] memberProbs, double[] weights, int[] labels, int rows, int classes,
      double temperature) {
    InvalidInputException.check(temperature > 0 && Double.isFinite(temperature),
        "temperature must be finite and > 0, found %s", temperature);
    return new Objective(memberProbs, weights, labels, rows, classes).nll(temperature);
  }

  /** Validated inputs with log-probabilities precomputed once. */
  private static final class Objective {
    final int rows;
    final int classes;
    final double[] logWeights;
    final double[][] logP; // [m][r*classes+k], -Infinity for exact zeros
    final int[] labels;
    final double[] scaled;

    Objective(float[][] memberProbs, double[] weights, int[] labels, int rows, int classes) {
      final double[] w = PosteriorMixture.of(weights).weights();
      InvalidInputException.check(memberProbs != null, "memberProbs must not be null");
      InvalidInputException.check(memberProbs.length == w.length,
          "memberProbs must hold one array per weight, found %d arrays for %d weights", memberProbs.length, w.length);
      InvalidInputException.check(rows >= 1, "rows must be >= 1, found %d", rows);
      InvalidInputException.check(classes >= 1, "classes must be >= 1, found %d", classes);
      InvalidInputException.check(labels != null && labels.length >= rows,
          "labels must hold rows = %d labels, found length %d", rows, labels == null ? 0 : labels.length);
      this.rows = rows;
      this.classes = classes;
      this.labels = labels;
      this.logWeights = new double[w.length];
      this.logP = new double[w.length][];
      this.scaled = new double[classes];
      for (int r = 0; r < rows; r++) {
        InvalidInputException.check(labels[r] >= 0 && labels[r] < classes, "labels[%d] must be in 0..%d, found %d", r,
            classes - 1, labels[r]);
      }
      for (int m = 0; m < w.length; m++) {
        logWeights[m] = Math.log(w[m]);
        final float[] p = memberProbs[m];
        InvalidInputException.check(p != null && (long) p.length == (long) rows * classes,
            "memberProbs[%d] must hold rows*classes = %d*%d values, found length %d", m, rows, classes,
            p == null ? 0 : p.length);
        final double[] lp = new double[rows * classes];
        for (int r = 0; r < rows; r++) {
          double sum = 0;
          for (int k = 0; k < classes; k++) {
            final double x = p[r * classes + k];
            if (!(x >= 0) || x == Double.POSITIVE_INFINITY) {
              throw new InvalidInputException(String.format(Locale.ROOT,
                  "memberProbs[%d] row %d class %d: probability must be finite and >= 0, found %s", m, r, k, x));
            }
            sum += x;
          }
          if (!(Math.abs(sum - 1) <= PosteriorMixture.PROBABILITY_SUM_TOLERANCE)) {
            throw new InvalidInputException(String.format(Locale.ROOT,
                "memberProbs[%d] row %d: probabilities must sum to 1 within %s, found %s", m, r,
                PosteriorMixture.PROBABILITY_SUM_TOLERANCE, sum));
          }
          final double logSum = Math.log(sum);
          for (int k = 0; k < classes; k++) {
            final double x = p[r * classes + k];
            lp[r * classes + k] = x > 0 ? Math.log(x) - logSum : Double.NEGATIVE_INFINITY;
          }
        }
        logP[m] = lp;
      }
    }

    double nll(double t) {
      final double invT = 1.0 / t;
      final int members = logP.length;
      double total = 0;
      for (int r = 0; r < rows; r++) {
        final int base = r * classes;
        final int y = labels[r];
        // log Σ_m w_m p_{m,T}(y), accumulated as a running log-sum-exp over members
        double mixMax = Double.NEGATIVE_INFINITY;
        double mixSum = 0;
        for (int m = 0; m < members; m++) {
          final double[] lp = logP[m];
          double max = Double.NEGATIVE_INFINITY;
          for (int k = 0; k < classes; k++) {
            final double s = lp[base + k] * invT;
            scaled[k] = s;
            max = Math.max(max, s);
          }
          double z = 0;
          for (int k = 0; k < classes; k++) {
            z += Math.exp(scaled[k] - max);
          }
          final double term = logWeights[m] + scaled[y] - max - Math.log(z);
          if (term == Double.NEGATIVE_INFINITY) {
            continue;
          }
          if (term > mixMax) {
            mixSum = mixSum * Math.exp(mixMax - term) + 1;
            mixMax = term;
          } else {
            mixSum += Math.exp(term - mixMax);
          }
        }
        final double logMix = mixMax == Double.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY
            : mixMax + Math.log(mixSum);
        total -= LogScore.ofLog(logMix);
      }
      return total / rows;
    }
  }
}
