package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.lean.CnnTrainingStep;
import java.util.Random;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The lean CNN step ({@link CnnTrainingStep}) against DL4J's own {@code output} and {@code fit}, and the trainer's
 * determinism, resume and learning with it.
 */
class CnnTrainingStepTest {
  static TrainingSet train;
  static TrainingSet validation;

  /** The cnn preset on the 8×8 digits: two conv + pool blocks, a dense layer, strong weight decay, no dropout. */
  static final EnsembleSpec NO_DROPOUT = SpecLoader.parse(Digits.yaml("""
        type: cnn
        conv:
          - {filters: 4, kernel: 3, stride: 1, pool: 2}
          - {filters: 6, kernel: 3, stride: 1, pool: 2}
        hidden: [16]
        dropout: 0
      """, """
        optimizer: adam
        learningRate: 0.005
        schedule: {type: cosine, minLearningRate: 0.0005}
        weightDecay: 0.5
        batchSize: 32
        epochs: 4
      """), "fast-cnn");

  /** As the Fashion-MNIST config: dropout on every layer's input after the first, mild weight decay. */
  static final EnsembleSpec WITH_DROPOUT = SpecLoader.parse(Digits.yaml("""
        type: cnn
        conv:
          - {filters: 8, kernel: 3, stride: 1, pool: 2}
          - {filters: 16, kernel: 3, stride: 1, pool: 2}
        hidden: [32]
        dropout: 0.25
      """, """
        optimizer: adam
        learningRate: 0.01
        weightDecay: 0.0001
        batchSize: 32
        epochs: 8
        earlyStopping: {patience: 0}
      """), "fast-cnn-dropout");

  @BeforeAll
  static void data() {
    train = Digits.part(false, 600);
    validation = Digits.part(true, 200);
  }

  private static MultiLayerNetwork net(EnsembleSpec spec) {
    return NetworkFactory.build(spec, 64, 1234L).multiLayerNetwork().orElseThrow();
  }

  private static DataSet batch(int b, int bs) {
    return Digits.batch(train, b, bs);
  }


  private static CnnTrainingStep lean(MultiLayerNetwork net, int maxBatch, boolean training) {
    return CnnTrainingStep.create(net, maxBatch, training)
        .orElseThrow(() -> new AssertionError("rejected by check " + CnnTrainingStep.lastRejection()));
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  /** Probabilities of DL4J's output and of the lean forward pass, for random inputs in [0, 1). */
  private static double outputGap(MultiLayerNetwork net, int rows, int features, int maxBatch) {
    Random r = new Random(5);
    float[] x = new float[rows * features];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextFloat();
    }
    float[] expected = net.output(Nd4j.createFromArray(x).reshape(rows, features)).castTo(DataType.FLOAT)
        .dup('c').data().asFloat();
    CnnTrainingStep s = lean(net, maxBatch, false);
    int k = expected.length / rows;
    float[] got = new float[rows * k];
    float[] chunk = new float[maxBatch * k];
    for (int r0 = 0; r0 < rows; r0 += maxBatch) {
      int m = Math.min(maxBatch, rows - r0);
      s.output(x, r0 * features, m, chunk);
      System.arraycopy(chunk, 0, got, r0 * k, m * k);
    }
    return maxAbsDiff(expected, got);
  }

  @Test
  void forwardPassEqualsDl4jOutputForThePreset() {
    // 8x8 -> same conv 3x3 -> pool 2 -> 4x4 -> conv -> pool -> 2x2; probabilities in float: 1e-5 is ~100 ulps of 1
    double gap = outputGap(net(WITH_DROPOUT), 70, 64, 32);
    System.out.printf("preset CNN: max |output - lean output| = %.3g%n", gap);
    assertTrue(gap <= 1e-5, "max gap " + gap);
  }

  /**
   * Odd shapes DL4J must agree on: 2 input channels, a non-square input, stride 2, a non-square kernel, explicit
   * padding in Truncate mode, and a Same-mode pooling window reaching into the padding (5 → 3 with kernel 2).
   */
  private static MultiLayerNetwork oddNet(double l2) {
    MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
        .seed(99).dataType(DataType.FLOAT).weightInit(WeightInit.RELU).updater(new Adam(0.01))
        .weightDecay(l2, true)
        .list()
        .layer(new ConvolutionLayer.Builder(3, 2).stride(2, 1).nOut(5).convolutionMode(ConvolutionMode.Same)
            .activation(Activation.RELU).build())
        .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
            .convolutionMode(ConvolutionMode.Same).build())
        .layer(new ConvolutionLayer.Builder(2, 3).stride(1, 2).padding(1, 1).nOut(3)
            .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build())
        .layer(new DenseLayer.Builder().nOut(7).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).activation(Activation.SOFTMAX).nOut(4)
            .weightInit(WeightInit.XAVIER).build())
        .setInputType(InputType.convolutionalFlat(9, 11, 2))
        .build();
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  @Test
  void forwardPassEqualsDl4jOutputForOddShapes() {
    double gap = outputGap(oddNet(0), 45, 2 * 9 * 11, 16);
    System.out.printf("odd-shaped CNN: max |output - lean output| = %.3g%n", gap);
    assertTrue(gap <= 1e-5, "max gap " + gap);
  }

  @Test
  void leanStepMatchesDl4jFitWithinFloatRounding() {
    MultiLayerNetwork viaFit = net(NO_DROPOUT);
    MultiLayerNetwork viaStep = net(NO_DROPOUT);
    viaFit.setEpochCount(1); // the cosine schedule's epoch-1 rate
    viaStep.setEpochCount(1);
    CnnTrainingStep step = lean(viaStep, 32, true);
    int steps = 10;
    step.begin();
    for (int b = 0; b < steps; b++) {
      int rows = b == steps - 1 ? 20 : 32;
      DataSet d = batch(b, rows);
      viaFit.fit(d);
      double s = step.step(d.getFeatures(), d.getLabels().dup('c').data().asFloat(), rows);
      assertEquals(viaFit.score(), s, 1e-5 * Math.abs(viaFit.score()), "score at step " + b);
    }
    step.end();
    assertEquals(viaFit.getIterationCount(), viaStep.getIterationCount());
    float[] init = net(NO_DROPOUT).params().toFloatVector();
    float[] a = viaFit.params().toFloatVector();
    double gap = maxAbsDiff(a, viaStep.params().toFloatVector());
    double moved = maxAbsDiff(a, init);
    // As for the MLP step: 10 Adam steps move a weight by at most 10·lr = 0.05; float sums in another order
    // perturb the gradients ~1e-6 relative, and Adam passes that on at the same relative size.
    System.out.printf("CNN lean vs fit after %d steps: max |diff| %.3g, max movement %.3g%n", steps, gap, moved);
    assertTrue(gap <= 2e-6, "max |fit - lean| = " + gap);
    assertTrue(moved > 1e-2, "the parameters moved only " + moved);
    double stateGap = maxAbsDiff(viaFit.getUpdater().getStateViewArray().toFloatVector(),
        viaStep.getUpdater().getStateViewArray().toFloatVector());
    assertTrue(stateGap <= 1e-6, "max |Adam state diff| = " + stateGap);
  }

  @Test
  void leanStepMatchesFitOnOddShapesWithWeightDecay() {
    MultiLayerNetwork viaFit = oddNet(0.3);
    MultiLayerNetwork viaStep = oddNet(0.3);
    CnnTrainingStep step = lean(viaStep, 8, true);
    Random r = new Random(11);
    step.begin();
    for (int b = 0; b < 6; b++) {
      int rows = 8 - b % 3;
      float[] x = new float[rows * 198];
      float[] y = new float[rows * 4];
      for (int i = 0; i < x.length; i++) {
        x[i] = r.nextFloat();
      }
      for (int i = 0; i < rows; i++) {
        y[i * 4 + r.nextInt(4)] = 1f;
      }
      DataSet d = new DataSet(Nd4j.createFromArray(x).reshape(rows, 198), Nd4j.createFromArray(y).reshape(rows, 4));
      viaFit.fit(d);
      double s = step.step(d.getFeatures(), y, rows);
      assertEquals(viaFit.score(), s, 1e-5 * Math.abs(viaFit.score()), "score at step " + b);
    }
    step.end();
    double gap = maxAbsDiff(viaFit.params().toFloatVector(), viaStep.params().toFloatVector());
    System.out.printf("odd CNN lean vs fit after 6 steps: max |diff| %.3g%n", gap);
    assertTrue(gap <= 2e-6, "max |fit - lean| = " + gap);
  }

  @Test
  void unsupportedNetworksAreRefused() {
    for (String network : new String[] {
        "  type: cnn\n  conv:\n    - {filters: 4, kernel: 3, stride: 1, pool: 2}\n  hidden: [8]\n  batchNorm: true\n",
        "  type: cnn\n  conv:\n    - {filters: 4, kernel: 3, stride: 1, pool: 2}\n  hidden: [8]\n  activation: tanh\n",
        "  type: mlp\n  hidden: [8]\n"}) {
      EnsembleSpec s = SpecLoader.parse(Digits.yaml(network, "  optimizer: adam\n  epochs: 1\n"), "variant");
      assertTrue(CnnTrainingStep.create(net(s), 32, true).isEmpty(), network);
    }
    EnsembleSpec sgd = SpecLoader.parse(Digits.yaml(
        "  type: cnn\n  conv:\n    - {filters: 4, kernel: 3, stride: 1, pool: 2}\n  hidden: [8]\n",
        "  optimizer: sgd\n  epochs: 1\n"), "sgd");
    assertTrue(CnnTrainingStep.create(net(sgd), 32, true).isEmpty(), "sgd trains with fit");
    assertTrue(CnnTrainingStep.create(net(sgd), 32, false).isPresent(), "but its forward pass is lean");
  }

  @Test
  void trainerWithDropoutIsDeterministicResumesBitIdenticallyAndLearns() {
    InMemoryCheckpointer full = new InMemoryCheckpointer();
    MemberResult a = MemberTrainer.train(WITH_DROPOUT, 1, train, validation, full, null);
    MemberResult b = MemberTrainer.train(WITH_DROPOUT, 1, train, validation, null, null);
    assertEquals(a.report().paramsSha256(), b.report().paramsSha256());
    double acc = a.report().epochs().get(7).validationAccuracy();
    // DL4J's fit draws other dropout masks, so it takes another path; it is printed as the yardstick.
    double fitAcc = MlpTrainingStepTest.trainWithLeanOff(MemberTrainer.FAST_CNN_PROPERTY, WITH_DROPOUT, 1, train,
        validation).report().epochs().get(7).validationAccuracy();
    System.out.printf("CNN member with dropout, 8 epochs on 600 digits: validation accuracy %.4f lean, %.4f fit%n",
        acc, fitAcc);
    assertTrue(acc >= 0.85, "validation accuracy " + acc);

    InMemoryCheckpointer store = new InMemoryCheckpointer();
    org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
        () -> MemberTrainer.train(WITH_DROPOUT, 1, train, validation, store, (m, e) -> {
          if (e.epoch() == 4) {
            throw new RuntimeException("executor lost");
          }
        }));
    MemberResult resumed = MemberTrainer.train(WITH_DROPOUT, 1, train, validation, store, null);
    assertEquals(5, resumed.report().resumedFromEpoch());
    assertEquals(a.report().paramsSha256(), resumed.report().paramsSha256());
    assertArrayEquals(a.network().params().toFloatVector(), resumed.network().params().toFloatVector(), 0f);
  }

  @Test
  void trainerResultsWithAndWithoutLeanStepAgreeWithoutDropout() {
    MlpTrainingStepTest.assertLeanAgreesWithFit(NO_DROPOUT.withEpochs(2), MemberTrainer.FAST_CNN_PROPERTY, train,
        validation);
  }
}
