package io.deepens.core.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RocTest {
  private static final JsonNode FIXTURE = GoldenJson.read(RocTest.class, "roc.json");

  @Test
  void matchesSklearnOnGoldenCases() {
    for (JsonNode c : FIXTURE.get("cases")) {
      String name = c.get("name").asText();
      double[] pos = GoldenJson.doubles(c.get("positive"));
      double[] neg = GoldenJson.doubles(c.get("negative"));
      assertEquals(c.get("auroc").doubleValue(), Roc.auroc(pos, neg), 1e-12, name + " auroc");
      assertEquals(c.get("averagePrecision").doubleValue(), Roc.averagePrecision(pos, neg), 1e-12, name + " AP");
      RocCurve curve = Roc.curve(pos, neg);
      assertArrayEquals(GoldenJson.doubles(c.get("fpr")), curve.fpr(), 1e-15, name + " fpr");
      assertArrayEquals(GoldenJson.doubles(c.get("tpr")), curve.tpr(), 1e-15, name + " tpr");
    }
  }

  @Test
  void tiesCountOneHalfByHand() {
    // pos 0.9 beats 3 negatives; each 0.5 beats 0.3 and 0.1 and ties 0.5 (2.5); 0.1 ties 0.1 (0.5): 8.5 / 12.
    assertEquals(8.5 / 12, Roc.auroc(new double[] {0.9, 0.5, 0.5, 0.1}, new double[] {0.5, 0.3, 0.1}), 1e-15);
    assertEquals(0.5, Roc.auroc(new double[] {1, 1}, new double[] {1}), 0.0, "all tied");
    assertEquals(1.0, Roc.auroc(new double[] {2}, new double[] {1}), 0.0);
    assertEquals(0.0, Roc.auroc(new double[] {1}, new double[] {2}), 0.0);
    assertEquals(0.5, Roc.auroc(new double[] {-0.0}, new double[] {0.0}), 0.0, "-0.0 ties 0.0");
    // AP by hand: thresholds 0.9 (P=1, R=1/2), 0.5 (tp 2, fp 1: P=2/3, R=1): AP = 1/2 + 1/2 * 2/3.
    assertEquals(0.5 + 1.0 / 3, Roc.averagePrecision(new double[] {0.9, 0.5}, new double[] {0.5, 0.1}), 1e-15);
  }

  @Test
  void trapezoidAreaUnderCurveEqualsAuroc() {
    SplittableRandom r = new SplittableRandom(7);
    double[] pos = new double[2000];
    double[] neg = new double[3000];
    for (int i = 0; i < pos.length; i++) {
      pos[i] = Math.floor(r.nextGaussian() * 4 + 2); // integer scores: many ties
    }
    for (int i = 0; i < neg.length; i++) {
      neg[i] = Math.floor(r.nextGaussian() * 4);
    }
    RocCurve c = Roc.curve(pos, neg);
    double area = 0;
    for (int i = 1; i < c.fpr().length; i++) {
      area += (c.fpr()[i] - c.fpr()[i - 1]) * (c.tpr()[i] + c.tpr()[i - 1]) / 2;
    }
    assertEquals(Roc.auroc(pos, neg), area, 1e-12);
    assertEquals(0.0, c.fpr()[0], 0.0);
    assertEquals(1.0, c.tpr()[c.tpr().length - 1], 0.0);
  }

  @Test
  void badInput() {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> Roc.auroc(new double[] {0.1, Double.NaN}, new double[] {0.2}));
    assertEquals("positiveScores[1] must not be NaN, found NaN", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> Roc.averagePrecision(new double[] {1}, new double[0]));
    assertEquals("negativeScores must hold at least one score, found none", e.getMessage());
  }
}
