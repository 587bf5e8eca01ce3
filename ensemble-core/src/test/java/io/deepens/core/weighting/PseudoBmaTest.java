package io.deepens.core.weighting;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import io.deepens.core.metrics.GoldenJson;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PseudoBmaTest {
  @Test
  void elpdDifferenceOfLog3GivesThreeToOneByHand() {
    double[][] l = {{Math.log(0.6), Math.log(0.5)}, {Math.log(0.2), Math.log(0.5)}};
    assertArrayEquals(new double[] {0.75, 0.25}, PseudoBma.weights(l, false, 0, 0), 1e-15);
  }

  @Test
  void matchesNumpySoftmaxOfElpd() {
    JsonNode f = GoldenJson.read(PseudoBmaTest.class, "weighting.json");
    double[][] l = GoldenJson.doubleMatrix(f.get("stacking").get("memberLogLik"));
    double[] expected = GoldenJson.doubles(f.get("pseudoBma").get("weights"));
    double[] w = PseudoBma.weights(l, false, 0, 0);
    for (int m = 0; m < w.length; m++) {
      // relative: some weights are ~1e-26 (elpds differ by tens of nats)
      assertEquals(expected[m], w[m], 1e-9 * expected[m] + 1e-300, "member " + m);
    }
  }

  @Test
  void bayesianBootstrapIsDeterministicAndLessExtreme() {
    SplittableRandom r = new SplittableRandom(3);
    int n = 100;
    double[][] l = new double[2][n];
    for (int i = 0; i < n; i++) {
      l[0][i] = Math.log(0.2 + 0.6 * r.nextDouble());
      l[1][i] = Math.log(0.2 + 0.6 * r.nextDouble());
    }
    double[] bma = PseudoBma.weights(l, false, 0, 0);
    double[] plus = PseudoBma.weights(l, true, 42, 1000);
    assertArrayEquals(plus, PseudoBma.weights(l, true, 42, 1000), 0.0, "same seed, same weights");
    assertEquals(1.0, plus[0] + plus[1], 1e-12);
    assertTrue(Math.max(plus[0], plus[1]) < Math.max(bma[0], bma[1]),
        "bootstrap accounts for elpd noise: " + java.util.Arrays.toString(plus) + " vs "
            + java.util.Arrays.toString(bma));
    double[][] same = {l[0], l[0]};
    assertArrayEquals(new double[] {0.5, 0.5}, PseudoBma.weights(same, true, 1, 50), 1e-15);
  }

  @Test
  void memberWithZeroProbabilityOnSomeRowGetsWeightZero() {
    double[][] l = {{Math.log(0.9), Double.NEGATIVE_INFINITY}, {Math.log(0.1), Math.log(0.1)}};
    assertArrayEquals(new double[] {0, 1}, PseudoBma.weights(l, false, 0, 0), 0.0);
    assertArrayEquals(new double[] {0, 1}, PseudoBma.weights(l, true, 7, 20), 0.0);
  }

  @Test
  void badInput() {
    double[][] l = {{0}, {0}};
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> PseudoBma.weights(l, true, 1, 0));
    assertEquals("draws must be >= 1 with the Bayesian bootstrap, found 0", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> PseudoBma.weights(new double[][] {
        {Double.NEGATIVE_INFINITY, 0}, {0, Double.NEGATIVE_INFINITY}}, false, 1, 1));
    assertTrue(e.getMessage().startsWith("every member has log-likelihood -Infinity on some row"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> PseudoBma.weights(new double[0][], false, 1, 1));
    assertEquals("memberLogLik must hold at least one member, found 0", e.getMessage());
  }
}
