package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.DeepensException;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * SWAG with batch norm: the S stored sets of batch-norm statistics against a direct computation (the inputs of each
 * batch-norm layer over the same rows and minibatches, in training mode, under sample s's weights), scoring's draws
 * carrying them, determinism, resume, and the member file.
 */
class SwagBatchNormTest {
  /** A 64-8-6-10 MLP with batch norm after each hidden layer, 2 Adam epochs, then 3 SWAG epochs; S = 4. */
  static final EnsembleSpec SPEC = SpecLoader.parse(Digits.yaml("""
        type: mlp
        hidden: [8, 6]
        batchNorm: true
      """, """
        learningRate: 0.01
        batchSize: 32
        epochs: 2
      """).replace("  seed: 7\n", "  seed: 7\n  swag: {epochs: 3, learningRate: 0.02, rank: 3, samples: 4}\n"),
      "swag-bn");
  /** Tolerance of the float32 network against the direct computation in double: |Δ| <= TOL · (1 + |value|). */
  static final double TOL = 1e-4;

  private static TrainingSet train;
  private static TrainingSet validation;

  @BeforeAll
  static void data() {
    train = Digits.part(false, 300);
    validation = Digits.part(true, 60);
  }

  @Test
  void storedStatisticsEqualADirectComputationUnderEachSamplesWeights() {
    MemberResult r = MemberTrainer.train(SPEC, 1, train, validation, null, null);
    assertEquals(MemberStatus.OK, r.report().status());
    SwagMoments m = r.swag();
    assertNotNull(m);
    assertEquals(4, m.batchNormSets());
    MemberNetwork net = r.network();
    int full = (int) net.numParams();
    assertEquals(full - 2 * (8 + 6), m.numParams(), "the running statistics are not part of the Gaussian");
    int[] rows = SwagBatchNorm.rows(train.numRows(), Seeds.derive(7, 1, SeedPurpose.SWAG_BN_ROWS, 0));
    assertEquals(300, rows.length, "fewer rows than MAX_ROWS: all of them");
    // the SWA network: its statistics are those of θ̄
    float[][] swaDirect = direct(net, rows, 32);
    assertStats(swaDirect, net, "SWA");
    MemberNetwork[] draws = MemberModels.swagSamples(net, m, 4, 1.0, 7, 1);
    for (int s = 0; s < 4; s++) {
      float[][] d = direct(draws[s], rows, 32);
      float[] stored = m.batchNorm(s);
      assertClose(concat(d), stored, "stored set " + s);
      assertStats(d, draws[s], "draw " + s);
      // the draw's trainable weights are sample s, unchanged by the statistics
      float[] p = draws[s].params().dup('c').data().asFloat();
      assertArrayEquals(m.sample(Seeds.derive(7, 1, SeedPurpose.SWAG_SAMPLE, s)),
          SwagBatchNorm.gather(p, SwagBatchNorm.trainableIndices(net)), 0f);
    }
    // samples differ, so do their statistics
    assertTrue(maxAbsDiff(m.batchNorm(0), m.batchNorm(1)) > 1e-3, "samples 0 and 1 got the same statistics");
    assertTrue(maxAbsDiff(concat(swaDirect), m.batchNorm(0)) > 1e-3);
  }

  /**
   * Per batch-norm layer {means, variances} of its inputs, in double: the rows in order in minibatches of
   * {@code bs}, each layer computed by hand (dense ReLU; batch norm in training mode with the minibatch's
   * population variance + eps), Σx/n and Σx²/n − mean² over all rows.
   */
  private static float[][] direct(MemberNetwork net, int[] rows, int bs) {
    Map<String, INDArray> t = net.paramTable();
    double eps = 1e-5;
    int[] widths = {8, 6};
    double[][] sum = new double[2][];
    double[][] sq = new double[2][];
    for (int k = 0; k < 2; k++) {
      sum[k] = new double[widths[k]];
      sq[k] = new double[widths[k]];
    }
    for (int b0 = 0; b0 < rows.length; b0 += bs) {
      int m = Math.min(bs, rows.length - b0);
      double[][] h = new double[m][];
      for (int i = 0; i < m; i++) {
        float[] x = train.features(rows[b0 + i]);
        h[i] = new double[x.length];
        for (int j = 0; j < x.length; j++) {
          h[i][j] = x[j];
        }
      }
      for (int k = 0; k < 2; k++) {
        int dense = 2 * k;
        h = denseRelu(h, t.get(dense + "_W"), t.get(dense + "_b"));
        int w = widths[k];
        double[] mu = new double[w];
        double[] var = new double[w];
        for (double[] row : h) {
          for (int j = 0; j < w; j++) {
            sum[k][j] += row[j];
            sq[k][j] += row[j] * row[j];
            mu[j] += row[j] / m;
          }
        }
        for (double[] row : h) {
          for (int j = 0; j < w; j++) {
            var[j] += (row[j] - mu[j]) * (row[j] - mu[j]) / m;
          }
        }
        INDArray gamma = t.get((dense + 1) + "_gamma");
        INDArray beta = t.get((dense + 1) + "_beta");
        for (double[] row : h) {
          for (int j = 0; j < w; j++) {
            row[j] = (row[j] - mu[j]) / Math.sqrt(var[j] + eps) * gamma.getDouble(j) + beta.getDouble(j);
          }
        }
      }
    }
    float[][] out = new float[2][];
    for (int k = 0; k < 2; k++) {
      int w = widths[k];
      out[k] = new float[2 * w];
      for (int j = 0; j < w; j++) {
        double mean = sum[k][j] / rows.length;
        out[k][j] = (float) mean;
        out[k][w + j] = (float) (sq[k][j] / rows.length - mean * mean);
      }
    }
    return out;
  }

  private static double[][] denseRelu(double[][] h, INDArray w, INDArray b) {
    int in = (int) w.size(0);
    int outW = (int) w.size(1);
    double[][] o = new double[h.length][outW];
    for (int i = 0; i < h.length; i++) {
      for (int j = 0; j < outW; j++) {
        double z = b.getDouble(j);
        for (int q = 0; q < in; q++) {
          z += h[i][q] * w.getDouble(q, j);
        }
        o[i][j] = Math.max(z, 0);
      }
    }
    return o;
  }

  /** The network's running statistics (layers 1 and 3) hold {@code d}: mean, and var = 10^(2·log10stdev) − eps. */
  private static void assertStats(float[][] d, MemberNetwork net, String what) {
    Map<String, INDArray> t = net.paramTable();
    for (int k = 0; k < 2; k++) {
      int layer = 2 * k + 1;
      int w = d[k].length / 2;
      float[] got = new float[2 * w];
      for (int j = 0; j < w; j++) {
        got[j] = t.get(layer + "_mean").getFloat(j);
        got[w + j] = (float) (Math.pow(10, 2 * t.get(layer + "_log10stdev").getDouble(j)) - 1e-5);
      }
      assertClose(d[k], got, what + ", layer " + layer);
    }
  }

  private static float[] concat(float[][] d) {
    float[] out = new float[d[0].length + d[1].length];
    System.arraycopy(d[0], 0, out, 0, d[0].length);
    System.arraycopy(d[1], 0, out, d[0].length, d[1].length);
    return out;
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      assertTrue(Math.abs(expected[i] - actual[i]) <= TOL * (1 + Math.abs(expected[i])),
          what + "[" + i + "]: expected " + expected[i] + ", found " + actual[i]);
    }
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  @Test
  void sameSeedSameMemberAndResumingMidSwagGivesTheSameMember() {
    // resume after epoch 4 (the second SWAG epoch, on DL4J's fit with plain SGD)
    SwagTest.resumingAfterGivesTheSameMember(SPEC, train, validation, 4);
  }

  @Test
  void memberFileCarriesTheStatisticsAndMismatchesAreRefused() {
    MemberResult r = MemberTrainer.train(SPEC, 2, train, validation, null, null);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    MemberModels.write(r.network(), r.swag(), out);
    byte[] bytes = out.toByteArray();
    MemberNetwork back = MemberModels.fromBytes(bytes);
    SwagMoments m = MemberModels.readSwag(bytes, "test");
    assertEquals(r.report().paramsSha256(), MemberModels.paramsSha256(back));
    assertArrayEquals(r.swag().toBytes(), m.toBytes());
    assertEquals(4, m.batchNormSets());
    MemberNetwork[] a = MemberModels.swagSamples(r.network(), r.swag(), 4, 1.0, 7, 2);
    MemberNetwork[] b = MemberModels.swagSamples(back, m, 4, 1.0, 7, 2);
    for (int s = 0; s < 4; s++) {
      assertEquals(MemberModels.paramsSha256(a[s]), MemberModels.paramsSha256(b[s]));
    }
    // more samples than stored sets, or moments without statistics for a batch-norm network: clear errors
    DeepensException e = assertThrows(DeepensException.class,
        () -> MemberModels.swagSamples(back, m, 5, 1.0, 7, 2));
    assertTrue(e.getMessage().contains("batch-norm statistics for 4 SWAG samples but 5 are asked for"),
        e.getMessage());
    SwagMoments plain = new SwagMoments(m.numParams(), 2);
    plain.collect(m.meanAsFloats());
    e = assertThrows(DeepensException.class, () -> MemberModels.swagSamples(back, plain, 1, 1.0, 7, 2));
    assertTrue(e.getMessage().contains("has batch norm but its SWAG moments hold no batch-norm statistics"),
        e.getMessage());
    byte[] truncated = java.util.Arrays.copyOf(m.toBytes(), m.toBytes().length - 4);
    assertThrows(DeepensException.class, () -> SwagMoments.fromBytes(truncated, "x"));
  }

  /**
   * The SWAG epochs on DL4J's fit (every layer switched to plain SGD) do the lean step's arithmetic: a network
   * without batch norm trained both ways (lean switched off with {@value io.deepens.core.lean.LeanPath#MLP_PROPERTY})
   * ends with the same moments up to float rounding of different kernels (|Δ| <= 1e-4·(1 + |value|) on θ̄ and the
   * SWA weights).
   */
  @Test
  void swagEpochsOnFitMatchTheLeanSgdStep() {
    MemberResult lean = MemberTrainer.train(SwagTest.SPEC, 0, train, validation, null, null);
    assertEquals(io.deepens.core.lean.LeanPath.Path.LEAN, lean.report().compute().path());
    System.setProperty(io.deepens.core.lean.LeanPath.MLP_PROPERTY, "false");
    MemberResult fit;
    try {
      fit = MemberTrainer.train(SwagTest.SPEC, 0, train, validation, null, null);
    } finally {
      System.clearProperty(io.deepens.core.lean.LeanPath.MLP_PROPERTY);
    }
    assertEquals(io.deepens.core.lean.LeanPath.Path.DL4J, fit.report().compute().path());
    assertEquals(lean.swag().numParams(), fit.swag().numParams());
    assertEquals(lean.swag().count(), fit.swag().count());
    float[] a = lean.swag().meanAsFloats();
    float[] b = fit.swag().meanAsFloats();
    assertClose(a, b, "θ̄, lean vs fit");
    assertClose(lean.network().params().dup('c').data().asFloat(), fit.network().params().dup('c').data().asFloat(),
        "SWA weights, lean vs fit");
    // and not trivially: SGD moved the weights between snapshots (deviations from the running mean are not 0)
    assertTrue(maxAbsDiff(fit.swag().deviations()[1], new float[b.length]) > 1e-4);
  }

  /** The rows of the statistics: all of them (a seeded order) up to MAX_ROWS, beyond it MAX_ROWS distinct ones. */
  @Test
  void statisticsRowsAreAllUpToTheCapThenASeededSubset() {
    int[] small = SwagBatchNorm.rows(300, 42);
    assertEquals(300, java.util.Arrays.stream(small).distinct().count());
    int n = SwagBatchNorm.MAX_ROWS + 2_345;
    int[] big = SwagBatchNorm.rows(n, 42);
    assertEquals(SwagBatchNorm.MAX_ROWS, big.length);
    assertEquals(SwagBatchNorm.MAX_ROWS, java.util.Arrays.stream(big).distinct().count());
    assertTrue(java.util.Arrays.stream(big).allMatch(i -> i >= 0 && i < n));
    assertArrayEquals(big, SwagBatchNorm.rows(n, 42));
    assertTrue(!java.util.Arrays.equals(big, SwagBatchNorm.rows(n, 43)));
  }
}
