package io.deepens.core.weighting;

import io.deepens.core.InvalidInputException;
import java.util.SplittableRandom;

/**
 * Pseudo Bayesian model averaging (Yao, Vehtari, Simpson &amp; Gelman, Bayesian Analysis 2018, section 3.4) from
 * held-out log-likelihoods {@code L_mi = log p_m(y_i | x_i)}.
 *
 * <ul>
 *   <li>Pseudo-BMA: {@code w_m ∝ exp(elpd_m)} with {@code elpd_m = Σ_i L_mi}.</li>
 *   <li>Pseudo-BMA+ ({@code bayesianBootstrap = true}): the elpd's uncertainty is accounted for by the Bayesian
 *       bootstrap (Rubin 1981): for each of {@code draws} draws {@code α ~ Dirichlet(1, …, 1)} over the n rows,
 *       {@code elpd_m^b = n Σ_i α_i L_mi} and {@code w^b = softmax(elpd^b)}; the weights are the mean of the
 *       {@code w^b}. The Dirichlet draw is normalised Exp(1) variates from {@code new SplittableRandom(seed)}, so the
 *       result depends only on the inputs and the seed.</li>
 * </ul>
 * A member with {@code L_mi = -Infinity} on any row has {@code elpd = -Infinity} and gets weight 0 (in every bootstrap
 * draw too). Softmax is max-shifted, so large |elpd| does not overflow.
 */
public final class PseudoBma {
  private PseudoBma() {}

  /**
   * @param memberLogLik {@code [member][row]} log-likelihoods (no NaN or +Infinity)
   * @param draws number of Bayesian-bootstrap draws ({@code >= 1}); ignored without the bootstrap
   * @return weights summing to 1
   */
  public static double[] weights(double[][] memberLogLik, boolean bayesianBootstrap, long seed, int draws) {
    final int rows = LogLikelihoods.check(memberLogLik);
    final int members = memberLogLik.length;
    final boolean[] dead = new boolean[members];
    boolean anyAlive = false;
    for (int m = 0; m < members; m++) {
      for (double x : memberLogLik[m]) {
        if (x == Double.NEGATIVE_INFINITY) {
          dead[m] = true;
          break;
        }
      }
      anyAlive |= !dead[m];
    }
    InvalidInputException.check(anyAlive,
        "every member has log-likelihood -Infinity on some row, so every elpd is -Infinity and pseudo-BMA weights are "
            + "undefined; floor probabilities before taking logs (io.deepens.core.metrics.LogScore)");
    final double[] elpd = new double[members];
    if (!bayesianBootstrap) {
      for (int m = 0; m < members; m++) {
        elpd[m] = dead[m] ? Double.NEGATIVE_INFINITY : sum(memberLogLik[m]);
      }
      return softmax(elpd);
    }
    InvalidInputException.check(draws >= 1, "draws must be >= 1 with the Bayesian bootstrap, found %d", draws);
    final SplittableRandom random = new SplittableRandom(seed);
    final double[] alpha = new double[rows];
    final double[] mean = new double[members];
    for (int b = 0; b < draws; b++) {
      double total = 0;
      for (int i = 0; i < rows; i++) {
        final double u = ((random.nextLong() >>> 11) + 1) * 0x1.0p-53; // uniform in (0, 1]
        alpha[i] = -Math.log(u); // Exp(1)
        total += alpha[i];
      }
      final double scale = rows / total; // n · Dirichlet weights
      for (int m = 0; m < members; m++) {
        if (dead[m]) {
          elpd[m] = Double.NEGATIVE_INFINITY;
          continue;
        }
        double s = 0;
        final double[] l = memberLogLik[m];
        for (int i = 0; i < rows; i++) {
          s += alpha[i] * l[i];
        }
        elpd[m] = s * scale;
      }
      final double[] wb = softmax(elpd);
      for (int m = 0; m < members; m++) {
        mean[m] += wb[m];
      }
    }
    for (int m = 0; m < members; m++) {
      mean[m] /= draws;
    }
    return mean;
  }

  private static double sum(double[] a) {
    double s = 0;
    for (double x : a) {
      s += x;
    }
    return s;
  }

  private static double[] softmax(double[] x) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : x) {
      max = Math.max(max, v);
    }
    double[] w = new double[x.length];
    double s = 0;
    for (int m = 0; m < x.length; m++) {
      w[m] = Math.exp(x[m] - max);
      s += w[m];
    }
    for (int m = 0; m < x.length; m++) {
      w[m] /= s;
    }
    return w;
  }
}
