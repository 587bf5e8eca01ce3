package io.deepens.core.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BinnedRocTest {

  private static BinnedRoc binned(double min, double max, int bins, double[] pos, double[] neg) {
    BinnedRoc b = new BinnedRoc(min, max, bins);
    for (double s : pos) {
      b.addPositive(s);
    }
    for (double s : neg) {
      b.addNegative(s);
    }
    return b;
  }

  @Test
  void withinItsStatedBoundOfTheExactAuroc() {
    SplittableRandom r = new SplittableRandom(11);
    double[] pos = new double[3000];
    double[] neg = new double[4000];
    for (int i = 0; i < pos.length; i++) {
      pos[i] = r.nextGaussian() + 0.8;
    }
    for (int i = 0; i < neg.length; i++) {
      neg[i] = r.nextGaussian();
    }
    double exact = Roc.auroc(pos, neg);
    double previousBound = Double.POSITIVE_INFINITY;
    for (int bins : new int[] {1, 2, 7, 50, 1000, 100_000}) {
      BinnedRoc b = binned(-3, 4, bins, pos, neg); // a few scores fall outside: clamped to the end bins
      double err = Math.abs(b.auroc() - exact);
      assertTrue(err <= b.maxError() + 1e-15, bins + " bins: error " + err + " > bound " + b.maxError());
      assertTrue(b.maxError() <= previousBound + 1e-15, "finer bins never loosen the bound here");
      previousBound = b.maxError();
    }
    assertTrue(previousBound < 1e-3, "100k bins over [-3, 4] share few pairs: bound " + previousBound);
  }

  @Test
  void boundIsAttainedWhenWithinBinOrderIsAllOneWay() {
    BinnedRoc b = binned(0, 1, 1, new double[] {0.9}, new double[] {0.1});
    assertEquals(0.5, b.auroc(), 0.0);
    assertEquals(0.5, b.maxError(), 0.0);
    assertEquals(1.0, Roc.auroc(new double[] {0.9}, new double[] {0.1}), 0.0);
  }

  @Test
  void exactWhenEveryDistinctScoreHasItsOwnBin() {
    JsonNode c = GoldenJson.read(BinnedRocTest.class, "roc.json").get("cases").get(1); // integer scores 0..8
    double[] pos = GoldenJson.doubles(c.get("positive"));
    double[] neg = GoldenJson.doubles(c.get("negative"));
    BinnedRoc b = binned(-0.5, 8.5, 9, pos, neg); // bin k = [k - 0.5, k + 0.5)
    assertEquals(c.get("auroc").doubleValue(), b.auroc(), 1e-12);
    assertEquals(c.get("averagePrecision").doubleValue(), b.averagePrecision(), 1e-12);
    assertArrayEquals(GoldenJson.doubles(c.get("fpr")), b.curve().fpr(), 1e-15);
    assertArrayEquals(GoldenJson.doubles(c.get("tpr")), b.curve().tpr(), 1e-15);
    assertEquals(pos.length, b.positives());
    assertEquals(neg.length, b.negatives());
  }

  @Test
  void mergeEqualsOnePass() {
    SplittableRandom r = new SplittableRandom(5);
    BinnedRoc one = new BinnedRoc(0, 1, 64);
    BinnedRoc a = new BinnedRoc(0, 1, 64);
    BinnedRoc b = new BinnedRoc(0, 1, 64);
    for (int i = 0; i < 5000; i++) {
      double s = r.nextDouble();
      boolean positive = r.nextDouble() < s;
      BinnedRoc part = i % 3 == 0 ? a : b;
      if (positive) {
        one.addPositive(s);
        part.addPositive(s);
      } else {
        one.addNegative(s);
        part.addNegative(s);
      }
    }
    BinnedRoc merged = GoldenJson.roundTrip(a).merge(GoldenJson.roundTrip(b));
    assertEquals(one.auroc(), merged.auroc(), 0.0, "integer counts: identical");
    assertEquals(one.maxError(), merged.maxError(), 0.0);
    assertEquals(one.averagePrecision(), merged.averagePrecision(), 0.0);
    assertEquals(one.positives() + one.negatives(), 5000);
  }

  @Test
  void badInput() {
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> new BinnedRoc(1, 1, 10));
    assertEquals("min and max must be finite with min < max, found min=1.0 max=1.0", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> new BinnedRoc(0, 1, 0));
    assertEquals("bins must be >= 1, found 0", e.getMessage());
    BinnedRoc b = new BinnedRoc(0, 1, 10);
    e = assertThrows(InvalidInputException.class, () -> b.addNegative(Double.NaN));
    assertEquals("negative score must not be NaN, found NaN", e.getMessage());
    e = assertThrows(InvalidInputException.class, b::auroc);
    assertEquals("ROC needs at least one positive and one negative score, found positives=0 negatives=0",
        e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> b.merge(new BinnedRoc(0, 2, 10)));
    assertTrue(e.getMessage().contains("same layout"), e.getMessage());
  }
}
