package io.deepens.core.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ClassificationMetricsTest {
  private static final JsonNode FIXTURE = GoldenJson.read(ClassificationMetricsTest.class, "classification.json");

  /** Tolerance against sklearn's log_loss, which clips to [1e-12, 1 - 1e-12] and renormalises: O(1e-11) per row. */
  private static final double NLL_TOL = 1e-9;
  /** Same sums in a different order. */
  private static final double SUM_TOL = 1e-12;

  @Test
  void matchesSklearnOnGoldenCases() {
    for (JsonNode c : FIXTURE.get("cases")) {
      String name = c.get("name").asText();
      ClassificationMetrics m = new ClassificationMetrics(c.get("classes").intValue(), c.get("bins").intValue());
      m.add(GoldenJson.doubles(c.get("probs")), GoldenJson.ints(c.get("labels")), c.get("rows").intValue());
      assertGolden(c, m, name);
    }
  }

  private static void assertGolden(JsonNode c, ClassificationMetrics m, String name) {
    assertEquals(c.get("rows").longValue(), m.count(), name);
    assertEquals(c.get("accuracy").doubleValue(), m.accuracy(), 1e-15, name + " accuracy");
    assertEquals(c.get("nll").doubleValue(), m.nll(), NLL_TOL, name + " nll");
    assertEquals(c.get("brier").doubleValue(), m.brier(), SUM_TOL, name + " brier");
    assertEquals(c.get("ece").doubleValue(), m.ece(), SUM_TOL, name + " ece");
    ReliabilityDiagram r = m.reliability();
    assertArrayEquals(GoldenJson.longs(c.get("binCount")), r.count(), name + " bin counts");
    assertArrayEquals(GoldenJson.doubles(c.get("binMeanConfidence")), r.meanConfidence(), SUM_TOL, name + " conf");
    assertArrayEquals(GoldenJson.doubles(c.get("binAccuracy")), r.accuracy(), SUM_TOL, name + " acc");
    int bins = c.get("bins").intValue();
    assertEquals(0.0, r.binLower()[0], 0.0);
    assertEquals(1.0, r.binUpper()[bins - 1], 0.0);
  }

  @Test
  void handComputedSmallCaseWithExactZerosAndOnes() {
    // Row 0: p = (1, 0), label 0: nll 0, brier 0. Row 1: p = (1, 0), label 1: nll -log(1e-12), brier 2.
    ClassificationMetrics m = new ClassificationMetrics(2, 2);
    m.add(new double[] {1, 0, 1, 0}, new int[] {0, 1}, 2);
    assertEquals(0.5, m.accuracy(), 0.0);
    assertEquals(-Math.log(1e-12) / 2, m.nll(), 1e-12);
    assertEquals(1.0, m.brier(), 1e-15);
    // Both rows have confidence 1 (last bin, accuracy 1/2): ece = |0.5 - 1| = 0.5.
    assertEquals(0.5, m.ece(), 1e-15);
    assertArrayEquals(new long[] {0, 2}, m.reliability().count());
    assertTrue(Double.isNaN(m.reliability().accuracy()[0]), "empty bin accuracy is NaN");
  }

  @Test
  void binsAreOpenBelowAndClosedAboveAsInGuo2017() {
    // Confidence exactly 0.5 with 2 bins lies in (0, 0.5], the first bin; 0.75 and 1.0 lie in (0.5, 1].
    ClassificationMetrics m = new ClassificationMetrics(2, 2);
    m.add(new double[] {0.5, 0.5, 0.75, 0.25, 0, 1}, new int[] {1, 0, 1}, 3);
    assertArrayEquals(new long[] {1, 2}, m.reliability().count());
    assertArrayEquals(new double[] {0.5, 0.875}, m.reliability().meanConfidence(), 1e-15);
    assertArrayEquals(new double[] {0, 1}, m.reliability().accuracy(), 0.0);
    // ece = 1/3 |0 - 0.5| + 2/3 |1 - 0.875|
    assertEquals(0.5 / 3 + 0.25 / 3, m.ece(), 1e-15);
  }

  @Test
  void mergeOfPartialsEqualsOnePass() {
    JsonNode c = FIXTURE.get("cases").get(1);
    int k = c.get("classes").intValue();
    int rows = c.get("rows").intValue();
    double[] probs = GoldenJson.doubles(c.get("probs"));
    int[] labels = GoldenJson.ints(c.get("labels"));
    ClassificationMetrics one = new ClassificationMetrics(k);
    one.add(probs, labels, rows);

    int[] cuts = {0, 0, 17, 250, 251, rows};
    ClassificationMetrics merged = new ClassificationMetrics(k);
    for (int p = 0; p + 1 < cuts.length; p++) {
      ClassificationMetrics part = new ClassificationMetrics(k);
      int n = cuts[p + 1] - cuts[p];
      part.add(Arrays.copyOfRange(probs, cuts[p] * k, cuts[p + 1] * k),
          Arrays.copyOfRange(labels, cuts[p], cuts[p + 1]), n);
      merged = merged.merge(GoldenJson.roundTrip(part));
    }
    assertEquals(one.count(), merged.count());
    assertEquals(one.accuracy(), merged.accuracy(), 0.0);
    assertEquals(one.nll(), merged.nll(), 1e-12);
    assertEquals(one.brier(), merged.brier(), 1e-12);
    assertEquals(one.ece(), merged.ece(), 1e-12);
    assertArrayEquals(one.reliability().count(), merged.reliability().count());
    assertArrayEquals(one.reliability().meanConfidence(), merged.reliability().meanConfidence(), 1e-12);
  }

  @Test
  void floatAndRowPathsAgreeWithDoublePath() {
    JsonNode c = FIXTURE.get("cases").get(1);
    int k = c.get("classes").intValue();
    int rows = c.get("rows").intValue();
    double[] probs = GoldenJson.doubles(c.get("probs"));
    float[] fprobs = new float[probs.length];
    double[] widened = new double[probs.length];
    for (int i = 0; i < probs.length; i++) {
      fprobs[i] = (float) probs[i];
      widened[i] = fprobs[i];
    }
    int[] labels = GoldenJson.ints(c.get("labels"));
    ClassificationMetrics viaFloat = new ClassificationMetrics(k);
    viaFloat.add(fprobs, labels, rows);
    ClassificationMetrics viaRows = new ClassificationMetrics(k);
    for (int r = 0; r < rows; r++) {
      viaRows.addRow(widened, r * k, labels[r]);
    }
    assertEquals(viaRows.nll(), viaFloat.nll(), 0.0, "same double values, same order");
    assertEquals(viaRows.brier(), viaFloat.brier(), 0.0);
    assertEquals(viaRows.ece(), viaFloat.ece(), 0.0);
    // float rounding moves the metrics by ~1e-7 at most
    ClassificationMetrics exact = new ClassificationMetrics(k);
    exact.add(probs, labels, rows);
    assertEquals(exact.brier(), viaFloat.brier(), 1e-6);
  }

  @Test
  void emptyAccumulatorGivesNaN() {
    ClassificationMetrics m = new ClassificationMetrics(3);
    assertEquals(0, m.count());
    assertTrue(Double.isNaN(m.accuracy()) && Double.isNaN(m.nll()) && Double.isNaN(m.brier())
        && Double.isNaN(m.ece()));
  }

  @Test
  void badInputMessagesNameRowValueAndRule() {
    ClassificationMetrics m = new ClassificationMetrics(3);
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> m.add(new double[] {1, 0, 0, 0, 1, 0}, new int[] {0, 3}, 2));
    assertEquals("label row 1 must be in 0..2, found 3", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> m.add(new double[] {1, 0, 0, 0.5, -0.25, 0.75}, new int[] {0, 1}, 2));
    assertEquals("probs row 1 class 1: probability must be finite and >= 0, found -0.25", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> m.add(new double[] {0.5, 0.125, 0.125}, new int[] {0}, 1));
    assertTrue(e.getMessage().equals("probs row 0: probabilities must sum to 1 within 0.001, found 0.75"),
        e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> m.add(new double[] {1, 0}, new int[] {0}, 1));
    assertEquals("probs must hold rows*classes = 1*3 values, found length 2", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> m.merge(new ClassificationMetrics(4)));
    assertTrue(e.getMessage().contains("same classes and bins"), e.getMessage());
    assertEquals(0, m.count(), "a rejected batch leaves the accumulator unchanged");
  }
}
