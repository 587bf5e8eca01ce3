package io.deepens.core.random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class BootstrapTest {
  private static final int N = 200_000;

  @Test
  void multiplicitiesArePoissonOneMeanAndVariance() {
    long memberSeed = Seeds.derive(20261127L, 2, SeedPurpose.BOOTSTRAP, 0);
    double sum = 0;
    double sumSq = 0;
    int zeros = 0;
    for (long row = 0; row < N; row++) {
      int k = Bootstrap.multiplicity(memberSeed, Seeds.rowKey(row));
      sum += k;
      sumSq += (double) k * k;
      zeros += k == 0 ? 1 : 0;
    }
    double mean = sum / N;
    double var = sumSq / N - mean * mean;
    // CLT: the sample mean of N Poisson(1) draws has sd sqrt(1/N) = 0.00224; tolerance 5 sd = 0.0112.
    assertEquals(1.0, mean, 5 * Math.sqrt(1.0 / N));
    // The sample variance has sd sqrt((mu4 - sigma^4) / N) with mu4 = lambda(1 + 3 lambda) = 4 for lambda = 1,
    // i.e. sqrt(3 / N) = 0.00387; tolerance 5 sd = 0.0194.
    assertEquals(1.0, var, 5 * Math.sqrt(3.0 / N));
    // P(k = 0) = e^-1; the share of zeros is Binomial with sd sqrt(p(1-p)/N) = 0.00108; tolerance 5 sd.
    double p0 = Math.exp(-1);
    assertEquals(p0, (double) zeros / N, 5 * Math.sqrt(p0 * (1 - p0) / N));
  }

  @Test
  void drawsAreDeterministicAndDifferBetweenMembers() {
    long a = Seeds.derive(1, 0, SeedPurpose.BOOTSTRAP, 0);
    long b = Seeds.derive(1, 1, SeedPurpose.BOOTSTRAP, 0);
    int differ = 0;
    int[] first = new int[1000];
    for (int row = 0; row < first.length; row++) {
      first[row] = Bootstrap.multiplicity(a, Seeds.rowKey(row));
      assertEquals(first[row], Bootstrap.multiplicity(a, Seeds.rowKey(row)));
      differ += first[row] != Bootstrap.multiplicity(b, Seeds.rowKey(row)) ? 1 : 0;
    }
    // Two independent Poisson(1) draws differ with probability 1 - sum_k P(k)^2 = 1 - e^-2 I0(2) = 0.69.
    assertNotEquals(0, differ);
    assertEquals(0.69, differ / 1000.0, 0.073); // 5 sd of a Binomial(1000, 0.69) share: 5 * 0.0146
  }
}
