package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import org.junit.jupiter.api.Test;

/** Warm start through the checkpoint hook: parameters from the previous member, everything else from the spec. */
class WarmStartCheckpointerTest {
  static final EnsembleSpec SPEC = SpecLoader.parse(Digits.yaml("""
        type: mlp
        hidden: [16]
      """, """
        optimizer: adam
        learningRate: 0.005
        batchSize: 32
        epochs: 1
      """), "warm-start");

  @Test
  void startsFromThePreviousParametersAndYieldsToTheMembersOwnCheckpoint() {
    MemberNetwork prev = NetworkFactory.build(SPEC, 64, 12345L);
    InMemoryCheckpointer own = new InMemoryCheckpointer();
    WarmStartCheckpointer w = new WarmStartCheckpointer(own, SPEC, 64, m -> m == 1 ? prev : null, "v000009");
    MemberCheckpoint c = w.latest(1).orElseThrow();
    assertEquals(0, c.epochsCompleted());
    assertTrue(c.history().isEmpty());
    MemberNetwork start = MemberModels.fromBytes(c.model());
    assertArrayEquals(prev.params().toFloatVector(), start.params().toFloatVector(), 0f);
    assertTrue(w.latest(0).isEmpty(), "a member without a previous network starts from its own seed");

    MemberResult r = MemberTrainer.train(SPEC, 1, Digits.part(false, 300), Digits.part(true, 100), w, null);
    assertEquals(1, own.saveCount(1), "checkpoints go to the member's own checkpointer");
    assertEquals(1, w.latest(1).orElseThrow().epochsCompleted(), "once saved, the member's own checkpoint wins");
    assertNotEquals(MemberModels.paramsSha256(prev), r.report().paramsSha256());
  }

  @Test
  void continuesTrainingAPreviousMemberInsteadOfStartingOver() {
    TrainingSet train = Digits.part(false, 600);
    TrainingSet val = Digits.part(true, 200);
    MemberResult cold = MemberTrainer.train(SPEC, 0, train, val, null, null);
    MemberResult warm = MemberTrainer.train(SPEC, 0, train, val,
        new WarmStartCheckpointer(null, SPEC, 64, m -> cold.network(), "v000001"), null);
    MemberResult warmAgain = MemberTrainer.train(SPEC, 0, train, val,
        new WarmStartCheckpointer(null, SPEC, 64, m -> cold.network(), "v000001"), null);
    double coldNll = cold.report().epochs().get(0).validationNll();
    double warmNll = warm.report().epochs().get(0).validationNll();
    // one epoch more of the same member: clearly better than one epoch from scratch
    assertTrue(warmNll < 0.9 * coldNll, "warm " + warmNll + " vs cold " + coldNll);
    assertEquals(warm.report().paramsSha256(), warmAgain.report().paramsSha256(), "warm start is deterministic");
  }

  @Test
  void aDifferentArchitectureIsAClearError() {
    MemberNetwork narrow = NetworkFactory.build(SPEC, 32, 1L);
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> new WarmStartCheckpointer(null, SPEC, 64, m -> narrow, "v000004").latest(0));
    assertTrue(e.getMessage().contains("warm start from v000004") && e.getMessage().contains("[32, 16]")
        && e.getMessage().contains("[64, 16]") && e.getMessage().contains("without --warm-start"), e.getMessage());
  }
}
