package io.deepens.core.hyper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Greedy selection with replacement against brute force over every multiset of a small pool, with the mixture NLL
 * computed independently in probability space (mean of probabilities, then log), not in log space as the class does.
 */
class GreedySelectionTest {
  /** NLL of the uniform mixture of {@code counts}, from probabilities: −mean_i log(Σ_c n_c p_c(i) / Σ n_c). */
  static double mixtureNll(double[][] p, int[] counts) {
    int total = 0;
    for (int n : counts) {
      total += n;
    }
    double sum = 0;
    for (int i = 0; i < p[0].length; i++) {
      double m = 0;
      for (int c = 0; c < p.length; c++) {
        m += counts[c] * p[c][i];
      }
      sum += Math.log(m / total);
    }
    return -sum / p[0].length;
  }

  /** Every multiset of size 1..maxSize over k candidates, as counts. */
  static List<int[]> multisets(int k, int maxSize) {
    List<int[]> out = new ArrayList<>();
    fill(new int[k], 0, maxSize, out);
    out.removeIf(c -> java.util.Arrays.stream(c).sum() == 0);
    return out;
  }

  private static void fill(int[] counts, int c, int left, List<int[]> out) {
    if (c == counts.length) {
      out.add(counts.clone());
      return;
    }
    for (int n = 0; n <= left; n++) {
      counts[c] = n;
      fill(counts, c + 1, left - n, out);
    }
    counts[c] = 0;
  }

  static double[][] logs(double[][] p) {
    double[][] l = new double[p.length][p[0].length];
    for (int c = 0; c < p.length; c++) {
      for (int i = 0; i < p[0].length; i++) {
        l[c][i] = Math.log(p[c][i]);
      }
    }
    return l;
  }

  @Test
  void aDominantCandidateIsSelectedAloneAsBruteForceFinds() {
    // candidate 2 gives the truth the highest probability on every row: every mixture with another candidate is
    // worse, so the optimum over all multisets is {2} (any multiplicity) and greedy stops after its first pick
    double[][] p = {
        {0.50, 0.40, 0.60, 0.55},
        {0.30, 0.45, 0.50, 0.20},
        {0.90, 0.85, 0.95, 0.80},
        {0.60, 0.70, 0.10, 0.65}};
    GreedySelection.Result r = GreedySelection.select(logs(p), 4);
    assertArrayEquals(new int[] {0, 0, 1, 0}, r.counts());
    assertEquals("no addition lowers the NLL", r.stoppedBecause());
    double best = Double.POSITIVE_INFINITY;
    for (int[] c : multisets(4, 4)) {
      best = Math.min(best, mixtureNll(p, c));
    }
    assertEquals(best, r.nll(), 1e-12);
    assertEquals(mixtureNll(p, new int[] {0, 0, 1, 0}), r.nll(), 1e-12);
  }

  @Test
  void aBaselineThatLooksBestFirstKeepsGreedyFromTheBruteForceOptimum() {
    // candidates 1 and 3 are each right (0.9) on their half of the rows and wrong (0.1) on the other; 0 and 2 give
    // 0.4 everywhere. The optimum over multisets of size <= 3 is {1, 3} (0.5 everywhere, NLL log 2), but greedy
    // starts from the best single candidate, 0, and never removes it: Caruana's greedy is not optimal in general.
    double[][] p = {
        {0.40, 0.40, 0.40, 0.40},
        {0.90, 0.90, 0.10, 0.10},
        {0.40, 0.40, 0.40, 0.40},
        {0.10, 0.10, 0.90, 0.90}};
    // singles: 0 and 2: −log 0.4 = 0.916; 1 and 3: 1.204 -> greedy starts from 0
    // {0, 1}: rows 0.65, 0.65, 0.25, 0.25: NLL 0.909 < 0.916 -> greedy adds 1 (ties 1 vs 3: lowest index)
    // {0, 1, 3}: rows 0.467 everywhere: NLL 0.762; {0, 1, 1}: 0.733 / 0.2: NLL 0.960 -> greedy adds 3
    // {0, 1, 3, +1 or +3}: rows 0.575/0.375 -> NLL 0.767 > 0.762; +0: 0.45 -> 0.799 -> stop at {0, 1, 3}
    GreedySelection.Result r = GreedySelection.select(logs(p), 2);
    assertArrayEquals(new int[] {1, 1, 0, 0}, r.counts(), "size limit 2: {0, 1}");
    GreedySelection.Result r3 = GreedySelection.select(logs(p), 3);
    assertArrayEquals(new int[] {1, 1, 0, 1}, r3.counts());
    assertEquals(mixtureNll(p, new int[] {1, 1, 0, 1}), r3.nll(), 1e-12);
    assertEquals(-Math.log(0.7 / 1.5), r3.nll(), 1e-12); // (0.4 + 0.9 + 0.1) / 3 = 0.4667 on every row
    // here greedy is not optimal over multisets of size <= 3: {1, 3} alone has NLL log 2, lower
    double best = Double.POSITIVE_INFINITY;
    int[] arg = null;
    for (int[] c : multisets(4, 3)) {
      double nll = mixtureNll(p, c);
      if (nll < best - 1e-15) {
        best = nll;
        arg = c;
      }
    }
    assertArrayEquals(new int[] {0, 1, 0, 1}, arg);
    assertTrue(r3.nll() > best, "greedy's known failure case: it never beats brute force");
  }

  @Test
  void withAWeakBaselineGreedyFindsTheComplementaryPairAndItsWeightsAsBruteForceDoes() {
    // as above with a weak baseline (0.2): the best single is 1 (NLL 1.204 < −log 0.2 = 1.609), greedy adds 3
    // ({1, 3}: 0.5 everywhere, NLL log 2), then nothing lowers log 2; brute force over multisets of size <= 4 agrees
    double[][] p = {
        {0.20, 0.20, 0.20, 0.20},
        {0.90, 0.90, 0.10, 0.10},
        {0.20, 0.20, 0.20, 0.20},
        {0.10, 0.10, 0.90, 0.90}};
    GreedySelection.Result r = GreedySelection.select(logs(p), 4);
    assertArrayEquals(new int[] {0, 1, 0, 1}, r.counts());
    assertArrayEquals(new double[] {0, 0.5, 0, 0.5}, r.weights(), 0.0);
    assertEquals(Math.log(2), r.nll(), 1e-12);
    assertEquals(List.of(1, 3), r.path().stream().map(GreedySelection.Step::candidate).toList());
    double best = Double.POSITIVE_INFINITY;
    int[] arg = null;
    for (int[] c : multisets(4, 4)) {
      double nll = mixtureNll(p, c);
      if (nll < best - 1e-12) {
        best = nll;
        arg = c;
      }
    }
    assertEquals(best, r.nll(), 1e-12);
    assertArrayEquals(new double[] {0, 0.5, 0, 0.5}, weights(arg), 1e-12, "the same mixture weights");
  }

  static double[] weights(int[] counts) {
    double total = java.util.Arrays.stream(counts).sum();
    return java.util.Arrays.stream(counts).mapToDouble(n -> n / total).toArray();
  }

  @Test
  void onRandomPoolsEveryStepIsTheBestAdditionAndNeverWorseThanTheBestSingle() {
    SplittableRandom rnd = new SplittableRandom(20261206);
    for (int trial = 0; trial < 200; trial++) {
      int k = 2 + rnd.nextInt(4);
      int rows = 1 + rnd.nextInt(12);
      double[][] p = new double[k][rows];
      for (int c = 0; c < k; c++) {
        for (int i = 0; i < rows; i++) {
          p[c][i] = 0.01 + 0.98 * rnd.nextDouble();
        }
      }
      int limit = 1 + rnd.nextInt(5);
      GreedySelection.Result r = GreedySelection.select(logs(p), limit);
      double bestSingle = Double.POSITIVE_INFINITY;
      int bestC = -1;
      for (int c = 0; c < k; c++) {
        int[] one = new int[k];
        one[c] = 1;
        double nll = mixtureNll(p, one);
        if (nll < bestSingle) {
          bestSingle = nll;
          bestC = c;
        }
      }
      assertEquals(bestC, r.path().get(0).candidate(), "trial " + trial + ": starts from the best single");
      assertTrue(r.nll() <= bestSingle + 1e-12, "trial " + trial);
      assertTrue(r.size() <= limit);
      int[] counts = new int[k];
      double prev = Double.POSITIVE_INFINITY;
      for (GreedySelection.Step s : r.path()) {
        // the pick is the best of every possible addition to the previous multiset
        double bestAdd = Double.POSITIVE_INFINITY;
        for (int c = 0; c < k; c++) {
          counts[c]++;
          bestAdd = Math.min(bestAdd, mixtureNll(p, counts));
          counts[c]--;
        }
        counts[s.candidate()]++;
        double nll = mixtureNll(p, counts);
        assertEquals(nll, s.mixtureNll(), 1e-12, "trial " + trial + " step " + s.step());
        assertEquals(bestAdd, nll, 1e-11, "trial " + trial + " step " + s.step() + " is the best addition");
        assertTrue(nll < prev - GreedySelection.TOLERANCE, "every pick lowers the NLL");
        prev = nll;
      }
      assertArrayEquals(counts, r.counts());
      if (r.size() < limit) {
        for (int c = 0; c < k; c++) {
          counts[c]++;
          assertTrue(mixtureNll(p, counts) >= r.nll() - 1e-11, "stopped: no addition lowers the NLL");
          counts[c]--;
        }
      }
      // brute force over multisets up to the same size is never worse than greedy
      double best = Double.POSITIVE_INFINITY;
      for (int[] c : multisets(k, limit)) {
        best = Math.min(best, mixtureNll(p, c));
      }
      assertTrue(best <= r.nll() + 1e-12);
    }
  }

  @Test
  void stratificationSharesMembersOutInProportionToMultiplicities() {
    // picks 3, 7, 3 -> counts 3:2, 7:1; M = 4: quotas 8/3 = 2.67 and 4/3 = 1.33 -> 2 + 1, the extra to 3's
    // remainder (2/3 > 1/3)
    int[] counts = new int[8];
    counts[3] = 2;
    counts[7] = 1;
    GreedySelection.Result r = new GreedySelection.Result(counts, List.of(new GreedySelection.Step(1, 3, 1, 0.3),
        new GreedySelection.Step(2, 7, 2, 0.2), new GreedySelection.Step(3, 3, 3, 0.1)), "size limit");
    assertEquals(List.of(3, 3, 3, 7), Stratification.allocate(r, 4));
    assertEquals(List.of(3, 3, 7), Stratification.allocate(r, 3));
    assertEquals(List.of(3), Stratification.allocate(r, 1));
    // equal remainders: the setting picked first wins (M = 1 with counts 1:1)
    int[] even = new int[8];
    even[5] = 1;
    even[2] = 1;
    GreedySelection.Result e = new GreedySelection.Result(even, List.of(new GreedySelection.Step(1, 5, 1, 0.3),
        new GreedySelection.Step(2, 2, 2, 0.2)), "size limit");
    assertEquals(List.of(5), Stratification.allocate(e, 1));
    assertEquals(List.of(5, 5, 2), Stratification.allocate(e, 3));
    assertEquals(List.of(5, 5, 2, 2), Stratification.allocate(e, 4));
  }
}
