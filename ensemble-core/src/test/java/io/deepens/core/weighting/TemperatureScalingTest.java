package io.deepens.core.weighting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import io.deepens.core.metrics.ClassificationMetrics;
import io.deepens.core.metrics.GoldenJson;
import io.deepens.core.mixture.PosteriorMixture;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TemperatureScalingTest {

  /** Logits z ~ N(0, 2²); labels ~ softmax(z); members see softmax(z · t0), i.e. they are mis-scaled by t0. */
  private static final class Synthetic {
    final int rows;
    final int classes;
    final float[] probs;
    final int[] labels;

    Synthetic(int rows, int classes, double t0, long seed) {
      this.rows = rows;
      this.classes = classes;
      this.probs = new float[rows * classes];
      this.labels = new int[rows];
      SplittableRandom r = new SplittableRandom(seed);
      double[] z = new double[classes];
      for (int i = 0; i < rows; i++) {
        for (int k = 0; k < classes; k++) {
          z[k] = 2 * r.nextGaussian();
        }
        double[] truth = softmax(z, 1);
        double u = r.nextDouble();
        int y = classes - 1;
        for (int k = 0; k < classes; k++) {
          u -= truth[k];
          if (u < 0) {
            y = k;
            break;
          }
        }
        labels[i] = y;
        double[] seen = softmax(z, t0);
        for (int k = 0; k < classes; k++) {
          probs[i * classes + k] = (float) seen[k];
        }
      }
    }

    static double[] softmax(double[] z, double scale) {
      double max = Double.NEGATIVE_INFINITY;
      for (double v : z) {
        max = Math.max(max, v * scale);
      }
      double[] p = new double[z.length];
      double s = 0;
      for (int k = 0; k < z.length; k++) {
        p[k] = Math.exp(z[k] * scale - max);
        s += p[k];
      }
      for (int k = 0; k < z.length; k++) {
        p[k] /= s;
      }
      return p;
    }
  }

  @Test
  void recoversTheMiscalibrationFactor() {
    // Members output softmax(z · T0); tempering by T gives softmax(z · T0 / T), which is the truth at T = T0.
    for (double t0 : new double[] {2.5, 0.5}) {
      Synthetic s = new Synthetic(20_000, 5, t0, 17);
      double t = TemperatureScaling.fit(new float[][] {s.probs}, new double[] {1}, s.labels, s.rows, s.classes);
      // Sampling error of the fitted T at n = 20000 is about 1%; allow 5%.
      assertEquals(t0, t, 0.05 * t0, "over-confident (T0 > 1) and under-confident (T0 < 1) members");
      double best = TemperatureScaling.nll(new float[][] {s.probs}, new double[] {1}, s.labels, s.rows, s.classes, t);
      for (double other : new double[] {t * 0.97, t * 1.03, 1.0}) {
        assertTrue(best <= TemperatureScaling.nll(new float[][] {s.probs}, new double[] {1}, s.labels, s.rows,
            s.classes, other) + 1e-12, "fitted T minimises NLL against T = " + other);
      }
    }
  }

  @Test
  void identicalMembersFitTheSameTemperatureAsOne() {
    Synthetic s = new Synthetic(4000, 4, 1.8, 23);
    double one = TemperatureScaling.fit(new float[][] {s.probs}, new double[] {1}, s.labels, s.rows, s.classes);
    double two = TemperatureScaling.fit(new float[][] {s.probs, s.probs}, new double[] {0.3, 0.7}, s.labels, s.rows,
        s.classes);
    assertEquals(one, two, 1e-6 * one, "golden section stops at |Δ log T| < 1e-7");
  }

  @Test
  void objectiveEqualsMetricsNllOfTheTemperedMixture() {
    JsonNode f = GoldenJson.read(TemperatureScalingTest.class, "weighting.json").get("temperature");
    float[][] probs = GoldenJson.floatMatrix(f.get("probs"));
    double[] w = GoldenJson.doubles(f.get("weights"));
    int[] labels = GoldenJson.ints(f.get("labels"));
    int rows = f.get("rows").intValue();
    int classes = f.get("classes").intValue();
    for (double t : new double[] {0.3, 1, 1.37, 4}) {
      ClassificationMetrics m = new ClassificationMetrics(classes);
      m.add(PosteriorMixture.of(w).withTemperature(t).classify(probs, rows, classes).probability(), labels, rows);
      assertEquals(m.nll(), TemperatureScaling.nll(probs, w, labels, rows, classes, t), 1e-12, "T = " + t);
    }
  }

  @Test
  void matchesScipyOnTheGoldenMixture() {
    JsonNode f = GoldenJson.read(TemperatureScalingTest.class, "weighting.json").get("temperature");
    float[][] probs = GoldenJson.floatMatrix(f.get("probs"));
    double[] w = GoldenJson.doubles(f.get("weights"));
    int[] labels = GoldenJson.ints(f.get("labels"));
    int rows = f.get("rows").intValue();
    int classes = f.get("classes").intValue();
    double t = TemperatureScaling.fit(probs, w, labels, rows, classes);
    double expected = f.get("temperature").doubleValue();
    assertEquals(expected, t, 1e-5 * expected);
    assertEquals(f.get("nll").doubleValue(), TemperatureScaling.nll(probs, w, labels, rows, classes, t), 1e-10);
    assertEquals(f.get("nllAtT1").doubleValue(), TemperatureScaling.nll(probs, w, labels, rows, classes, 1), 1e-12);
  }

  @Test
  void stopsAtTheEndsOfTheRange() {
    // Every prediction correct and confident: NLL keeps falling as T shrinks, so the fit returns the lower end.
    float[] p = {0.9f, 0.1f, 0.2f, 0.8f};
    double t = TemperatureScaling.fit(new float[][] {p}, new double[] {1}, new int[] {0, 1}, 2, 2);
    assertEquals(TemperatureScaling.MIN_TEMPERATURE, t, 1e-6);
    // Every prediction confidently wrong: NLL falls as T grows, so the fit returns the upper end.
    t = TemperatureScaling.fit(new float[][] {p}, new double[] {1}, new int[] {1, 0}, 2, 2);
    assertEquals(TemperatureScaling.MAX_TEMPERATURE, t, 1e-4);
  }

  @Test
  void zeroProbabilityOnTheTruthStaysFinite() {
    // Row 0: the only member gives the truth probability 0 at every T (0^(1/T) = 0): its loss is the 1e-12 floor.
    float[] p = {0, 1, 0.7f, 0.3f};
    double nll = TemperatureScaling.nll(new float[][] {p}, new double[] {1}, new int[] {0, 0}, 2, 2, 1);
    assertEquals((-Math.log(1e-12) - Math.log(0.7f)) / 2, nll, 1e-7);
    double t = TemperatureScaling.fit(new float[][] {p}, new double[] {1}, new int[] {0, 0}, 2, 2);
    assertTrue(t >= TemperatureScaling.MIN_TEMPERATURE && t <= TemperatureScaling.MAX_TEMPERATURE, "T = " + t);
  }

  @Test
  void badInput() {
    float[][] p = {{0.5f, 0.5f}};
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> TemperatureScaling.fit(p, new double[] {0.9}, new int[] {0}, 1, 2));
    assertEquals("weights must sum to 1 within 1.0E-6, found 0.9 (weights=[0.9])", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> TemperatureScaling.fit(p, new double[] {1}, new int[] {2}, 1,
        2));
    assertEquals("labels[0] must be in 0..1, found 2", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> TemperatureScaling.fit(new float[][] {{0.5f, 0.6f}}, new double[] {1}, new int[] {0}, 1, 2));
    assertTrue(e.getMessage().startsWith("memberProbs[0] row 0: probabilities must sum to 1 within 0.001, found 1.1"),
        e.getMessage());
  }
}
