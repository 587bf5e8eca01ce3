package io.deepens.core.metrics;

import io.deepens.core.InvalidInputException;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * Mergeable accumulator of regression metrics for a Gaussian predictive {@code N(μ_i, σ²_i)} (the ensemble's mixture
 * mean and total variance, or one member's outputs), over N rows with targets {@code y_i}:
 * <ul>
 *   <li>{@code rmse = sqrt((1/N) Σ (y_i - μ_i)²)};</li>
 *   <li>{@code gaussianNll = (1/N) Σ [½ log(2π σ²_i) + (y_i - μ_i)² / (2 σ²_i)]} in nats, the proper scoring rule
 *       Lakshminarayanan et al. 2017 train and evaluate with. (For a mixture it scores the moment-matched Gaussian.);</li>
 *   <li>{@code coverage(c) = (1/N) Σ 1[|y_i - μ_i| ≤ z_c σ_i]} with {@code z_c = Φ⁻¹((1 + c)/2)}: the fraction of
 *       targets inside the central interval of probability c; a calibrated model has coverage ≈ c.</li>
 * </ul>
 * Coverage is counted exactly for a fixed set of levels chosen at construction ({@link #DEFAULT_LEVELS} unless
 * given), because an arbitrary level would need every residual kept; {@link #coverage(double)} refuses a level that
 * was not tracked. Means and targets must be finite and variances finite and {@code > 0}.
 */
public final class RegressionMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Central probabilities tracked by default. */
  public static final double[] DEFAULT_LEVELS = {0.5, 0.8, 0.9, 0.95, 0.99};
  private static final double LOG_2PI = Math.log(2 * Math.PI);

  private final double[] levels;
  private final double[] halfWidths;
  private final long[] inside;
  private long count;
  private double squaredErrorSum;
  private double nllSum;

  public RegressionMetrics() {
    this(DEFAULT_LEVELS);
  }

  /** Tracks coverage at the given central probabilities, each in (0, 1). */
  public RegressionMetrics(double... centralProbabilities) {
    InvalidInputException.check(centralProbabilities != null && centralProbabilities.length > 0,
        "centralProbabilities must hold at least one level");
    this.levels = centralProbabilities.clone();
    this.halfWidths = new double[levels.length];
    for (int i = 0; i < levels.length; i++) {
      final double c = levels[i];
      InvalidInputException.check(c > 0 && c < 1, "centralProbabilities[%d] must be in (0, 1), found %s", i, c);
      halfWidths[i] = centralHalfWidth(c);
    }
    this.inside = new long[levels.length];
  }

  /** Adds {@code rows} rows. */
  public void add(double[] mean, double[] variance, double[] target, int rows) {
    InvalidInputException.check(rows >= 0, "rows must be >= 0, found %d", rows);
    checkLength("mean", mean, rows);
    checkLength("variance", variance, rows);
    checkLength("target", target, rows);
    for (int r = 0; r < rows; r++) {
      final double mu = mean[r];
      final double s2 = variance[r];
      final double y = target[r];
      if (!Double.isFinite(mu) || !Double.isFinite(y)) {
        throw new InvalidInputException(String.format(Locale.ROOT,
            "row %d: mean and target must be finite, found mean=%s target=%s", r, mu, y));
      }
      if (!(s2 > 0) || s2 == Double.POSITIVE_INFINITY) {
        throw new InvalidInputException(String.format(Locale.ROOT,
            "variance row %d must be finite and > 0, found %s", r, s2));
      }
      final double d = y - mu;
      count++;
      squaredErrorSum += d * d;
      nllSum += 0.5 * (LOG_2PI + Math.log(s2)) + d * d / (2 * s2);
      final double sd = Math.sqrt(s2);
      final double ad = Math.abs(d);
      for (int i = 0; i < levels.length; i++) {
        if (ad <= halfWidths[i] * sd) {
          inside[i]++;
        }
      }
    }
  }

  private static void checkLength(String name, double[] a, int rows) {
    InvalidInputException.check(a != null, "%s must not be null", name);
    InvalidInputException.check(a.length >= rows, "%s must hold rows = %d values, found length %d", name, rows,
        a.length);
  }

  /** Adds {@code other}'s rows into this one and returns this. The tracked levels must be the same. */
  public RegressionMetrics merge(RegressionMetrics other) {
    InvalidInputException.check(other != null, "other must not be null");
    InvalidInputException.check(Arrays.equals(levels, other.levels),
        "can only merge metrics tracking the same coverage levels: this tracks %s, other tracks %s",
        Arrays.toString(levels), Arrays.toString(other.levels));
    count += other.count;
    squaredErrorSum += other.squaredErrorSum;
    nllSum += other.nllSum;
    for (int i = 0; i < levels.length; i++) {
      inside[i] += other.inside[i];
    }
    return this;
  }

  public long count() {
    return count;
  }

  public double rmse() {
    return count == 0 ? Double.NaN : Math.sqrt(squaredErrorSum / count);
  }

  public double gaussianNll() {
    return count == 0 ? Double.NaN : nllSum / count;
  }

  /** Fraction of targets inside the central interval of probability {@code centralProbability} (a tracked level). */
  public double coverage(double centralProbability) {
    for (int i = 0; i < levels.length; i++) {
      if (Math.abs(levels[i] - centralProbability) <= 1e-12) {
        return count == 0 ? Double.NaN : (double) inside[i] / count;
      }
    }
    throw new InvalidInputException(String.format(Locale.ROOT,
        "centralProbability must be one of the tracked levels %s, found %s (choose levels in the constructor)",
        Arrays.toString(levels), centralProbability));
  }

  /**
   * {@code z_c = Φ⁻¹((1 + c)/2)}, i.e. the z with {@code erf(z/√2) = c}, found by bisection to full double precision.
   */
  static double centralHalfWidth(double c) {
    double lo = 0;
    double hi = 8.5; // erf(8.5/√2) = 1 in double
    for (int it = 0; it < 200 && hi - lo > 0; it++) {
      final double mid = 0.5 * (lo + hi);
      if (mid == lo || mid == hi) {
        break;
      }
      if (erf(mid / Math.sqrt(2)) < c) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return 0.5 * (lo + hi);
  }

  /**
   * {@code erf(x)} for {@code x >= 0} by the series {@code erf x = (2/√π) e^{-x²} Σ_n 2ⁿ x^{2n+1} / (1·3···(2n+1))}
   * (Abramowitz &amp; Stegun 7.1.6), whose terms are all positive: no cancellation, relative error ~1e-16.
   */
  static double erf(double x) {
    if (x >= 6.5) {
      return 1.0;
    }
    final double x2 = x * x;
    double term = x;
    double sum = x;
    for (int n = 1; n < 500; n++) {
      term *= 2 * x2 / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) {
        break;
      }
    }
    return Math.min(1.0, 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum);
  }
}
