package io.deepens.core.mixture;

import io.deepens.core.InvalidInputException;
import java.io.Serializable;
import java.util.Arrays;

/**
 * The posterior predictive of a deep ensemble: a weighted mixture of its members, optionally tempered.
 *
 * <p>Lakshminarayanan, Pritzel &amp; Blundell (<i>Simple and Scalable Predictive Uncertainty Estimation using Deep
 * Ensembles</i>, NeurIPS 2017) treat the M independently trained networks as a uniformly weighted mixture,
 * {@code p(y|x) = (1/M) Σ_m p(y|x, θ_m)}. deepens allows any weights on the simplex: uniform by default, or
 * stacking / pseudo-BMA weights (Yao, Vehtari, Simpson &amp; Gelman, <i>Using Stacking to Average Bayesian
 * Predictive Distributions</i>, Bayesian Analysis 2018), see {@code io.deepens.core.weighting}.
 *
 * <p><b>Temperature.</b> With temperature {@code T} (Guo, Pleiss, Sun &amp; Weinberger, <i>On Calibration of Modern
 * Neural Networks</i>, ICML 2017) each member is tempered <i>before</i> mixing: {@code p_{m,T}(k) ∝ p_m(k)^{1/T}},
 * which equals {@code softmax(logits_m / T)} because {@code log p_m = logits_m - logsumexp(logits_m)}. It is computed
 * in log space ({@code log p / T}, then a max-shifted log-sum-exp), so exact zeros stay exact zeros and nothing
 * overflows. {@code T > 1} softens, {@code T < 1} sharpens; {@code T = 1} leaves members unchanged (and skips the
 * transform). Temperature does not apply to regression.
 *
 * <p><b>MC dropout.</b> When every member is sampled {@code S} times with dropout on, the {@code M·S} components are
 * given member-major ({@code m·S + s}) and component {@code (m, s)} gets weight {@code w_m / S}. The decomposition
 * is then taken over all components, so the mutual information covers both the disagreement between members and
 * within a member's dropout samples.
 *
 * <p>Instances are immutable and serializable (they are shipped to Spark executors).
 */
public final class PosteriorMixture implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Tolerance on {@code Σ w = 1} for {@link #of(double[])}. */
  public static final double WEIGHT_SUM_TOLERANCE = 1e-6;
  /** Tolerance on each member row summing to 1 in {@link #classify}. */
  public static final double PROBABILITY_SUM_TOLERANCE = 1e-3;

  private final double[] weights;
  private final double temperature;

  private PosteriorMixture(double[] weights, double temperature) {
    this.weights = weights;
    this.temperature = temperature;
  }

  /** The equally weighted mixture of Lakshminarayanan et al. 2017, {@code w_m = 1/M}, temperature 1. */
  public static PosteriorMixture uniform(int members) {
    InvalidInputException.check(members >= 1, "members must be >= 1, found %d", members);
    double[] w = new double[members];
    Arrays.fill(w, 1.0 / members);
    return new PosteriorMixture(w, 1.0);
  }

  /**
   * A mixture with the given weights (temperature 1). Every weight must be finite and {@code >= 0} and the weights
   * must sum to 1 within {@value #WEIGHT_SUM_TOLERANCE}; they are then divided by their sum so that they sum to 1 to
   * rounding. The array is copied.
   */
  public static PosteriorMixture of(double[] weights) {
    InvalidInputException.check(weights != null, "weights must not be null");
    InvalidInputException.check(weights.length >= 1, "weights must hold at least one member, found length 0");
    double sum = 0;
    for (int m = 0; m < weights.length; m++) {
      double w = weights[m];
      if (!(w >= 0) || Double.isInfinite(w)) {
        throw new InvalidInputException(String.format(java.util.Locale.ROOT,
            "weights[%d] must be finite and >= 0, found %s (weights=%s)", m, w, Arrays.toString(weights)));
      }
      sum += w;
    }
    final double s = sum;
    InvalidInputException.check(Math.abs(s - 1.0) <= WEIGHT_SUM_TOLERANCE,
        "weights must sum to 1 within %s, found %s (weights=%s)", WEIGHT_SUM_TOLERANCE, s, Arrays.toString(weights));
    double[] w = new double[weights.length];
    for (int m = 0; m < w.length; m++) {
      w[m] = weights[m] / s;
    }
    return new PosteriorMixture(w, 1.0);
  }

  /** The same weights with temperature {@code T}: finite and {@code > 0}. */
  public PosteriorMixture withTemperature(double temperature) {
    InvalidInputException.check(temperature > 0 && !Double.isInfinite(temperature),
        "temperature must be finite and > 0, found %s", temperature);
    return new PosteriorMixture(weights, temperature);
  }

  /** A copy of the weights (they sum to 1). */
  public double[] weights() {
    return weights.clone();
  }

  public double temperature() {
    return temperature;
  }

  public int members() {
    return weights.length;
  }

  /**
   * Kish's effective number of members, {@code 1 / Σ w_m²}: M for uniform weights, 1 when one member has all the
   * weight.
   */
  public double effectiveMembers() {
    double s = 0;
    for (double w : weights) {
      s += w * w;
    }
    return 1.0 / s;
  }

  /**
   * Mixes the members' class probabilities and decomposes the uncertainty; see {@link ClassificationUncertainty} for
   * the formulas.
   *
   * @param memberProbs {@code memberProbs[m]} = member m's row-major {@code [rows x classes]} softmax probabilities,
   *     exactly {@code rows * classes} long. Every probability must be finite and {@code >= 0}, every row must sum to 1
   *     within {@value #PROBABILITY_SUM_TOLERANCE} (it is then divided by its sum). Temperature T is applied to each
   *     member before mixing: {@code p_{m,T} ∝ p_m^{1/T}} (= softmax(logits/T)), computed in log space.
   * @throws InvalidInputException naming member, row, class and value for a bad probability or shape.
   */
  public ClassificationUncertainty classify(float[][] memberProbs, int rows, int classes) {
    return classify(memberProbs, 1, rows, classes, "memberProbs");
  }

  /**
   * MC-dropout variant of {@link #classify(float[][], int, int)}: {@code componentProbs} has
   * {@code members() * samplesPerMember} entries, member-major ({@code m*S + s}); each component has weight
   * {@code w_m / S}.
   */
  public ClassificationUncertainty classify(float[][] componentProbs, int samplesPerMember, int rows, int classes) {
    return classify(componentProbs, samplesPerMember, rows, classes, "componentProbs");
  }

  private ClassificationUncertainty classify(float[][] probs, int samples, int rows, int classes, String name) {
    checkShape(name, probs, samples, rows, classes);
    final int components = probs.length;
    final int cells = rows * classes;
    for (int c = 0; c < components; c++) {
      InvalidInputException.check(probs[c] != null, "%s[%d] must not be null", name, c);
      if (probs[c].length != cells) {
        throw new InvalidInputException(String.format(java.util.Locale.ROOT,
            "%s[%d]%s must hold rows*classes = %d*%d = %d probabilities, found length %d",
            name, c, componentLabel(c, samples), rows, classes, cells, probs[c].length));
      }
    }
    final double[] v = componentWeights(samples);
    final boolean tempered = temperature != 1.0;
    final double invT = 1.0 / temperature;
    final ClassificationUncertainty out = new ClassificationUncertainty(rows, classes);
    final double[] mix = out.probability();
    // One scratch matrix per call (not per row): component c's normalised (tempered) row at [c*classes, +classes).
    final double[] q = new double[components * classes];

    for (int r = 0; r < rows; r++) {
      final int base = r * classes;
      double expected = 0;
      for (int c = 0; c < components; c++) {
        final float[] p = probs[c];
        final int qb = c * classes;
        double sum = 0;
        for (int k = 0; k < classes; k++) {
          double x = p[base + k];
          if (!(x >= 0) || x == Double.POSITIVE_INFINITY) {
            throw badProbability(name, c, samples, r, k, x);
          }
          q[qb + k] = x;
          sum += x;
        }
        if (!(Math.abs(sum - 1.0) <= PROBABILITY_SUM_TOLERANCE)) {
          throw new InvalidInputException(String.format(java.util.Locale.ROOT,
              "%s[%d]%s row %d: probabilities must sum to 1 within %s, found %s",
              name, c, componentLabel(c, samples), r, PROBABILITY_SUM_TOLERANCE, sum));
        }
        if (tempered) {
          temper(q, qb, classes, invT);
        } else {
          final double inv = 1.0 / sum;
          for (int k = 0; k < classes; k++) {
            q[qb + k] *= inv;
          }
        }
        final double vc = v[c];
        double h = 0;
        for (int k = 0; k < classes; k++) {
          final double x = q[qb + k];
          if (x > 0) {
            h -= x * Math.log(x);
          }
          mix[base + k] += vc * x;
        }
        expected += vc * Math.max(0.0, h);
      }
      int best = 0;
      double bestP = mix[base];
      double total = 0;
      for (int k = 0; k < classes; k++) {
        final double x = mix[base + k];
        if (x > bestP) {
          bestP = x;
          best = k;
        }
        if (x > 0) {
          total -= x * Math.log(x);
        }
      }
      total = Math.max(0.0, total);
      double var = 0;
      for (int c = 0; c < components; c++) {
        final double d = q[c * classes + best] - bestP;
        var += v[c] * d * d;
      }
      out.prediction()[r] = best;
      out.maxProbability()[r] = bestP;
      out.predictiveEntropy()[r] = total;
      out.expectedEntropy()[r] = expected;
      out.mutualInformation()[r] = Math.max(0.0, total - expected);
      out.predictedClassVariance()[r] = var;
    }
    return out;
  }

  /** In place: {@code q[b..b+n)} (non-negative, not all zero) becomes {@code softmax(log q / T)}. */
  private static void temper(double[] q, int b, int n, double invT) {
    double max = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < n; k++) {
      final double x = q[b + k];
      final double l = x > 0 ? Math.log(x) * invT : Double.NEGATIVE_INFINITY;
      q[b + k] = l;
      if (l > max) {
        max = l;
      }
    }
    double s = 0;
    for (int k = 0; k < n; k++) {
      final double e = Math.exp(q[b + k] - max); // exp(-inf) = 0: exact zeros stay zero
      q[b + k] = e;
      s += e;
    }
    final double inv = 1.0 / s; // s >= 1: the maximum contributes exp(0)
    for (int k = 0; k < n; k++) {
      q[b + k] *= inv;
    }
  }

  /**
   * Moments of the mixture of heteroscedastic Gaussian members; see {@link RegressionUncertainty}.
   *
   * @param memberMeans {@code memberMeans[m][row]}: finite
   * @param memberVariances {@code memberVariances[m][row]}: finite and {@code > 0}
   */
  public RegressionUncertainty regress(float[][] memberMeans, float[][] memberVariances, int rows) {
    return regress(memberMeans, memberVariances, 1, rows, "memberMeans", "memberVariances");
  }

  /** MC-dropout variant: {@code members() * samplesPerMember} components, member-major, weights {@code w_m / S}. */
  public RegressionUncertainty regress(float[][] componentMeans, float[][] componentVariances, int samplesPerMember,
      int rows) {
    return regress(componentMeans, componentVariances, samplesPerMember, rows, "componentMeans",
        "componentVariances");
  }

  /**
   * {@link #regress(float[][], float[][], int, int)} on components as a Gaussian member's output layer gives them:
   * {@code outputs[c]} holds, row after row, the mean and then the variance ({@code 2 * rows} values).
   */
  public RegressionUncertainty regressInterleaved(float[][] outputs, int samplesPerMember, int rows) {
    float[][] means = new float[outputs.length][];
    float[][] vars = new float[outputs.length][];
    for (int c = 0; c < outputs.length; c++) {
      InvalidInputException.check(outputs[c] != null && outputs[c].length == 2 * rows,
          "outputs[%d] must hold 2 * rows = %d values (mean, variance per row), found %s", c, 2 * rows,
          outputs[c] == null ? "null" : "length " + outputs[c].length);
      means[c] = new float[rows];
      vars[c] = new float[rows];
      for (int i = 0; i < rows; i++) {
        means[c][i] = outputs[c][2 * i];
        vars[c][i] = outputs[c][2 * i + 1];
      }
    }
    return regress(means, vars, samplesPerMember, rows, "componentMeans", "componentVariances");
  }

  private RegressionUncertainty regress(float[][] means, float[][] vars, int samples, int rows, String meanName,
      String varName) {
    checkShape(meanName, means, samples, rows, 1);
    checkShape(varName, vars, samples, rows, 1);
    final int components = means.length;
    for (int c = 0; c < components; c++) {
      InvalidInputException.check(means[c] != null, "%s[%d] must not be null", meanName, c);
      InvalidInputException.check(vars[c] != null, "%s[%d] must not be null", varName, c);
      InvalidInputException.check(means[c].length == rows, "%s[%d]%s must hold rows = %d values, found length %d",
          meanName, c, componentLabel(c, samples), rows, means[c].length);
      InvalidInputException.check(vars[c].length == rows, "%s[%d]%s must hold rows = %d values, found length %d",
          varName, c, componentLabel(c, samples), rows, vars[c].length);
    }
    final double[] v = componentWeights(samples);
    final RegressionUncertainty out = new RegressionUncertainty(rows);
    final double[] mean = out.mean();
    final double[] alea = out.aleatoricVariance();
    final double[] epi = out.epistemicVariance();
    final double[] total = out.variance();
    for (int c = 0; c < components; c++) {
      final float[] mu = means[c];
      final float[] s2 = vars[c];
      final double vc = v[c];
      for (int r = 0; r < rows; r++) {
        final double m = mu[r];
        final double s = s2[r];
        if (!Double.isFinite(m)) {
          throw new InvalidInputException(String.format(java.util.Locale.ROOT,
              "%s[%d]%s row %d: mean must be finite, found %s", meanName, c, componentLabel(c, samples), r, m));
        }
        if (!(s > 0) || s == Double.POSITIVE_INFINITY) {
          throw new InvalidInputException(String.format(java.util.Locale.ROOT,
              "%s[%d]%s row %d: variance must be finite and > 0, found %s", varName, c, componentLabel(c, samples),
              r, s));
        }
        mean[r] += vc * m;
        alea[r] += vc * s;
      }
    }
    // Second pass about the mixture mean: numerically stable (no E[μ²] - E[μ]² cancellation).
    for (int c = 0; c < components; c++) {
      final float[] mu = means[c];
      final double vc = v[c];
      for (int r = 0; r < rows; r++) {
        final double d = mu[r] - mean[r];
        epi[r] += vc * d * d;
      }
    }
    for (int r = 0; r < rows; r++) {
      total[r] = alea[r] + epi[r];
    }
    return out;
  }

  private void checkShape(String name, Object[] arrays, int samples, int rows, int classes) {
    InvalidInputException.check(arrays != null, "%s must not be null", name);
    InvalidInputException.check(samples >= 1, "samplesPerMember must be >= 1, found %d", samples);
    InvalidInputException.check(rows >= 0, "rows must be >= 0, found %d", rows);
    InvalidInputException.check(classes >= 1, "classes must be >= 1, found %d", classes);
    InvalidInputException.check((long) rows * classes <= Integer.MAX_VALUE,
        "rows*classes must fit in an int array, found %d*%d", rows, classes);
    long expected = (long) weights.length * samples;
    if (arrays.length != expected) {
      throw new InvalidInputException(String.format(java.util.Locale.ROOT,
          "%s must hold members*samplesPerMember = %d*%d = %d arrays (one per %s), found %d",
          name, weights.length, samples, expected, samples == 1 ? "member" : "member and sample", arrays.length));
    }
  }

  private double[] componentWeights(int samples) {
    double[] v = new double[weights.length * samples];
    for (int c = 0; c < v.length; c++) {
      v[c] = weights[c / samples] / samples;
    }
    return v;
  }

  private static String componentLabel(int c, int samples) {
    return samples == 1 ? "" : " (member " + (c / samples) + ", sample " + (c % samples) + ")";
  }

  private static InvalidInputException badProbability(String name, int c, int samples, int r, int k, double x) {
    return new InvalidInputException(String.format(java.util.Locale.ROOT,
        "%s[%d]%s row %d class %d: probability must be finite and >= 0, found %s",
        name, c, componentLabel(c, samples), r, k, x));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PosteriorMixture p
        && Arrays.equals(weights, p.weights) && Double.compare(temperature, p.temperature) == 0;
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(weights) + Double.hashCode(temperature);
  }

  @Override
  public String toString() {
    return "PosteriorMixture{weights=" + Arrays.toString(weights) + ", temperature=" + temperature + "}";
  }
}
