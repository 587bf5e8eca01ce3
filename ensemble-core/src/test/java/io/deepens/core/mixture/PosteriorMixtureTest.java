package io.deepens.core.mixture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import io.deepens.core.metrics.GoldenJson;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PosteriorMixtureTest {

  @Test
  void interleavedGaussianOutputsMixAsTheirMeansAndVariances() {
    // two members of two MC passes each, three rows; component c holds (mean, variance) per row
    float[][] out = {
        {0.5f, 1.0f, -2f, 0.25f, 3f, 2f}, {0.7f, 0.5f, -1f, 0.5f, 2f, 1f},
        {1.5f, 2.0f, 0f, 1.0f, 4f, 0.5f}, {0.1f, 0.1f, 1f, 2.0f, 5f, 3f}};
    float[][] means = new float[4][3];
    float[][] vars = new float[4][3];
    for (int c = 0; c < 4; c++) {
      for (int i = 0; i < 3; i++) {
        means[c][i] = out[c][2 * i];
        vars[c][i] = out[c][2 * i + 1];
      }
    }
    PosteriorMixture mix = PosteriorMixture.of(new double[] {0.25, 0.75});
    RegressionUncertainty a = mix.regressInterleaved(out, 2, 3);
    RegressionUncertainty b = mix.regress(means, vars, 2, 3);
    assertArrayEquals(b.mean(), a.mean(), 0.0);
    assertArrayEquals(b.variance(), a.variance(), 0.0);
    assertArrayEquals(b.aleatoricVariance(), a.aleatoricVariance(), 0.0);
    // row 0 by hand: component weights 0.125, 0.125, 0.375, 0.375; mean 0.125·1.2 + 0.375·1.6 = 0.75
    assertEquals(0.75, a.mean()[0], 1e-6);
    assertThrows(InvalidInputException.class, () -> mix.regressInterleaved(new float[][] {
        {0f, 1f}, {0f, 1f}, {0f, 1f}, {0f, 1f}}, 2, 3));
  }
  private static final double LN2 = Math.log(2);

  @Test
  void weightsAreValidatedAndRenormalised() {
    PosteriorMixture u = PosteriorMixture.uniform(4);
    assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25}, u.weights(), 0.0);
    assertEquals(4.0, u.effectiveMembers(), 1e-15);
    assertEquals(1.0, u.temperature(), 0.0);
    PosteriorMixture p = PosteriorMixture.of(new double[] {0.5, 0.5000004});
    assertEquals(1.0, p.weights()[0] + p.weights()[1], 1e-15, "renormalised to sum 1");
    assertEquals(1.0, PosteriorMixture.of(new double[] {0, 1, 0}).effectiveMembers(), 0.0);
    assertEquals(2.0, PosteriorMixture.of(new double[] {0.5, 0.5}).withTemperature(2).temperature(), 0.0);
    assertEquals(p, GoldenJson.roundTrip(p), "serializable: shipped to executors");
  }

  @Test
  void badWeightsAndTemperatureAreRejectedWithTheValue() {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> PosteriorMixture.of(new double[] {0.5, 0.43}));
    assertEquals("weights must sum to 1 within 1.0E-6, found 0.9299999999999999 (weights=[0.5, 0.43])",
        e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> PosteriorMixture.of(new double[] {1.5, -0.5}));
    assertEquals("weights[1] must be finite and >= 0, found -0.5 (weights=[1.5, -0.5])", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> PosteriorMixture.of(new double[] {Double.NaN, 1}));
    assertEquals("weights[0] must be finite and >= 0, found NaN (weights=[NaN, 1.0])", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> PosteriorMixture.uniform(0));
    assertEquals("members must be >= 1, found 0", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> PosteriorMixture.uniform(2).withTemperature(0));
    assertEquals("temperature must be finite and > 0, found 0.0", e.getMessage());
    assertThrows(InvalidInputException.class,
        () -> PosteriorMixture.uniform(2).withTemperature(Double.POSITIVE_INFINITY));
  }

  @Test
  void twoConfidentMembersThatDisagreeByHand() {
    // member 0 says class 0 with certainty, member 1 class 1: mixture (½, ½), H = log 2, members' H = 0, MI = log 2.
    ClassificationUncertainty u = PosteriorMixture.uniform(2)
        .classify(new float[][] {{1, 0, 0, 1}, {0, 1, 0, 1}}, 2, 2);
    assertArrayEquals(new double[] {0.5, 0.5, 0, 1}, u.probability(), 0.0);
    assertArrayEquals(new double[] {LN2, 0}, u.predictiveEntropy(), 1e-15);
    assertArrayEquals(new double[] {0, 0}, u.expectedEntropy(), 0.0, "0 log 0 = 0, 1 log 1 = 0: no NaN");
    assertArrayEquals(new double[] {LN2, 0}, u.mutualInformation(), 1e-15);
    assertArrayEquals(new int[] {0, 1}, u.prediction(), "tie -> lowest index");
    assertArrayEquals(new double[] {0.5, 1}, u.maxProbability(), 0.0);
    assertArrayEquals(new double[] {0.25, 0}, u.predictedClassVariance(), 1e-15);
  }

  @Test
  void weightedMixtureByHand() {
    // w = (0.25, 0.75); member 0 = (0.5, 0.5), member 1 = (1, 0): mixture (0.875, 0.125).
    ClassificationUncertainty u = PosteriorMixture.of(new double[] {0.25, 0.75})
        .classify(new float[][] {{0.5f, 0.5f}, {1, 0}}, 1, 2);
    double h = -(0.875 * Math.log(0.875) + 0.125 * Math.log(0.125));
    assertArrayEquals(new double[] {0.875, 0.125}, u.probability(), 1e-15);
    assertEquals(h, u.predictiveEntropy()[0], 1e-15);
    assertEquals(0.25 * LN2, u.expectedEntropy()[0], 1e-15);
    assertEquals(h - 0.25 * LN2, u.mutualInformation()[0], 1e-15);
    // variance of p(class 0): 0.25 (0.5 - 0.875)² + 0.75 (1 - 0.875)²
    assertEquals(0.25 * 0.140625 + 0.75 * 0.015625, u.predictedClassVariance()[0], 1e-15);
  }

  @Test
  void singleMemberHasZeroMutualInformation() {
    float[][] p = randomMembers(1, 200, 6, 3);
    ClassificationUncertainty u = PosteriorMixture.uniform(1).classify(p, 200, 6);
    for (int r = 0; r < 200; r++) {
      assertEquals(0.0, u.mutualInformation()[r], 0.0, "one member: H[p] - H[p] exactly");
      assertEquals(0.0, u.predictedClassVariance()[r], 0.0);
      assertEquals(u.expectedEntropy()[r], u.predictiveEntropy()[r], 0.0);
    }
  }

  @Test
  void identicalMembersMatchOneMemberAndHaveZeroMutualInformation() {
    float[][] one = randomMembers(1, 300, 4, 9);
    float[][] three = {one[0], one[0], one[0]};
    ClassificationUncertainty u1 = PosteriorMixture.uniform(1).classify(one, 300, 4);
    ClassificationUncertainty u3 = PosteriorMixture.of(new double[] {0.2, 0.3, 0.5}).withTemperature(1.7)
        .classify(three, 300, 4);
    ClassificationUncertainty u1t = PosteriorMixture.uniform(1).withTemperature(1.7).classify(one, 300, 4);
    assertArrayEquals(u1t.probability(), u3.probability(), 1e-15);
    assertArrayEquals(u1t.predictiveEntropy(), u3.predictiveEntropy(), 1e-14);
    for (int r = 0; r < 300; r++) {
      assertEquals(0.0, u3.mutualInformation()[r], 1e-14, "identical members: MI = 0 up to rounding");
      assertTrue(u3.mutualInformation()[r] >= 0, "clamped at 0");
      assertEquals(0.0, u3.predictedClassVariance()[r], 1e-30);
    }
    // M = 1 vs M = 3 at T = 1: same predictions and entropies.
    ClassificationUncertainty u3plain = PosteriorMixture.uniform(3).classify(three, 300, 4);
    assertArrayEquals(u1.prediction(), u3plain.prediction());
    assertArrayEquals(u1.expectedEntropy(), u3plain.expectedEntropy(), 1e-14);
  }

  @Test
  void temperatureByHandAndOnExactZeros() {
    // (0.8, 0.2)^(1/2) ∝ (2, 1) since sqrt(0.8/0.2) = 2; (0.8, 0.2)^2 ∝ (16, 1).
    float[][] p = {{0.8f, 0.2f}};
    double r = Math.sqrt((double) 0.8f / 0.2f);
    assertArrayEquals(new double[] {r / (r + 1), 1 / (r + 1)},
        PosteriorMixture.uniform(1).withTemperature(2).classify(p, 1, 2).probability(), 1e-15);
    double s = ((double) 0.8f / 0.2f) * ((double) 0.8f / 0.2f);
    assertArrayEquals(new double[] {s / (s + 1), 1 / (s + 1)},
        PosteriorMixture.uniform(1).withTemperature(0.5).classify(p, 1, 2).probability(), 1e-15);
    for (double t : new double[] {0.05, 0.3, 1, 3, 20}) {
      ClassificationUncertainty u = PosteriorMixture.uniform(2).withTemperature(t)
          .classify(new float[][] {{0, 1, 0}, {0, 0, 1}}, 1, 3);
      assertArrayEquals(new double[] {0, 0.5, 0.5}, u.probability(), 0.0, "T = " + t + ": zeros stay zero");
      assertEquals(LN2, u.predictiveEntropy()[0], 1e-15);
      assertEquals(0.0, u.expectedEntropy()[0], 0.0);
      assertEquals(LN2, u.mutualInformation()[0], 1e-15);
    }
  }

  @Test
  void matchesNumpyOnGoldenCases() {
    JsonNode fixture = GoldenJson.read(PosteriorMixtureTest.class, "classify.json");
    for (JsonNode c : fixture.get("cases")) {
      String name = c.get("name").asText();
      int rows = c.get("rows").intValue();
      int classes = c.get("classes").intValue();
      int samples = c.get("samplesPerMember").intValue();
      PosteriorMixture mix = PosteriorMixture.of(GoldenJson.doubles(c.get("weights")))
          .withTemperature(c.get("temperature").doubleValue());
      float[][] probs = GoldenJson.floatMatrix(c.get("probs"));
      ClassificationUncertainty u = samples == 1 ? mix.classify(probs, rows, classes)
          : mix.classify(probs, samples, rows, classes);
      // Java mixes in log space, numpy with pow: both in float64 from the same float32 inputs.
      double tol = 1e-12;
      assertEquals(rows, u.rows());
      assertEquals(classes, u.classes());
      assertArrayEquals(GoldenJson.doubles(c.get("probability")), u.probability(), tol, name + " probability");
      assertArrayEquals(GoldenJson.ints(c.get("prediction")), u.prediction(), name + " prediction");
      assertArrayEquals(GoldenJson.doubles(c.get("maxProbability")), u.maxProbability(), tol, name);
      assertArrayEquals(GoldenJson.doubles(c.get("predictiveEntropy")), u.predictiveEntropy(), tol, name + " H");
      assertArrayEquals(GoldenJson.doubles(c.get("expectedEntropy")), u.expectedEntropy(), tol, name + " EH");
      assertArrayEquals(GoldenJson.doubles(c.get("mutualInformation")), u.mutualInformation(), tol, name + " MI");
      assertArrayEquals(GoldenJson.doubles(c.get("predictedClassVariance")), u.predictedClassVariance(), tol, name);
    }
  }

  @Test
  void mcDropoutWithOneSampleEqualsMemberPath() {
    float[][] p = randomMembers(3, 50, 5, 21);
    PosteriorMixture mix = PosteriorMixture.of(new double[] {0.5, 0.25, 0.25}).withTemperature(0.8);
    ClassificationUncertainty a = mix.classify(p, 50, 5);
    ClassificationUncertainty b = mix.classify(p, 1, 50, 5);
    assertArrayEquals(a.probability(), b.probability(), 0.0);
    assertArrayEquals(a.mutualInformation(), b.mutualInformation(), 0.0);
  }

  @Test
  void zeroRowsGiveEmptyResults() {
    ClassificationUncertainty u = PosteriorMixture.uniform(2).classify(new float[][] {{}, {}}, 0, 3);
    assertEquals(0, u.probability().length);
    assertEquals(0, PosteriorMixture.uniform(2).regress(new float[][] {{}, {}}, new float[][] {{}, {}}, 0).rows());
  }

  @Test
  void badProbabilitiesNameMemberRowClassAndValue() {
    PosteriorMixture mix = PosteriorMixture.uniform(2);
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> mix.classify(new float[][] {{1, 0, 0.5f, 0.5f}, {1, 0, -0.5f, 1.5f}}, 2, 2));
    assertEquals("memberProbs[1] row 1 class 0: probability must be finite and >= 0, found -0.5", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> mix.classify(new float[][] {{Float.NaN, 1}, {1, 0}}, 1, 2));
    assertEquals("memberProbs[0] row 0 class 0: probability must be finite and >= 0, found NaN", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> mix.classify(new float[][] {{1, 0}, {0.5f, 0.25f}}, 1, 2));
    assertEquals("memberProbs[1] row 0: probabilities must sum to 1 within 0.001, found 0.75", e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> mix.classify(new float[][] {{1, 0}}, 1, 2));
    assertEquals("memberProbs must hold members*samplesPerMember = 2*1 = 2 arrays (one per member), found 1",
        e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> mix.classify(new float[][] {{1, 0}, {1, 0, 0}}, 1, 2));
    assertEquals("memberProbs[1] must hold rows*classes = 1*2 = 2 probabilities, found length 3", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> mix.classify(new float[][] {{1, 0}, {1, 0}, {1, 0}, {1, 0.5f}}, 2, 1, 2));
    assertEquals("componentProbs[3] (member 1, sample 1) row 0: probabilities must sum to 1 within 0.001, found 1.5",
        e.getMessage());
  }

  @Test
  void regressionByHandAndAgainstNumpy() {
    // means (1, 3), variances (1, 2), uniform: mean 2, aleatoric 1.5, epistemic 1, total 2.5.
    RegressionUncertainty u = PosteriorMixture.uniform(2)
        .regress(new float[][] {{1}, {3}}, new float[][] {{1}, {2}}, 1);
    assertEquals(2.0, u.mean()[0], 0.0);
    assertEquals(1.5, u.aleatoricVariance()[0], 0.0);
    assertEquals(1.0, u.epistemicVariance()[0], 0.0);
    assertEquals(2.5, u.variance()[0], 0.0);

    JsonNode f = GoldenJson.read(PosteriorMixtureTest.class, "regress.json");
    int rows = f.get("rows").intValue();
    RegressionUncertainty g = PosteriorMixture.of(GoldenJson.doubles(f.get("weights")))
        .regress(GoldenJson.floatMatrix(f.get("means")), GoldenJson.floatMatrix(f.get("variances")), rows);
    // numpy's total variance comes from E[σ² + μ²] - μ̄² (values ~10): cancellation costs ~1e-14.
    assertArrayEquals(GoldenJson.doubles(f.get("mean")), g.mean(), 1e-13);
    assertArrayEquals(GoldenJson.doubles(f.get("aleatoricVariance")), g.aleatoricVariance(), 1e-13);
    assertArrayEquals(GoldenJson.doubles(f.get("epistemicVariance")), g.epistemicVariance(), 1e-13);
    assertArrayEquals(GoldenJson.doubles(f.get("variance")), g.variance(), 1e-12);
  }

  @Test
  void regressionMcDropoutWeightsComponentsByWOverS() {
    // members w = (0.5, 0.5), S = 2: components (0, 2 | 4, 4) with weight 1/4 each: mean 2.5, epistemic 2.75.
    RegressionUncertainty u = PosteriorMixture.uniform(2).regress(new float[][] {{0}, {2}, {4}, {4}},
        new float[][] {{1}, {1}, {2}, {2}}, 2, 1);
    assertEquals(2.5, u.mean()[0], 0.0);
    assertEquals(1.5, u.aleatoricVariance()[0], 0.0);
    assertEquals((6.25 + 0.25 + 2.25 + 2.25) / 4, u.epistemicVariance()[0], 1e-15);
  }

  @Test
  void badRegressionInput() {
    PosteriorMixture mix = PosteriorMixture.uniform(2);
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> mix.regress(new float[][] {{1, 2}, {1, 2}}, new float[][] {{1, 1}, {1, 0}}, 2));
    assertEquals("memberVariances[1] row 1: variance must be finite and > 0, found 0.0", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> mix.regress(new float[][] {{Float.POSITIVE_INFINITY}, {1}}, new float[][] {{1}, {1}}, 1));
    assertEquals("memberMeans[0] row 0: mean must be finite, found Infinity", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> mix.regress(new float[][] {{1}, {1}}, new float[][] {{1}, {1, 2}}, 1));
    assertEquals("memberVariances[1] must hold rows = 1 values, found length 2", e.getMessage());
  }

  /** Random float softmax rows, with every 7th row one-hot (exact 0 and 1). */
  static float[][] randomMembers(int members, int rows, int classes, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[][] out = new float[members][rows * classes];
    double[] z = new double[classes];
    for (int m = 0; m < members; m++) {
      for (int i = 0; i < rows; i++) {
        if (i % 7 == 0) {
          out[m][i * classes + r.nextInt(classes)] = 1;
          continue;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < classes; k++) {
          z[k] = r.nextGaussian() * 3;
          max = Math.max(max, z[k]);
        }
        double s = 0;
        for (int k = 0; k < classes; k++) {
          z[k] = Math.exp(z[k] - max);
          s += z[k];
        }
        for (int k = 0; k < classes; k++) {
          out[m][i * classes + k] = (float) (z[k] / s);
        }
      }
    }
    return out;
  }
}
