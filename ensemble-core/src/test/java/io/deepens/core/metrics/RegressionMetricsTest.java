package io.deepens.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RegressionMetricsTest {
  private static final JsonNode FIXTURE = GoldenJson.read(RegressionMetricsTest.class, "regression.json");

  @Test
  void matchesNumpyAndScipy() {
    int rows = FIXTURE.get("rows").intValue();
    RegressionMetrics m = new RegressionMetrics();
    m.add(GoldenJson.doubles(FIXTURE.get("mean")), GoldenJson.doubles(FIXTURE.get("variance")),
        GoldenJson.doubles(FIXTURE.get("target")), rows);
    assertEquals(rows, m.count());
    assertEquals(FIXTURE.get("rmse").doubleValue(), m.rmse(), 1e-12);
    assertEquals(FIXTURE.get("gaussianNll").doubleValue(), m.gaussianNll(), 1e-12);
    for (double c : RegressionMetrics.DEFAULT_LEVELS) {
      String key = Double.toString(c);
      assertEquals(FIXTURE.get("halfWidth").get(key).doubleValue(), RegressionMetrics.centralHalfWidth(c), 1e-13,
          "z for " + c + " vs scipy.stats.norm.ppf");
      assertEquals(FIXTURE.get("coverage").get(key).doubleValue(), m.coverage(c), 0.0, "coverage counts " + c);
    }
  }

  @Test
  void handComputed() {
    // Two rows: N(0, 1) with target 1, N(1, 4) with target 1. rmse = sqrt(1/2);
    // nll = [(½ log 2π + ½) + (½ log 2π + ½ log 4)] / 2.
    RegressionMetrics m = new RegressionMetrics(0.5, 0.9);
    m.add(new double[] {0, 1}, new double[] {1, 4}, new double[] {1, 1}, 2);
    assertEquals(Math.sqrt(0.5), m.rmse(), 1e-15);
    assertEquals(0.5 * Math.log(2 * Math.PI) + 0.25 + 0.25 * Math.log(4), m.gaussianNll(), 1e-14);
    // |z| = 1 and 0: 1 > 0.6745 so only row 2 is inside the 50% interval; both are inside the 90% interval.
    assertEquals(0.5, m.coverage(0.5), 0.0);
    assertEquals(1.0, m.coverage(0.9), 0.0);
    assertEquals(0.8427007929497149, RegressionMetrics.erf(1.0), 2e-16, "erf(1), A&S table");
    assertEquals(1.959963984540054, RegressionMetrics.centralHalfWidth(0.95), 1e-14);
  }

  @Test
  void mergeEqualsOnePass() {
    int rows = FIXTURE.get("rows").intValue();
    double[] mean = GoldenJson.doubles(FIXTURE.get("mean"));
    double[] var = GoldenJson.doubles(FIXTURE.get("variance"));
    double[] target = GoldenJson.doubles(FIXTURE.get("target"));
    RegressionMetrics one = new RegressionMetrics();
    one.add(mean, var, target, rows);
    RegressionMetrics a = new RegressionMetrics();
    RegressionMetrics b = new RegressionMetrics();
    a.add(mean, var, target, 123);
    b.add(Arrays.copyOfRange(mean, 123, rows), Arrays.copyOfRange(var, 123, rows),
        Arrays.copyOfRange(target, 123, rows), rows - 123);
    RegressionMetrics merged = GoldenJson.roundTrip(a).merge(b);
    assertEquals(one.count(), merged.count());
    assertEquals(one.rmse(), merged.rmse(), 1e-12);
    assertEquals(one.gaussianNll(), merged.gaussianNll(), 1e-12);
    assertEquals(one.coverage(0.9), merged.coverage(0.9), 0.0);
  }

  @Test
  void badInput() {
    RegressionMetrics m = new RegressionMetrics();
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> m.add(new double[] {0, 0}, new double[] {1, 0}, new double[] {0, 0}, 2));
    assertEquals("variance row 1 must be finite and > 0, found 0.0", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> m.coverage(0.7));
    assertTrue(e.getMessage().startsWith("centralProbability must be one of the tracked levels [0.5, 0.8, 0.9, 0.95,"
        + " 0.99], found 0.7"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> new RegressionMetrics(1.0));
    assertEquals("centralProbabilities[0] must be in (0, 1), found 1.0", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> m.add(new double[] {Double.NaN}, new double[] {1}, new double[] {0}, 1));
    assertEquals("row 0: mean and target must be finite, found mean=NaN target=0.0", e.getMessage());
  }
}
