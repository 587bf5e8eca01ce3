package io.deepens.core.weighting;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import io.deepens.core.metrics.GoldenJson;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StackingTest {
  private static final double NEG_INF = Double.NEGATIVE_INFINITY;

  private static double objective(double[][] l, double[] w) {
    double total = 0;
    for (int i = 0; i < l[0].length; i++) {
      double s = 0;
      for (int m = 0; m < l.length; m++) {
        s += w[m] * Math.exp(l[m][i]);
      }
      total += Math.log(s);
    }
    return total / l[0].length;
  }

  private static void assertMonotone(WeightFit fit) {
    double[] t = fit.objectiveTrace();
    assertEquals(fit.iterations() + 1, t.length);
    for (int i = 1; i < t.length; i++) {
      assertTrue(t[i] >= t[i - 1], "EM objective decreased at update " + i + ": " + t[i - 1] + " -> " + t[i]);
    }
    assertEquals(t[t.length - 1], fit.objective(), 0.0);
    double sum = 0;
    for (double w : fit.weights()) {
      assertTrue(w >= 0 && !Double.isNaN(w));
      sum += w;
    }
    assertEquals(1.0, sum, 1e-12);
  }

  @Test
  void closedFormOptimumByHand() {
    // Row 1: p_A = 1, p_B = 1/2; row 2: p_A = 1/4, p_B = 1. J(w) = ½[log(½ + ½w) + log(1 - ¾w)], w = w_A.
    // J'(w) = 0 <=> 1/(1+w) = 0.75/(1 - 0.75w) <=> w = 1/6.
    double[][] l = {{0, Math.log(0.25)}, {Math.log(0.5), 0}};
    WeightFit fit = Stacking.fit(l, Integer.MAX_VALUE, 1e-15); // the trace grows on demand
    assertMonotone(fit);
    // EM converges linearly; at a 1e-15 change in J the weight is within ~1e-6 of the optimum.
    assertEquals(1.0 / 6, fit.weights()[0], 1e-5);
    assertEquals(objective(l, new double[] {1.0 / 6, 5.0 / 6}), fit.objective(), 1e-12);
    // At w = (½, ½): row 1 mixes to ¾, row 2 to 5/8.
    assertEquals(0.5 * (Math.log(0.75) + Math.log(0.625)), fit.objectiveTrace()[0], 1e-15, "J at uniform weights");
  }

  @Test
  void minusInfinityLogLikelihoodsGiveNoNaN() {
    // A gives the truth probability 0 on row 2, B on row 1: the optimum is (½, ½), J = log ½, reached in one update.
    double[][] l = {{0, NEG_INF}, {NEG_INF, 0}};
    WeightFit fit = Stacking.fit(l, 50, 1e-12);
    assertMonotone(fit);
    assertArrayEquals(new double[] {0.5, 0.5}, fit.weights(), 1e-15);
    assertEquals(Math.log(0.5), fit.objective(), 1e-15);
    // A member that gives 0 to every truth gets weight 0.
    double[][] dead = {{Math.log(0.3), Math.log(0.6)}, {NEG_INF, NEG_INF}};
    WeightFit d = Stacking.fit(dead, 50, 1e-12);
    assertArrayEquals(new double[] {1, 0}, d.weights(), 0.0);
    assertFalse(Double.isNaN(d.objective()));
    assertEquals(0.5 * (Math.log(0.3) + Math.log(0.6)), d.objective(), 1e-15);
  }

  @Test
  void matchesScipySlsqpOptimum() {
    JsonNode s = GoldenJson.read(StackingTest.class, "weighting.json").get("stacking");
    double[][] l = GoldenJson.doubleMatrix(s.get("memberLogLik"));
    WeightFit fit = Stacking.fit(l, 100_000, 1e-14);
    assertMonotone(fit);
    // J is flat near its maximum, so the weights agree less tightly than the objective.
    assertArrayEquals(GoldenJson.doubles(s.get("weights")), fit.weights(), 2e-3);
    assertEquals(s.get("objective").doubleValue(), fit.objective(), 1e-8);
    assertTrue(fit.objective() >= s.get("objective").doubleValue() - 1e-9, "EM at least as good as SLSQP");
  }

  @Test
  void recoversTheWeightsOfTheMixtureThatGeneratedTheData() {
    // y ~ 0.2 N(-2, 1) + 0.5 N(0, 1) + 0.3 N(3, 1); members are the three unit Gaussians.
    double[] mu = {-2, 0, 3};
    double[] truth = {0.2, 0.5, 0.3};
    int n = 20_000;
    SplittableRandom r = new SplittableRandom(2018);
    double[][] l = new double[3][n];
    for (int i = 0; i < n; i++) {
      double u = r.nextDouble();
      int c = u < 0.2 ? 0 : u < 0.7 ? 1 : 2;
      double y = mu[c] + r.nextGaussian();
      for (int m = 0; m < 3; m++) {
        l[m][i] = -0.5 * Math.log(2 * Math.PI) - 0.5 * (y - mu[m]) * (y - mu[m]);
      }
    }
    WeightFit fit = Stacking.fit(l, 10_000, 1e-12);
    assertMonotone(fit);
    // Sampling error of the weights at n = 20000 is ~0.005; 0.02 is four standard errors.
    assertArrayEquals(truth, fit.weights(), 0.02);
    assertTrue(fit.objective() >= objective(l, truth) - 1e-12, "the maximiser beats the generating weights");
    assertTrue(fit.iterations() > 1);
  }

  @Test
  void stopsAtMaxIterationsAndZeroIterationsIsUniform() {
    double[][] l = {{0, Math.log(0.25)}, {Math.log(0.5), 0}};
    WeightFit zero = Stacking.fit(l, 0, 0);
    assertArrayEquals(new double[] {0.5, 0.5}, zero.weights(), 0.0);
    assertEquals(0, zero.iterations());
    WeightFit three = Stacking.fit(l, 3, 0);
    assertEquals(3, three.iterations());
    assertMonotone(three);
  }

  @Test
  void badInputMessages() {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> Stacking.fit(new double[][] {{0, Double.NaN}, {0, 0}}, 10, 1e-9));
    assertEquals("memberLogLik[0][1] (member 0, row 1) must be a log-likelihood < +Infinity and not NaN, found NaN",
        e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> Stacking.fit(new double[][] {{0, NEG_INF}, {0, NEG_INF}}, 10, 1e-9));
    assertTrue(e.getMessage().startsWith("row 1: every member has log-likelihood -Infinity"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> Stacking.fit(new double[][] {{0, 0}, {0}}, 10, 1e-9));
    assertEquals("every member must have the same number of rows: memberLogLik[0] has 2, memberLogLik[1] has 1",
        e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> Stacking.fit(new double[][] {{0}}, 10, -1));
    assertEquals("tolerance must be finite and >= 0, found -1.0", e.getMessage());
  }
}
