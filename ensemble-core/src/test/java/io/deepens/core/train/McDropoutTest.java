package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.network.MemberNetwork;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import org.junit.jupiter.api.Test;

class McDropoutTest {
  /** A briefly trained network, so that batch-norm running statistics differ from batch statistics. */
  private static MemberNetwork trained(String network) {
    EnsembleSpec s = SpecLoader.parse(Digits.yaml(network, "  batchSize: 32\n  epochs: 1\n"), "t");
    return MemberTrainer.train(s, 0, Digits.part(false, 200), null, null, null).network();
  }

  private static final int ROWS = 16;

  private static float[] x() {
    return MemberModelsTest.rows(Digits.part(true, ROWS), ROWS);
  }

  @Test
  void withoutDropoutEverySampleIsTheInferenceOutput() {
    // Batch norm must use its running statistics: then each pass equals predict(), up to float rounding of the
    // layer-by-layer path (tolerance 1e-6 on probabilities).
    for (String network : new String[] {"  type: mlp\n  hidden: [16]\n  batchNorm: true\n",
        "  type: cnn\n  conv: [{filters: 4, kernel: 3, pool: 2}]\n  hidden: [16]\n  batchNorm: true\n"}) {
      MemberNetwork net = trained(network);
      float[] expected = MemberModels.predict(net, x(), ROWS, 64);
      float[][] s = McDropout.sample(net, x(), ROWS, 64, 3, 1);
      for (float[] pass : s) {
        assertArrayEquals(expected, pass, 1e-6f, network);
      }
    }
  }

  @Test
  void cnnWithDropoutSamplesValidProbabilities() {
    MemberNetwork net = trained("  type: cnn\n  conv: [{filters: 4, kernel: 3, pool: 2}]\n  hidden: [16]\n"
        + "  dropout: 0.5\n");
    float[][] a = McDropout.sample(net, x(), ROWS, 64, 2, 3);
    assertFalse(java.util.Arrays.equals(a[0], a[1]), "dropout masks differ between passes");
    for (int r = 0; r < ROWS; r++) {
      double sum = 0;
      for (int k = 0; k < 10; k++) {
        sum += a[1][r * 10 + k];
      }
      assertEquals(1.0, sum, 1e-5); // probabilities of a row sum to 1 up to float rounding
    }
  }

  @Test
  void leanCnnPassesFollowDl4jsDropoutDistribution() {
    // The lean CNN pass draws its masks from its own generator, so single passes differ from DL4J's; both must be
    // samples of the same distribution. Over N = 1000 passes each, every mean class probability of the two agrees
    // within 5 standard errors of the difference (sqrt(var_lean/N + var_dl4j/N), from the passes themselves).
    MemberNetwork lean = trained("  type: cnn\n  conv: [{filters: 4, kernel: 3, pool: 2}]\n  hidden: [16]\n"
        + "  dropout: 0.5\n");
    assertTrue(io.deepens.core.lean.CnnTrainingStep.create(lean.multiLayerNetwork().orElseThrow(), ROWS, false)
        .isPresent(), "the lean pass covers this network");
    MemberNetwork dl4j = lean.copy();
    System.setProperty(io.deepens.core.lean.CnnTrainingStep.PROPERTY, "false");
    try {
      dl4j.output(MemberModels.features(x(), ROWS, 64)); // fixes the copy's choice: DL4J's layers
    } finally {
      System.clearProperty(io.deepens.core.lean.CnnTrainingStep.PROPERTY);
    }
    int n = 1000;
    double[][] a = moments(McDropout.sample(lean, x(), ROWS, 64, n, 11));
    double[][] b = moments(McDropout.sample(dl4j, x(), ROWS, 64, n, 12));
    double worst = 0;
    for (int i = 0; i < ROWS * 10; i++) {
      double se = Math.sqrt((a[1][i] + b[1][i]) / n);
      worst = Math.max(worst, Math.abs(a[0][i] - b[0][i]) / Math.max(se, 1e-6));
    }
    assertTrue(worst < 5, "largest difference of means " + worst + " standard errors");
    // and not the inference output: dropout changed the passes
    assertFalse(java.util.Arrays.equals(McDropout.sample(lean, x(), ROWS, 64, 1, 1)[0],
        MemberModels.predict(lean, x(), ROWS, 64)));
  }

  /** Per entry: mean and variance over the passes. */
  private static double[][] moments(float[][] passes) {
    int len = passes[0].length;
    double[][] m = new double[2][len];
    for (float[] p : passes) {
      for (int i = 0; i < len; i++) {
        m[0][i] += p[i];
        m[1][i] += (double) p[i] * p[i];
      }
    }
    for (int i = 0; i < len; i++) {
      m[0][i] /= passes.length;
      m[1][i] = m[1][i] / passes.length - m[0][i] * m[0][i];
    }
    return m;
  }

  @Test
  void withDropoutPassesDifferAndRepeatForTheSameSeed() {
    MemberNetwork net = trained("  type: mlp\n  hidden: [32, 32]\n  dropout: 0.5\n  batchNorm: true\n");
    float[][] a = McDropout.sample(net, x(), ROWS, 64, 4, 99);
    float[][] b = McDropout.sample(net, x(), ROWS, 64, 4, 99);
    assertEquals(4, a.length);
    assertEquals(ROWS * 10, a[0].length);
    for (int s = 0; s < 4; s++) {
      assertArrayEquals(a[s], b[s], 0f); // exact: same seed, same masks
      double sum = 0;
      for (int k = 0; k < 10; k++) {
        sum += a[s][k];
      }
      assertEquals(1.0, sum, 1e-5); // probabilities of a row sum to 1 up to float rounding
    }
    assertFalse(java.util.Arrays.equals(a[0], a[1]), "dropout masks differ between passes");
    // Inference after sampling is unaffected (no dropout, running statistics).
    float[] p1 = MemberModels.predict(net, x(), ROWS, 64);
    McDropout.sample(net, x(), ROWS, 64, 2, 5);
    assertArrayEquals(p1, MemberModels.predict(net, x(), ROWS, 64), 0f);
  }
}
