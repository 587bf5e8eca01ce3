package io.deepens.core.weighting;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.util.Arrays;

/**
 * Stacking of predictive distributions (Yao, Vehtari, Simpson &amp; Gelman, <i>Using Stacking to Average Bayesian
 * Predictive Distributions</i>, Bayesian Analysis 13(3), 2018, eq. 3): the mixture weights on the simplex that
 * maximise the log score on held-out data,
 * <pre>  max_w  J(w) = (1/n) Σ_i log Σ_m w_m p_m(y_i | x_i)   s.t.  w_m ≥ 0, Σ_m w_m = 1.</pre>
 * J is concave in w, so every local maximum is global. It is maximised by expectation–maximisation for mixture
 * weights with fixed components (Dempster, Laird &amp; Rubin 1977): with responsibilities
 * {@code r_mi = w_m p_m(y_i|x_i) / Σ_k w_k p_k(y_i|x_i)}, the update {@code w_m ← (1/n) Σ_i r_mi} never decreases J.
 *
 * <p>Everything is computed in log space ({@code log w_m + log p_m}, max-shifted log-sum-exp), so a member with
 * {@code log p = -Infinity} on some row (it gave the truth probability 0) simply gets responsibility 0 there, and
 * tiny likelihoods do not underflow. Starting from uniform weights, weights stay positive for members that are the
 * only finite one on some row, so every row keeps a finite mixture log-likelihood. Iteration stops when the
 * improvement in J is below {@code tolerance}, after {@code maxIterations} updates, or (for rounding only) if an update
 * would decrease J, in which case it is not applied; the returned trace is therefore non-decreasing.
 */
public final class Stacking {
  private Stacking() {}

  /**
   * @param memberLogLik {@code [member][row]} = {@code log p_m(y_i | x_i)}: no NaN or +Infinity; -Infinity allowed
   *     unless every member has it on the same row
   * @param maxIterations maximum number of EM updates, {@code >= 0}
   * @param tolerance stop when an update improves the mean log score by less than this, finite and {@code >= 0}
   */
  public static WeightFit fit(double[][] memberLogLik, int maxIterations, double tolerance) {
    final int rows = LogLikelihoods.check(memberLogLik);
    InvalidInputException.check(maxIterations >= 0, "maxIterations must be >= 0, found %d", maxIterations);
    InvalidInputException.check(tolerance >= 0 && Double.isFinite(tolerance),
        "tolerance must be finite and >= 0, found %s", tolerance);
    final int members = memberLogLik.length;
    double[] w = new double[members];
    Arrays.fill(w, 1.0 / members);
    double[] next = new double[members];
    double[] trace = new double[Math.min(maxIterations, 1023) + 1]; // grown on demand: maxIterations may be huge
    double objective = step(memberLogLik, rows, w, next);
    trace[0] = objective;
    int iterations = 0;
    while (iterations < maxIterations) {
      double[] after = new double[members];
      final double candidate = step(memberLogLik, rows, next, after);
      if (candidate < objective) {
        break; // only rounding can do this: EM is monotone
      }
      final double improvement = candidate - objective;
      w = next;
      next = after;
      objective = candidate;
      iterations++;
      if (iterations == trace.length) {
        trace = Arrays.copyOf(trace, (int) Math.min(2L * trace.length, Integer.MAX_VALUE - 8L));
      }
      trace[iterations] = objective;
      if (improvement < tolerance) {
        break;
      }
    }
    return new WeightFit(w, objective, iterations, Arrays.copyOf(trace, iterations + 1));
  }

  /** One E-step: returns J(w) and writes the M-step update into {@code out}. */
  private static double step(double[][] l, int rows, double[] w, double[] out) {
    final int members = w.length;
    final double[] logW = new double[members];
    for (int m = 0; m < members; m++) {
      logW[m] = Math.log(w[m]); // log 0 = -Infinity: that member then contributes exp(-Infinity) = 0
      out[m] = 0;
    }
    double total = 0;
    for (int i = 0; i < rows; i++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int m = 0; m < members; m++) {
        max = Math.max(max, logW[m] + l[m][i]);
      }
      if (max == Double.NEGATIVE_INFINITY) {
        throw new DeepensException("internal: row " + i + " lost every member with a finite log-likelihood");
      }
      double s = 0;
      for (int m = 0; m < members; m++) {
        s += Math.exp(logW[m] + l[m][i] - max);
      }
      final double lse = max + Math.log(s);
      total += lse;
      for (int m = 0; m < members; m++) {
        out[m] += Math.exp(logW[m] + l[m][i] - lse);
      }
    }
    double sum = 0;
    for (int m = 0; m < members; m++) {
      sum += out[m];
    }
    for (int m = 0; m < members; m++) {
      out[m] /= sum; // sum == rows up to rounding; dividing keeps the weights on the simplex
    }
    return total / rows;
  }
}
