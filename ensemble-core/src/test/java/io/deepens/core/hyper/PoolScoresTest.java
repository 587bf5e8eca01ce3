package io.deepens.core.hyper;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.deepens.core.aggregate.MemberPredictions;
import org.junit.jupiter.api.Test;

/** A candidate's validation log-likelihoods, with Monte Carlo passes mixed, against hand-computed values. */
class PoolScoresTest {
  @Test
  void classificationMixesThePassesProbabilitiesBeforeTheLog() {
    // 2 rows, 3 classes, 2 passes; labels 2 and 0
    float[] out = {
        0.1f, 0.2f, 0.7f, 0.6f, 0.3f, 0.1f, // pass 0
        0.3f, 0.4f, 0.3f, 0.2f, 0.2f, 0.6f}; // pass 1
    MemberPredictions p = new MemberPredictions(0, out, 3, 2);
    float[] labels = {2, 0};
    double[] l = PoolScores.logLikelihoods(p, labels, true);
    assertEquals(Math.log((0.7 + 0.3) / 2), l[0], 1e-7);
    assertEquals(Math.log((0.6 + 0.2) / 2), l[1], 1e-7);
    assertEquals(-(Math.log(0.5) + Math.log(0.4)) / 2, PoolScores.nll(l), 1e-7);
    // mean probabilities: row 0 (0.2, 0.3, 0.5) -> class 2 right; row 1 (0.4, 0.25, 0.35) -> class 0 right
    assertEquals(1.0, PoolScores.accuracy(p, labels), 0.0);
  }

  @Test
  void regressionIsTheLogOfTheMeanGaussianDensityOverPasses() {
    // 1 row, (mean, variance) per pass, 2 passes
    float[] out = {1.0f, 0.5f, 2.0f, 2.0f};
    MemberPredictions p = new MemberPredictions(0, out, 2, 2);
    double y = 1.5;
    double d0 = Math.exp(-0.25 / (2 * 0.5)) / Math.sqrt(2 * Math.PI * 0.5);
    double d1 = Math.exp(-0.25 / (2 * 2.0)) / Math.sqrt(2 * Math.PI * 2.0);
    double[] l = PoolScores.logLikelihoods(p, new float[] {(float) y}, false);
    assertEquals(Math.log((d0 + d1) / 2), l[0], 1e-12);
  }
}
