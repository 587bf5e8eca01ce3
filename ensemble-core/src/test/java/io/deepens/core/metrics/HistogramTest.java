package io.deepens.core.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.deepens.core.InvalidInputException;
import org.junit.jupiter.api.Test;

class HistogramTest {
  @Test
  void countsEdgesAndClamping() {
    Histogram h = new Histogram(0, 2, 4);
    for (double v : new double[] {0, 0.49, 0.5, 1.2, 1.99, 2.0, -3, 7}) {
      h.add(v);
    }
    assertArrayEquals(new long[] {3, 1, 1, 3}, h.counts());
    assertArrayEquals(new double[] {0, 0.5, 1.0, 1.5, 2.0}, h.edges(), 1e-15);
    assertEquals(8, h.total());
  }

  @Test
  void mergeEqualsOnePass() {
    Histogram one = new Histogram(0, Math.log(10), 20);
    Histogram a = new Histogram(0, Math.log(10), 20);
    Histogram b = new Histogram(0, Math.log(10), 20);
    for (int i = 0; i < 1000; i++) {
      double v = (i * 0.618033988749895) % 2.4;
      one.add(v);
      (i % 2 == 0 ? a : b).add(v);
    }
    Histogram merged = GoldenJson.roundTrip(a).merge(b);
    assertArrayEquals(one.counts(), merged.counts());
    assertEquals(1000, merged.total());
  }

  @Test
  void badInput() {
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> new Histogram(0, Double.NaN, 3));
    assertEquals("min and max must be finite with min < max, found min=0.0 max=NaN", e.getMessage());
    Histogram h = new Histogram(0, 1, 3);
    e = assertThrows(InvalidInputException.class, () -> h.add(Double.NaN));
    assertEquals("value must not be NaN, found NaN", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> h.merge(new Histogram(0, 1, 4)));
    assertEquals("can only merge histograms with the same layout: this has [0.0, 1.0] in 3 bins, other has [0.0, 1.0]"
        + " in 4 bins", e.getMessage());
  }
}
