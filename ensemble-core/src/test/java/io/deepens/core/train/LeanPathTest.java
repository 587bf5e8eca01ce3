package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.lean.CnnTrainingStep;
import io.deepens.core.lean.LeanPath;
import io.deepens.core.lean.LeanPath.Backend;
import io.deepens.core.lean.LeanPath.Kind;
import io.deepens.core.lean.LeanPath.Path;
import io.deepens.core.lean.LeanPath.Reason;
import io.deepens.core.lean.MlpTrainingStep;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;

/**
 * {@link LeanPath}: the one decision between the lean CPU steps and DL4J, with the backend given, on real networks
 * (the presets the lean steps take and ones they refuse); and the member report that records it.
 */
class LeanPathTest {
  /** Takes SGD, which the lean MLP step refuses (it implements Adam only). */
  static final EnsembleSpec SGD_MLP = SpecLoader.parse(Digits.yaml("""
        type: mlp
        hidden: [16]
      """, """
        optimizer: sgd
        learningRate: 0.05
        batchSize: 32
        epochs: 1
      """), "sgd-mlp");

  static final UnaryOperator<String> NO_PROPERTIES = name -> null;

  static UnaryOperator<String> props(String name, String value) {
    return Map.of(name, value)::get;
  }

  static MultiLayerNetwork net(EnsembleSpec spec) {
    return NetworkFactory.build(spec, 64, 1234L).multiLayerNetwork().orElseThrow();
  }

  static LeanPath.Choice<MlpTrainingStep> mlp(Backend backend, UnaryOperator<String> props, EnsembleSpec spec) {
    MultiLayerNetwork n = net(spec);
    return LeanPath.choose(backend, MemberTrainer.leanKind(spec), props, () -> MlpTrainingStep.create(n, 32),
        () -> "failed check " + MlpTrainingStep.lastRejection());
  }

  static LeanPath.Choice<CnnTrainingStep> cnn(Backend backend, UnaryOperator<String> props) {
    MultiLayerNetwork n = net(CnnTrainingStepTest.NO_DROPOUT);
    return LeanPath.choose(backend, MemberTrainer.leanKind(CnnTrainingStepTest.NO_DROPOUT), props,
        () -> CnnTrainingStep.create(n, 32, true), () -> "failed check " + CnnTrainingStep.lastRejection());
  }

  static void assertDecision(Path path, Reason reason, Backend backend, LeanPath.Choice<?> c) {
    assertEquals(path, c.decision().path(), c.decision().describe());
    assertEquals(reason, c.decision().reason(), c.decision().describe());
    assertEquals(backend, c.decision().backend());
    assertEquals(path == Path.LEAN, c.lean() != null, "a lean step exactly when the path is LEAN");
  }

  @Test
  void cpuBackendRunsTheLeanStepsForSupportedMlpAndCnn() {
    assertEquals(Kind.MLP, MemberTrainer.leanKind(MlpTrainingStepTest.SPEC));
    assertEquals(Kind.CNN, MemberTrainer.leanKind(CnnTrainingStepTest.NO_DROPOUT));
    assertDecision(Path.LEAN, Reason.CPU_BACKEND_AND_SUPPORTED_NETWORK, Backend.CPU,
        mlp(Backend.CPU, NO_PROPERTIES, MlpTrainingStepTest.SPEC));
    assertDecision(Path.LEAN, Reason.CPU_BACKEND_AND_SUPPORTED_NETWORK, Backend.CPU, cnn(Backend.CPU, NO_PROPERTIES));
    // this build's backend is ND4J's CPU one, and a CNN member's own forward pass (scoring) is the lean one there
    assertEquals(Backend.CPU, Backend.current());
    MemberNetwork member = NetworkFactory.build(CnnTrainingStepTest.NO_DROPOUT, 64, 7L);
    assertEquals(Reason.CPU_BACKEND_AND_SUPPORTED_NETWORK, member.forwardPath().reason());
  }

  @Test
  void anyOtherBackendRunsDl4jWithoutBuildingALeanStep() {
    for (Backend b : new Backend[] {Backend.CUDA, Backend.OTHER}) {
      AtomicInteger built = new AtomicInteger();
      Supplier<Optional<String>> factory = () -> {
        built.incrementAndGet();
        return Optional.of("lean");
      };
      for (Kind k : new Kind[] {Kind.MLP, Kind.CNN}) {
        LeanPath.Choice<String> c = LeanPath.choose(b, k, NO_PROPERTIES, factory, null);
        assertDecision(Path.DL4J, Reason.BACKEND_NOT_CPU, b, c);
      }
      // the lean classes allocate host buffers and call OpenBLAS: on a GPU backend they must not even be built
      assertEquals(0, built.get(), "lean step built on backend " + b);
      assertDecision(Path.DL4J, Reason.BACKEND_NOT_CPU, b, mlp(b, NO_PROPERTIES, MlpTrainingStepTest.SPEC));
      assertDecision(Path.DL4J, Reason.BACKEND_NOT_CPU, b, cnn(b, NO_PROPERTIES));
    }
  }

  @Test
  void networksWithoutALeanStepOrRefusedByItRunDl4jWithTheirReason() throws Exception {
    LeanPath.Choice<MlpTrainingStep> sgd = mlp(Backend.CPU, NO_PROPERTIES, SGD_MLP);
    assertDecision(Path.DL4J, Reason.UNSUPPORTED_NETWORK, Backend.CPU, sgd);
    assertTrue(sgd.decision().detail().startsWith("failed check "), sgd.decision().detail());
    assertNotNull(MlpTrainingStep.lastRejection());

    EnsembleSpec regression = SpecLoader.load(MemberModelsTest.conf("digits-regression.yaml"));
    assertEquals(Kind.OTHER, MemberTrainer.leanKind(regression));
    AtomicInteger built = new AtomicInteger();
    LeanPath.Choice<Object> c = LeanPath.choose(Backend.CPU, Kind.OTHER, NO_PROPERTIES, () -> {
      built.incrementAndGet();
      return Optional.of(new Object());
    }, null);
    assertDecision(Path.DL4J, Reason.NO_LEAN_STEP_FOR_NETWORK, Backend.CPU, c);
    assertEquals(0, built.get());
    // an MLP member's own forward pass has no lean version (the stacked pass over all members is the scorer's)
    assertEquals(Reason.NO_LEAN_STEP_FOR_NETWORK,
        NetworkFactory.build(MlpTrainingStepTest.SPEC, 64, 7L).forwardPath().reason());
  }

  @Test
  void theSwitchIsParsedOneWayForEachKind() {
    for (String off : new String[] {"false", "FALSE", "no", "Off", " 0 "}) {
      LeanPath.Choice<MlpTrainingStep> m =
          mlp(Backend.CPU, props(LeanPath.MLP_PROPERTY, off), MlpTrainingStepTest.SPEC);
      assertDecision(Path.DL4J, Reason.SWITCHED_OFF, Backend.CPU, m);
      assertEquals("-Ddeepens.fastMlp=" + off, m.decision().detail());
      assertDecision(Path.DL4J, Reason.SWITCHED_OFF, Backend.CPU, cnn(Backend.CPU, props(LeanPath.CNN_PROPERTY, off)));
      // one kind's switch leaves the other kind alone
      assertDecision(Path.LEAN, Reason.CPU_BACKEND_AND_SUPPORTED_NETWORK, Backend.CPU,
          cnn(Backend.CPU, props(LeanPath.MLP_PROPERTY, off)));
    }
    for (String on : new String[] {"true", "YES", "on", "1", ""}) {
      assertDecision(Path.LEAN, Reason.CPU_BACKEND_AND_SUPPORTED_NETWORK, Backend.CPU,
          mlp(Backend.CPU, props(LeanPath.MLP_PROPERTY, on), MlpTrainingStepTest.SPEC));
    }
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> mlp(Backend.CPU, props(LeanPath.MLP_PROPERTY, "flase"), MlpTrainingStepTest.SPEC));
    assertTrue(e.getMessage().contains("deepens.fastMlp is 'flase'"), e.getMessage());
    assertTrue(e.getMessage().contains("use false (or no, off, 0)"), e.getMessage());
    // the backend comes first: on CUDA an unparseable switch does not matter, DL4J runs anyway
    assertDecision(Path.DL4J, Reason.BACKEND_NOT_CPU, Backend.CUDA,
        mlp(Backend.CUDA, props(LeanPath.MLP_PROPERTY, "flase"), MlpTrainingStepTest.SPEC));
  }

  @Test
  void trainingAndScoringReadTheSameSwitchTheSameWay() {
    // "no" used to turn the stacked scoring pass off but not training; now it turns both off, through LeanPath
    System.setProperty(LeanPath.CNN_PROPERTY, "no");
    try {
      MemberResult r = MemberTrainer.train(CnnTrainingStepTest.NO_DROPOUT.withEpochs(1), 0, Digits.part(false, 64),
          Digits.part(true, 16), null, null);
      assertEquals(Reason.SWITCHED_OFF, r.report().compute().reason());
      assertEquals(Reason.SWITCHED_OFF, r.network().forwardPath().reason());
    } finally {
      System.clearProperty(LeanPath.CNN_PROPERTY);
    }
  }

  @Test
  void theMemberReportRecordsBackendPathAndReason() throws Exception {
    MemberResult lean = MemberTrainer.train(MlpTrainingStepTest.SPEC.withEpochs(1), 0, Digits.part(false, 200),
        Digits.part(true, 50), null, null);
    assertEquals(new ComputePath(Backend.CPU, null, Path.LEAN, Reason.CPU_BACKEND_AND_SUPPORTED_NETWORK, null),
        lean.report().compute());
    MemberResult refused = MemberTrainer.train(SGD_MLP, 1, Digits.part(false, 200), Digits.part(true, 50), null,
        null);
    ComputePath c = refused.report().compute();
    assertEquals(Path.DL4J, c.path());
    assertEquals(Reason.UNSUPPORTED_NETWORK, c.reason());
    assertNull(c.device(), "no device on the CPU backend");
    // as the manifest stores it
    JsonNode json = EnsembleStore.json().readTree(EnsembleStore.json().writeValueAsString(refused.report()));
    assertEquals("CPU", json.path("compute").path("backend").asText());
    assertEquals("DL4J", json.path("compute").path("path").asText());
    assertEquals("UNSUPPORTED_NETWORK", json.path("compute").path("reason").asText());
    assertTrue(json.path("compute").path("device").isNull(), json.toString());
  }
}
