package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.lean.MlpTrainingStep;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The lean MLP step ({@link MlpTrainingStep}) against DL4J's own {@code fit}, and the trainer's determinism and
 * resume guarantees with the lean step in use.
 */
class MlpTrainingStepTest {
  static TrainingSet train;
  static TrainingSet validation;
  /** Eligible for the lean step: ReLU MLP, softmax, Adam with a schedule and weight decay, no dropout / BN. */
  static final EnsembleSpec SPEC = SpecLoader.parse(Digits.yaml("""
        type: mlp
        hidden: [32, 16]
      """, """
        optimizer: adam
        learningRate: 0.005
        schedule: {type: cosine, minLearningRate: 0.0005}
        weightDecay: 0.0001
        batchSize: 32
        epochs: 4
        earlyStopping: {patience: 3}
      """), "fast-mlp");

  /** As SPEC with a weight decay large enough to show in 10 steps (lr·wd·|w|·10 ~ 1e-2 >> the tolerance). */
  static final EnsembleSpec STRONG_DECAY = SpecLoader.parse(Digits.yaml("""
        type: mlp
        hidden: [32, 16]
      """, """
        optimizer: adam
        learningRate: 0.005
        schedule: {type: cosine, minLearningRate: 0.0005}
        weightDecay: 0.5
        batchSize: 32
        epochs: 4
      """), "fast-mlp-decay");

  @BeforeAll
  static void data() {
    train = Digits.part(false, 400);
    validation = Digits.part(true, 100);
  }

  private static MultiLayerNetwork net(EnsembleSpec spec) {
    return NetworkFactory.build(spec, 64, 1234L).multiLayerNetwork().orElseThrow();
  }

  private static DataSet batch(int b, int bs) {
    return Digits.batch(train, b, bs);
  }


  @Test
  void leanStepMatchesDl4jFitWithinFloatRounding() {
    MultiLayerNetwork viaFit = net(STRONG_DECAY);
    MultiLayerNetwork viaStep = net(STRONG_DECAY);
    assertArrayEquals(viaFit.params().toFloatVector(), viaStep.params().toFloatVector(), 0f);
    viaFit.setEpochCount(1); // the cosine schedule's epoch-1 rate
    viaStep.setEpochCount(1);
    MlpTrainingStep step = MlpTrainingStep.create(viaStep, 32)
        .orElseThrow(() -> new AssertionError("rejected by check " + MlpTrainingStep.lastRejection()));
    int steps = 10;
    step.begin();
    for (int b = 0; b < steps; b++) {
      int rows = b == steps - 1 ? 20 : 32; // a short last batch too
      DataSet d = batch(b, rows);
      viaFit.fit(d);
      double s = step.step(d.getFeatures(), d.getLabels().dup('c').data().asFloat(), rows);
      // Float sums in another order: the scores agree to ~1e-6 relative.
      assertEquals(viaFit.score(), s, 1e-5 * Math.abs(viaFit.score()), "score at step " + b);
    }
    step.end();
    assertEquals(viaFit.getIterationCount(), viaStep.getIterationCount());
    float[] a = viaFit.params().toFloatVector();
    float[] c = viaStep.params().toFloatVector();
    // Tolerance: each Adam step moves a weight by at most ~lr = 0.005, 10 steps by <= 0.05; float32 rounding of the
    // differently ordered sums perturbs the gradients by ~1e-6 relative, which Adam's m / sqrt(v) passes on at the
    // same relative size. Measured 1.0e-7 after 10 steps; allow 1e-6 absolute (0.002% of the largest possible movement) and check that the steps
    // really moved the parameters by far more than that.
    double maxDiff = 0;
    double moved = 0;
    float[] init = net(STRONG_DECAY).params().toFloatVector();
    for (int i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - c[i]));
      moved = Math.max(moved, Math.abs(a[i] - init[i]));
    }
    System.out.printf("lean vs fit after %d steps: max |diff| %.3g, max movement %.3g%n", steps, maxDiff, moved);
    assertTrue(maxDiff <= 1e-6, "max |fit - lean| = " + maxDiff);
    assertTrue(moved > 1e-2, "the parameters moved only " + moved);
    // The Adam moments went back into DL4J's updater state, in DL4J's layout.
    float[] sf = viaFit.getUpdater().getStateViewArray().toFloatVector();
    float[] ss = viaStep.getUpdater().getStateViewArray().toFloatVector();
    double maxM = 0;
    double maxStateDiff = 0;
    for (int i = 0; i < sf.length; i++) {
      maxM = Math.max(maxM, Math.abs(sf[i]));
      maxStateDiff = Math.max(maxStateDiff, Math.abs(sf[i] - ss[i]));
    }
    assertTrue(maxStateDiff <= 1e-5 * maxM, "max |state diff| = " + maxStateDiff + " of max " + maxM);

    // Training on with fit from the lean step's state continues as fit would.
    DataSet d = batch(3, 32);
    viaFit.fit(d);
    viaStep.fit(d);
    assertEquals(viaFit.score(), viaStep.score(), 1e-4 * Math.abs(viaFit.score()));
  }

  @Test
  void unsupportedNetworksFallBackToFit() {
    assertTrue(MlpTrainingStep.create(net(SPEC), 32).isPresent());
    for (String[] variant : new String[][] {
        {"  type: mlp\n  hidden: [16]\n  dropout: 0.2\n", "  optimizer: adam\n"},
        {"  type: mlp\n  hidden: [16]\n  batchNorm: true\n", "  optimizer: adam\n"},
        {"  type: mlp\n  hidden: [16]\n  activation: tanh\n", "  optimizer: adam\n"},
        {"  type: mlp\n  hidden: [16]\n", "  optimizer: sgd\n"},
        {"  type: mlp\n  hidden: [16]\n", "  optimizer: nesterovs\n"}}) {
      EnsembleSpec s = SpecLoader.parse(Digits.yaml(variant[0], variant[1] + "  epochs: 1\n"), "variant");
      assertTrue(MlpTrainingStep.create(net(s), 32).isEmpty(), variant[0] + variant[1]);
    }
  }

  @Test
  void trainerWithLeanStepIsDeterministicAndResumesBitIdentically() {
    assertTrue(MlpTrainingStep.create(net(SPEC), 32).isPresent(), "the spec must take the lean path");
    MemberResult a = MemberTrainer.train(SPEC, 1, train, validation, null, null);
    MemberResult b = MemberTrainer.train(SPEC, 1, train, validation, null, null);
    assertArrayEquals(a.network().params().toFloatVector(), b.network().params().toFloatVector(), 0f);
    assertEquals(a.report().paramsSha256(), b.report().paramsSha256());

    InMemoryCheckpointer full = new InMemoryCheckpointer();
    MemberResult uninterrupted = MemberTrainer.train(SPEC, 0, train, validation, full, null);
    InMemoryCheckpointer store = new InMemoryCheckpointer();
    List<Integer> heard = new ArrayList<>();
    RuntimeException crash = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
        () -> MemberTrainer.train(SPEC, 0, train, validation, store, (m, e) -> {
          heard.add(e.epoch());
          if (e.epoch() == 1) {
            throw new RuntimeException("executor lost");
          }
        }));
    assertEquals("executor lost", crash.getMessage());
    MemberResult resumed = MemberTrainer.train(SPEC, 0, train, validation, store, null);
    assertEquals(2, resumed.report().resumedFromEpoch());
    assertArrayEquals(uninterrupted.network().params().toFloatVector(), resumed.network().params().toFloatVector(),
        0f);
    assertEquals(uninterrupted.report().paramsSha256(), resumed.report().paramsSha256());
    for (int e = 0; e < 4; e++) {
      assertEquals(uninterrupted.report().epochs().get(e).trainLoss(), resumed.report().epochs().get(e).trainLoss(),
          0.0);
      assertEquals(uninterrupted.report().epochs().get(e).validationNll(),
          resumed.report().epochs().get(e).validationNll(), 0.0);
    }
  }

  @Test
  void trainerResultsWithAndWithoutLeanStepAgree() {
    assertLeanAgreesWithFit(SPEC.withEpochs(2), MemberTrainer.FAST_MLP_PROPERTY, train, validation);
  }

  /** Member 0 trained with {@code property} set to "false" (the lean step off, so DL4J's {@code fit}). */
  static MemberResult trainWithLeanOff(String property, EnsembleSpec spec, int member, TrainingSet train,
      TrainingSet validation) {
    System.setProperty(property, "false");
    try {
      return MemberTrainer.train(spec, member, train, validation, null, null);
    } finally {
      System.clearProperty(property);
    }
  }

  /** Per epoch, training loss and validation NLL with and without the lean step agree to 1e-3 relative. */
  static void assertLeanAgreesWithFit(EnsembleSpec spec, String property, TrainingSet train,
      TrainingSet validation) {
    MemberResult lean = MemberTrainer.train(spec, 0, train, validation, null, null);
    MemberResult fit = trainWithLeanOff(property, spec, 0, train, validation);
    for (int e = 0; e < spec.training().epochs(); e++) {
      double lf = fit.report().epochs().get(e).trainLoss();
      assertEquals(lf, lean.report().epochs().get(e).trainLoss(), 1e-3 * lf, "train loss, epoch " + e);
      double vf = fit.report().epochs().get(e).validationNll();
      assertEquals(vf, lean.report().epochs().get(e).validationNll(), 1e-3 * vf, "validation NLL, epoch " + e);
    }
  }

  @Test
  void leanMembersTrainedConcurrentlyMatchMembersTrainedAlone() throws Exception {
    // Spark local mode runs several members' tasks in one JVM: the lean steps share OpenBLAS, nothing else.
    EnsembleSpec twoEpochs = SPEC.withEpochs(2);
    String alone0 = MemberTrainer.train(twoEpochs, 0, train, validation, null, null).report().paramsSha256();
    String alone1 = MemberTrainer.train(twoEpochs, 1, train, validation, null, null).report().paramsSha256();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      var f0 = pool.submit(() -> MemberTrainer.train(twoEpochs, 0, train, validation, null, null));
      var f1 = pool.submit(() -> MemberTrainer.train(twoEpochs, 1, train, validation, null, null));
      assertEquals(alone0, f0.get().report().paramsSha256());
      assertEquals(alone1, f1.get().report().paramsSha256());
    } finally {
      pool.shutdown();
    }
  }
}
