package io.deepens.core.random;

/**
 * The Poisson bootstrap (Hanley and MacGibbon 2006; Oza and Russell 2001 for online bagging): instead of drawing n
 * rows with replacement, every row appears k times with k ~ Poisson(1) drawn independently. For large n this
 * matches the multinomial bootstrap, and it can be drawn row by row without knowing n.
 *
 * <p>k is drawn by inverting Poisson(1)'s CDF at u = {@link Seeds#toUnitInterval}(mix64(memberSeed ^
 * mix64(rowKey + 5γ))): the smallest k with F(k) > u. The same (member seed, row key) always gives the same k.
 */
public final class Bootstrap {
  /** P(k) = e^-1 / k! for k = 0..MAX_K-1; the tail beyond 19 has probability below 1e-18. */
  private static final int MAX_K = 20;
  private static final double[] CDF = new double[MAX_K];

  static {
    double p = Math.exp(-1);
    double c = 0;
    for (int k = 0; k < MAX_K; k++) {
      if (k > 0) {
        p /= k;
      }
      c += p;
      CDF[k] = c;
    }
  }

  private Bootstrap() {}

  /**
   * How many times the row appears in the member's resample: a deterministic Poisson(1) draw.
   *
   * @param memberSeed {@code Seeds.derive(ensembleSeed, member, SeedPurpose.BOOTSTRAP, 0)}
   * @param rowKey from {@link Seeds#rowKey}
   */
  public static int multiplicity(long memberSeed, long rowKey) {
    double u = Seeds.toUnitInterval(Seeds.mix64(memberSeed ^ Seeds.mix64(rowKey + 5 * Seeds.GAMMA)));
    for (int k = 0; k < MAX_K; k++) {
      if (u < CDF[k]) {
        return k;
      }
    }
    return MAX_K;
  }
}
