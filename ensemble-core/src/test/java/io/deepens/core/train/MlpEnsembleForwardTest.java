package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.network.MemberNetwork;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.lean.MlpEnsembleForward;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** The stacked-first-layer ensemble forward pass against each member's own {@code output(x, false)}. */
class MlpEnsembleForwardTest {

  private static MultiLayerNetwork mlp(long seed, int in, int[] hidden, Activation a, double dropout, int classes) {
    var b = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT).list();
    int prev = in;
    for (int h : hidden) {
      var d = new DenseLayer.Builder().nIn(prev).nOut(h).activation(a);
      if (dropout > 0) {
        d.dropOut(1 - dropout); // DL4J takes the retain probability
      }
      b.layer(d.build());
      prev = h;
    }
    b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(prev).nOut(classes)
        .activation(Activation.SOFTMAX).build());
    MultiLayerNetwork net = new MultiLayerNetwork(b.build());
    net.init();
    // non-zero biases, so a wrong bias offset cannot pass unnoticed
    net.params().addi(Nd4j.rand(DataType.FLOAT, net.numParams()).subi(0.5).muli(0.2));
    return net;
  }

  private static float[] features(int rows, int cols, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[rows * cols];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return x;
  }

  private static void assertMatchesDl4j(MultiLayerNetwork[] nets, float[] x, int rows, int cols, int maxBatch) {
    MlpEnsembleForward f = MlpEnsembleForward.create(nets, maxBatch).orElseThrow();
    float[][] fast = f.probabilities(x, rows);
    assertEquals(nets.length, fast.length);
    float[] batch = java.util.Arrays.copyOf(x, rows * cols);
    for (int k = 0; k < nets.length; k++) {
      float[] ref = MemberModels.predict(MemberNetwork.of(nets[k]), batch, rows, cols);
      assertEquals(ref.length, fast[k].length, "member " + k);
      // float32 sums in another order: agreement to ~1e-6 relative on probabilities ≤ 1; 2e-6 absolute allows
      // a few ulps of accumulated rounding through four layers
      assertArrayEquals(ref, fast[k], 2e-6f, "member " + k);
    }
  }

  @Test
  void matchesEachMembersOwnOutputForMixedWidthsAndActivations() {
    int in = 37;
    MultiLayerNetwork[] nets = {
        mlp(1, in, new int[] {20, 16}, Activation.RELU, 0.25, 6),
        mlp(2, in, new int[] {13}, Activation.TANH, 0, 6),
        mlp(3, in, new int[] {9, 9, 5}, Activation.SIGMOID, 0.5, 6),
        mlp(4, in, new int[] {}, Activation.RELU, 0, 6), // the output layer alone reads the input
        mlp(5, in, new int[] {11}, Activation.IDENTITY, 0, 6)};
    float[] x = features(50, in, 7);
    assertMatchesDl4j(nets, x, 50, in, 64);
    // a partial batch and a single row reuse the same buffers
    assertMatchesDl4j(nets, x, 17, in, 64);
    assertMatchesDl4j(nets, x, 1, in, 64);
  }

  @Test
  void matchesThePresetMlpOnTheDigits() {
    var spec = SpecLoader.parse(Digits.yaml("""
          type: mlp
          hidden: [64, 64]
          dropout: 0.1
        """, """
          batchSize: 32
          epochs: 1
        """), "forward");
    MultiLayerNetwork[] nets = new MultiLayerNetwork[3];
    for (int k = 0; k < nets.length; k++) {
      nets[k] = NetworkFactory.build(spec, 64, 100 + k).multiLayerNetwork().orElseThrow();
    }
    TrainingSet t = Digits.part(false, 200);
    float[] x = new float[200 * 64];
    for (int r = 0; r < 200; r++) {
      System.arraycopy(t.features(r), 0, x, r * 64, 64);
    }
    assertMatchesDl4j(nets, x, 200, 64, 256);
  }

  @Test
  void outputsAreProbabilitiesAndRepeatable() {
    MultiLayerNetwork[] nets = {mlp(1, 8, new int[] {5}, Activation.RELU, 0, 3),
        mlp(2, 8, new int[] {4}, Activation.RELU, 0, 3)};
    MlpEnsembleForward f = MlpEnsembleForward.create(nets, 10).orElseThrow();
    float[] x = features(10, 8, 3);
    float[][] a = f.probabilities(x, 10);
    float[][] b = f.probabilities(x, 10);
    for (int k = 0; k < 2; k++) {
      assertArrayEquals(a[k], b[k], 0f);
      for (int r = 0; r < 10; r++) {
        double s = 0;
        for (int c = 0; c < 3; c++) {
          assertTrue(a[k][r * 3 + c] >= 0 && a[k][r * 3 + c] <= 1);
          s += a[k][r * 3 + c];
        }
        assertEquals(1.0, s, 1e-6);
      }
    }
  }

  @Test
  void refusesWhatItDoesNotImplement() {
    // batch norm between the dense layers
    var bn = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT).list()
        .layer(new DenseLayer.Builder().nIn(4).nOut(3).activation(Activation.RELU).build())
        .layer(new BatchNormalization.Builder().nOut(3).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(3).nOut(2)
            .activation(Activation.SOFTMAX).build())
        .build();
    MultiLayerNetwork withBn = new MultiLayerNetwork(bn);
    withBn.init();
    assertTrue(MlpEnsembleForward.create(new MultiLayerNetwork[] {withBn}, 8).isEmpty());
    // a leaky ReLU hidden layer and a non-softmax output
    assertTrue(MlpEnsembleForward.create(
        new MultiLayerNetwork[] {mlp(1, 4, new int[] {3}, Activation.LEAKYRELU, 0, 2)}, 8).isEmpty());
    var identityOut = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT).list()
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(4).nOut(2)
            .activation(Activation.IDENTITY).build())
        .build();
    MultiLayerNetwork reg = new MultiLayerNetwork(identityOut);
    reg.init();
    assertTrue(MlpEnsembleForward.create(new MultiLayerNetwork[] {reg}, 8).isEmpty());
    // members that read different input widths
    assertTrue(MlpEnsembleForward.create(new MultiLayerNetwork[] {mlp(1, 4, new int[] {3}, Activation.RELU, 0, 2),
        mlp(2, 5, new int[] {3}, Activation.RELU, 0, 2)}, 8).isEmpty());
  }
}
