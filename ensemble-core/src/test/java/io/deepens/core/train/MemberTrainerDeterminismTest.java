package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bit-identical reproducibility: same seed twice, different members, and resuming from a checkpoint. The network
 * uses every source of randomness and state we have: init, shuffle, dropout, batch norm running statistics, Adam
 * moments, a cosine learning-rate schedule and weight decay. 400 training rows keep it fast.
 */
class MemberTrainerDeterminismTest {
  static TrainingSet train;
  static TrainingSet validation;
  static final EnsembleSpec SPEC = SpecLoader.parse(Digits.yaml("""
        type: mlp
        hidden: [32, 16]
        dropout: 0.2
        batchNorm: true
      """, """
        optimizer: adam
        learningRate: 0.005
        schedule: {type: cosine, minLearningRate: 0.0005}
        weightDecay: 0.0001
        batchSize: 32
        epochs: 4
        earlyStopping: {patience: 3}
      """), "determinism");

  @BeforeAll
  static void data() {
    train = Digits.part(false, 400);
    validation = Digits.part(true, 100);
  }

  private static float[] params(MemberResult r) {
    return r.network().params().toFloatVector();
  }

  @Test
  void sameSeedTwiceGivesIdenticalParametersAndDifferentMembersDiffer() {
    MemberResult a = MemberTrainer.train(SPEC, 1, train, validation, null, null);
    MemberResult b = MemberTrainer.train(SPEC, 1, train, validation, null, null);
    assertArrayEquals(params(a), params(b), 0f); // exact: tolerance 0
    assertEquals(a.report().paramsSha256(), b.report().paramsSha256());
    MemberResult c = MemberTrainer.train(SPEC, 2, train, validation, null, null);
    assertNotEquals(a.report().paramsSha256(), c.report().paramsSha256());
    assertNotEquals(a.report().seeds().get("init"), c.report().seeds().get("init"));
  }

  @Test
  void resumingAfterEpochTwoGivesBitIdenticalParameters() {
    InMemoryCheckpointer full = new InMemoryCheckpointer();
    MemberResult uninterrupted = MemberTrainer.train(SPEC, 0, train, validation, full, null);
    assertEquals(4, full.saveCount(0));
    io.deepens.core.DeepensException other = assertThrows(io.deepens.core.DeepensException.class,
        () -> MemberTrainer.train(SPEC.withEpochs(5), 0, train, validation, full, null));
    assertTrue(other.getMessage().contains("checkpoint was written for spec " + SPEC.sha256()), other.getMessage());

    InMemoryCheckpointer store = new InMemoryCheckpointer();
    List<Integer> heard = new ArrayList<>();
    RuntimeException crash = assertThrows(RuntimeException.class,
        () -> MemberTrainer.train(SPEC, 0, train, validation, store, (m, e) -> {
          heard.add(e.epoch());
          if (e.epoch() == 1) {
            throw new RuntimeException("executor lost");
          }
        }));
    assertEquals("executor lost", crash.getMessage());
    assertEquals(List.of(0, 1), heard);
    assertEquals(2, store.latest(0).orElseThrow().epochsCompleted());

    MemberResult resumed = MemberTrainer.train(SPEC, 0, train, validation, store, (m, e) -> heard.add(e.epoch()));
    assertEquals(List.of(0, 1, 2, 3), heard);
    assertEquals(2, resumed.report().resumedFromEpoch());
    assertEquals(4, resumed.report().epochsRun());
    assertArrayEquals(params(uninterrupted), params(resumed), 0f); // exact: tolerance 0
    assertEquals(uninterrupted.report().paramsSha256(), resumed.report().paramsSha256());
    assertEquals(uninterrupted.report().bestEpoch(), resumed.report().bestEpoch());
    for (int e = 0; e < 4; e++) {
      EpochMetrics u = uninterrupted.report().epochs().get(e);
      EpochMetrics r = resumed.report().epochs().get(e);
      assertEquals(u.trainLoss(), r.trainLoss(), 0.0);
      assertEquals(u.validationNll(), r.validationNll(), 0.0);
    }

    // A finished member's checkpoint is not trained again: the same result comes back.
    MemberResult again = MemberTrainer.train(SPEC, 0, train, validation, store, null);
    assertEquals(4, again.report().resumedFromEpoch());
    assertEquals(uninterrupted.report().paramsSha256(), again.report().paramsSha256());
  }

  @Test
  void aMemoryMappedTrainingSetTrainsExactlyLikeTheHeapOne(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    // 5 rows per mapping, so minibatches straddle chunk boundaries.
    TrainingSetBuilder b = new TrainingSetBuilder(64, dir, 5L * 65 * Float.BYTES);
    for (int i = 0; i < train.numRows(); i++) {
      b.add(train.features(i), train.label(i));
    }
    EnsembleSpec twoEpochs = SPEC.withEpochs(2);
    try (TrainingSet spilled = b.build()) {
      MemberResult heap = MemberTrainer.train(twoEpochs, 0, train, validation, null, null);
      MemberResult mapped = MemberTrainer.train(twoEpochs, 0, spilled, validation, null, null);
      assertEquals(heap.report().paramsSha256(), mapped.report().paramsSha256());
    }
  }

  @Test
  void membersTrainedConcurrentlyMatchMembersTrainedAlone() throws Exception {
    // Two Spark tasks in one executor JVM: ND4J's RNG is per thread, so each member's dropout masks stay its own.
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
