package io.deepens.core.hyper;

import io.deepens.core.InvalidInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Greedy ensemble selection with replacement (Caruana, Niculescu-Mizil, Crew and Ksikes, "Ensemble Selection from
 * Libraries of Models", ICML 2004) on the validation NLL of the uniform mixture of the chosen multiset.
 *
 * <p>With ℓ_c(i) = log p_c(y_i | x_i), candidate c's log-likelihood of validation row i (n rows), the NLL of a
 * multiset S (|S| picks, repetitions allowed) is
 * <pre>
 *   NLL(S) = −(1/n) Σ_i log( (1/|S|) Σ_{s ∈ S} exp ℓ_s(i) )
 * </pre>
 * computed in log space (log-sum-exp), so tiny probabilities do not underflow. Selection starts from the best single
 * candidate (lowest NLL), then repeatedly adds the candidate (possibly one already chosen) whose addition gives the
 * lowest NLL, and stops when the multiset has {@code maxSize} picks or when the best addition does not lower the
 * NLL by more than {@link #TOLERANCE}. Ties (within {@link #TOLERANCE}) go to the lowest candidate index, so the result is a function of the inputs alone. The
 * mixture weights are the multiplicities divided by |S|.
 *
 * <p>Guarantees: the first pick is the best single candidate and every later pick lowers the NLL, so the result is
 * never worse than the best single candidate. Greedy is not optimal over all multisets in general (adding
 * candidates one at a time can miss a pair that only helps together); the test compares it with brute force.
 */
public final class GreedySelection {
  /**
   * NLL differences up to this size (nats) are rounding, not improvement: two candidates whose mixtures differ by
   * less are a tie (the lower index wins), and an addition must lower the NLL by more to be made. Without it, adding
   * a copy of the only pick (the same mixture) could "improve" by 1e-16 through the order of floating-point sums.
   */
  public static final double TOLERANCE = 1e-12;

  private GreedySelection() {}

  /**
   * One pick.
   *
   * @param step 1 for the first pick
   * @param candidate the candidate added (its position in the input)
   * @param size picks so far, this one included
   * @param mixtureNll validation NLL of the uniform mixture of the picks so far
   */
  public record Step(int step, int candidate, int size, double mixtureNll) {}

  /**
   * The selection.
   *
   * @param counts multiplicity of every candidate (0 for those not chosen), by position in the input
   * @param path the picks in order
   * @param stoppedBecause {@code "size limit"} or {@code "no addition lowers the NLL"}
   */
  public record Result(int[] counts, List<Step> path, String stoppedBecause) {
    /** Picks in total. */
    public int size() {
      return path.size();
    }

    /** The final mixture's validation NLL. */
    public double nll() {
      return path.get(path.size() - 1).mixtureNll();
    }

    /** Mixture weights by candidate: multiplicity / size. */
    public double[] weights() {
      double[] w = new double[counts.length];
      for (int c = 0; c < w.length; c++) {
        w[c] = counts[c] / (double) size();
      }
      return w;
    }
  }

  /**
   * Selects from candidates whose validation log-likelihoods are {@code logLik[candidate][row]}.
   *
   * @param logLik finite or −∞ log-likelihoods (e.g. {@link io.deepens.core.metrics.LogScore}), equal row counts
   * @param maxSize the most picks, >= 1
   */
  public static Result select(double[][] logLik, int maxSize) {
    InvalidInputException.check(logLik != null && logLik.length >= 1, "greedy selection needs at least one candidate");
    InvalidInputException.check(maxSize >= 1, "greedy selection: maxSize must be >= 1, found %d", maxSize);
    int k = logLik.length;
    int n = logLik[0].length;
    InvalidInputException.check(n >= 1, "greedy selection needs at least one validation row");
    for (int c = 0; c < k; c++) {
      InvalidInputException.check(logLik[c].length == n,
          "greedy selection: candidate %d has %d validation rows, candidate 0 has %d", c, logLik[c].length, n);
      for (int i = 0; i < n; i++) {
        double x = logLik[c][i];
        InvalidInputException.check(!Double.isNaN(x) && x != Double.POSITIVE_INFINITY,
            "greedy selection: candidate %d, row %d has log-likelihood %s (must be a number below +Infinity)", c, i,
            x);
      }
    }
    // log Σ_{s ∈ S} exp ℓ_s(i), row by row
    double[] mix = new double[n];
    java.util.Arrays.fill(mix, Double.NEGATIVE_INFINITY);
    int[] counts = new int[k];
    List<Step> path = new ArrayList<>();
    double current = Double.POSITIVE_INFINITY;
    String stopped = "size limit";
    while (path.size() < maxSize) {
      int size = path.size() + 1;
      int best = -1;
      double bestNll = Double.POSITIVE_INFINITY;
      for (int c = 0; c < k; c++) {
        double nll = nllWith(mix, logLik[c], size);
        if (best < 0 || nll < bestNll - TOLERANCE) {
          best = c;
          bestNll = nll;
        }
      }
      if (!(bestNll < current - TOLERANCE)) {
        stopped = "no addition lowers the NLL";
        break;
      }
      for (int i = 0; i < n; i++) {
        mix[i] = logAddExp(mix[i], logLik[best][i]);
      }
      counts[best]++;
      current = bestNll;
      path.add(new Step(size, best, size, bestNll));
    }
    return new Result(counts, List.copyOf(path), stopped);
  }

  /** NLL of the mixture whose row sums are {@code exp mix} plus candidate {@code l}, with {@code size} picks. */
  private static double nllWith(double[] mix, double[] l, int size) {
    double logSize = Math.log(size);
    double sum = 0;
    for (int i = 0; i < l.length; i++) {
      sum += logAddExp(mix[i], l[i]) - logSize;
    }
    return -sum / l.length;
  }

  static double logAddExp(double a, double b) {
    if (a == Double.NEGATIVE_INFINITY) {
      return b;
    }
    if (b == Double.NEGATIVE_INFINITY) {
      return a;
    }
    double m = Math.max(a, b);
    return m + Math.log1p(Math.exp(Math.min(a, b) - m));
  }

  /** A one-line account of a path, e.g. {@code "3 (0.412) +7 (0.398) +3 (0.395)"}. */
  public static String describe(List<Step> path) {
    StringBuilder sb = new StringBuilder();
    for (Step s : path) {
      sb.append(s.step() == 1 ? "" : " +").append(String.format(Locale.ROOT, "%d (%.4f)", s.candidate(),
          s.mixtureNll()));
    }
    return sb.toString();
  }
}
