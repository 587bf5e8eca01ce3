package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Training outcomes on the embedded digits (1,437 training rows, 360 validation rows; see {@link Digits}).
 *
 * <p>Accuracy bounds: on these 8x8 digits a multinomial logistic regression reaches about 0.95 held-out accuracy,
 * and the MLP below reached 0.95-0.96 after 5 epochs in development. 0.90 leaves a margin of about 18 standard
 * errors of a 360-row accuracy (sqrt(0.95 · 0.05 / 360) = 0.011) for platform and seed differences while still
 * failing for a network that does not learn (chance is 0.10).
 */
class MemberTrainerTest {
  static TrainingSet train;
  static TrainingSet validation;

  @BeforeAll
  static void data() {
    train = Digits.train();
    validation = Digits.validation();
  }

  static EnsembleSpec spec(String network, String training) {
    return SpecLoader.parse(Digits.yaml(network, training), "test");
  }

  private static double lastAccuracy(MemberResult r) {
    List<EpochMetrics> e = r.report().epochs();
    return e.get(e.size() - 1).validationAccuracy();
  }

  @Test
  void mlpLearnsDigitsAndReportsEverything() throws Exception {
    EnsembleSpec s = spec("  type: mlp\n  hidden: [64]\n",
        "  learningRate: 0.003\n  batchSize: 32\n  epochs: 5\n");
    List<EpochMetrics> heard = new ArrayList<>();
    MemberResult r = MemberTrainer.train(s, 0, train, validation, null, (m, e) -> heard.add(e));
    assertEquals(MemberStatus.OK, r.report().status());
    assertTrue(lastAccuracy(r) >= 0.90, "validation accuracy " + lastAccuracy(r) + " < 0.90");
    assertEquals(r.report().epochs(), heard);
    // Training loss falls from the first to the last epoch (5 epochs of Adam on separable data).
    assertTrue(heard.get(4).trainLoss() < heard.get(0).trainLoss());

    // The report is plain JSON for the driver.
    JsonNode json = new ObjectMapper().readTree(new ObjectMapper().writeValueAsString(r.report()));
    assertEquals("OK", json.get("status").asText());
    assertEquals(1437, json.get("trainRows").asLong());
    assertEquals(360, json.get("validationRows").asLong());
    assertEquals(5, json.get("epochs").size());
    assertEquals(MemberModels.paramsSha256(r.network()), json.get("paramsSha256").asText());
    assertEquals(s.sha256(), json.get("provenance").get("specSha256").asText());
    assertEquals(1, json.get("provenance").get("nd4jThreads").asInt());
    assertEquals(7L, json.get("seeds").get("ensemble").asLong());
    assertTrue(json.get("provenance").get("nd4jBackend").asText().contains("Cpu"));

    // Predictions through MemberModels agree with the validation accuracy the trainer measured.
    int n = validation.numRows();
    float[] x = new float[n * 64];
    for (int i = 0; i < n; i++) {
      validation.copyFeatures(i, x, i * 64);
    }
    float[] p = MemberModels.predict(r.network(), x, n, 64);
    int correct = 0;
    for (int i = 0; i < n; i++) {
      int arg = 0;
      for (int k = 1; k < 10; k++) {
        arg = p[i * 10 + k] > p[i * 10 + arg] ? k : arg;
      }
      correct += arg == (int) validation.label(i) ? 1 : 0;
    }
    assertEquals(lastAccuracy(r), (double) correct / n, 1e-12);
  }

  @Test
  void cnnLearnsDigits() {
    // 1x8x8 -> conv 3x3x16 -> max pool 2 -> dense 64 -> softmax. Same accuracy bound as the MLP (class comment).
    EnsembleSpec s = spec("  type: cnn\n  conv: [{filters: 16, kernel: 3, pool: 2}]\n  hidden: [64]\n",
        "  learningRate: 0.003\n  batchSize: 32\n  epochs: 4\n");
    MemberResult r = MemberTrainer.train(s, 0, train, validation, null, null);
    assertEquals(MemberStatus.OK, r.report().status());
    assertTrue(lastAccuracy(r) >= 0.90, "validation accuracy " + lastAccuracy(r) + " < 0.90");
  }

  @Test
  void earlyStoppingRestoresTheBestEpoch() {
    // 120 training rows and a wide network at a high rate overfit within a few epochs, so validation NLL rises.
    TrainingSet small = Digits.part(false, 120);
    String network = "  type: mlp\n  hidden: [256, 256]\n";
    EnsembleSpec s = spec(network,
        "  learningRate: 0.01\n  batchSize: 16\n  epochs: 60\n  earlyStopping: {patience: 3}\n");
    MemberResult r = MemberTrainer.train(s, 0, small, validation, null, null);
    MemberReport rep = r.report();
    assertEquals(MemberStatus.EARLY_STOPPED, rep.status());
    int best = rep.bestEpoch();
    assertEquals(best + 1 + 3, rep.epochsRun(), "stops after 3 epochs without improvement");
    double bestNll = rep.epochs().get(best).validationNll();
    for (EpochMetrics e : rep.epochs()) {
      assertTrue(e.validationNll() >= bestNll, "epoch " + e.epoch() + " beats the best epoch");
    }
    // The returned parameters are exactly those after the best epoch: train again for best + 1 epochs only.
    EnsembleSpec upToBest = spec(network, "  learningRate: 0.01\n  batchSize: 16\n  epochs: " + (best + 1) + "\n");
    MemberResult ref = MemberTrainer.train(upToBest, 0, small, validation, null, null);
    assertEquals(ref.report().paramsSha256(), rep.paramsSha256());
  }

  @Test
  void aDivergingLearningRateIsReportedAsDiverged() {
    EnsembleSpec s = spec("  type: mlp\n  hidden: [64]\n",
        "  optimizer: sgd\n  learningRate: 1000000\n  batchSize: 32\n  epochs: 3\n");
    InMemoryCheckpointer store = new InMemoryCheckpointer();
    MemberResult r = MemberTrainer.train(s, 2, Digits.part(false, 300), validation, store, null);
    assertEquals(MemberStatus.DIVERGED, r.report().status());
    assertNull(r.network());
    assertNull(r.report().paramsSha256());
    assertNotNull(r.report().message());
    assertTrue(r.report().message().contains("epoch 0"), r.report().message());
    assertTrue(!r.usable());
  }

  @Test
  void badLabelsAndArgumentsAreRejected() {
    EnsembleSpec s = spec("  type: mlp\n  hidden: [8]\n", "  epochs: 1\n");
    TrainingSet bad = TrainingSet.of(new float[][] {new float[64], new float[64]}, new float[] {1, 10});
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> MemberTrainer.train(s, 0, bad, null, null, null));
    assertTrue(e.getMessage().contains("label 10.0 is not a class index in 0..9"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> MemberTrainer.train(s, 3, bad, null, null, null));
    assertEquals("member must be in 0..2 (ensemble.members - 1), found 3", e.getMessage());
  }

  @Test
  void theLearningRateScheduleFollowsTheEpoch() {
    // Exponential decay 0.001 per epoch: Adam moves each weight by about the learning rate per step, so the
    // parameter change in epoch 1 must be about 1000x smaller than in epoch 0. Bound: 100x (a 10x margin).
    EnsembleSpec s = spec("  type: mlp\n  hidden: [16]\n",
        "  learningRate: 0.01\n  batchSize: 32\n  epochs: 2\n  schedule: {type: exponential, decay: 0.001}\n");
    List<MemberCheckpoint> saved = new ArrayList<>();
    Checkpointer all = new Checkpointer() {
      @Override
      public java.util.Optional<MemberCheckpoint> latest(int member) {
        return java.util.Optional.empty();
      }

      @Override
      public void save(int member, MemberCheckpoint c) {
        saved.add(c);
      }
    };
    TrainingSet part = Digits.part(false, 320);
    MemberResult r = MemberTrainer.train(s, 0, part, null, all, null);
    org.nd4j.linalg.api.ndarray.INDArray p0 =
        io.deepens.core.network.NetworkFactory.build(s, 64, r.report().seeds().get("init")).params();
    org.nd4j.linalg.api.ndarray.INDArray p1 = MemberModels.fromBytes(saved.get(0).model()).params();
    org.nd4j.linalg.api.ndarray.INDArray p2 = MemberModels.fromBytes(saved.get(1).model()).params();
    double first = p1.sub(p0).norm2Number().doubleValue();
    double second = p2.sub(p1).norm2Number().doubleValue();
    assertTrue(second * 100 < first, "epoch 0 moved " + first + ", epoch 1 moved " + second);
    assertEquals(0.01 * 0.001, r.report().epochs().get(1).learningRate(), 1e-15);
  }
}
