package io.deepens.core.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SpecLoaderTest {
  /** The project's conf/ folder, found upwards from the working directory. */
  static Path confDir() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("conf/digits-mlp.yaml"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("conf/digits-mlp.yaml not found above " + Path.of("").toAbsolutePath());
    }
    return p.resolve("conf");
  }

  static Stream<Path> examples() throws IOException {
    try (Stream<Path> s = Files.list(confDir())) {
      return s.filter(f -> f.toString().endsWith(".yaml") && !f.getFileName().toString().startsWith("log4j"))
          .sorted().toList().stream();
    }
  }

  @Test
  void everyExampleIsFound() throws IOException {
    List<String> names = examples().map(p -> p.getFileName().toString()).toList();
    assertTrue(names.containsAll(List.of("digits-mlp.yaml", "digits-cnn.yaml", "digits-regression.yaml",
        "digits-dl4j-json.yaml", "digits-dl4j-graph.yaml", "fashion-mnist-mlp.yaml", "fashion-mnist-cnn.yaml")),
        names.toString());
  }

  @ParameterizedTest
  @MethodSource("examples")
  void everyExampleLoadsAndRoundTripsThroughCanonicalJson(Path file) {
    EnsembleSpec spec = SpecLoader.load(file);
    String json = spec.toJson();
    EnsembleSpec back = EnsembleSpec.fromJson(json);
    assertEquals(spec, back);
    assertEquals(json, back.toJson());
    assertEquals(spec.sha256(), back.sha256());
    assertEquals(64, spec.sha256().length());
  }

  @Test
  void digitsMlpKeysAreRead() {
    EnsembleSpec s = SpecLoader.load(confDir().resolve("digits-mlp.yaml"));
    assertEquals("digits-mlp", s.name());
    assertEquals(Task.CLASSIFICATION, s.task());
    assertEquals(List.of("features"), s.data().features());
    assertEquals(8, s.data().classes());
    assertEquals("id", s.data().key());
    assertEquals(0.15, s.data().validation().fraction(), 0.0);
    assertEquals(NetworkType.MLP, s.network().type());
    assertEquals(List.of(64, 64), s.network().hidden());
    assertEquals(Optimizer.ADAM, s.training().optimizer());
    assertEquals(0.003, s.training().learningRate(), 0.0);
    assertEquals(ScheduleSpec.Type.CONSTANT, s.training().schedule().type());
    assertEquals(1e-4, s.training().weightDecay(), 0.0);
    assertEquals(32, s.training().batchSize());
    assertEquals(30, s.training().epochs());
    assertEquals(5, s.training().earlyStoppingPatience());
    assertEquals(4, s.ensemble().members());
    assertEquals(20261127L, s.ensemble().seed());
    assertEquals(Weighting.UNIFORM, s.ensemble().weighting());
    assertEquals(1, s.resources().threadsPerMember());
    assertEquals(0.0, s.resources().gpusPerMember(), 0.0);
  }

  @Test
  void fashionMnistExamplesMatchTheReferenceNetworks() {
    EnsembleSpec mlp = SpecLoader.load(confDir().resolve("fashion-mnist-mlp.yaml"));
    assertEquals(5, mlp.ensemble().members());
    assertEquals(List.of(200, 200, 200), mlp.network().hidden());
    assertEquals(10, mlp.outputs());
    assertEquals(128, mlp.training().batchSize());
    assertEquals(10, mlp.training().epochs());
    EnsembleSpec cnn = SpecLoader.load(confDir().resolve("fashion-mnist-cnn.yaml"));
    assertEquals(List.of(1, 28, 28), cnn.data().inputShape());
    assertEquals(5, cnn.ensemble().members());
    assertEquals(2, cnn.resources().membersPerGpu());
  }

  @Test
  void dl4jJsonConfigPathIsInlined() {
    EnsembleSpec s = SpecLoader.load(confDir().resolve("digits-dl4j-json.yaml"));
    assertEquals(NetworkType.DL4J_JSON, s.network().type());
    assertTrue(s.network().config().contains("org.deeplearning4j.nn.conf.layers.DenseLayer"));
    assertTrue(s.toJson().contains("\"config\""));
    EnsembleSpec g = SpecLoader.load(confDir().resolve("digits-dl4j-graph.yaml"));
    assertEquals(NetworkType.DL4J_JSON, g.network().type());
    assertTrue(g.network().config().contains("org.deeplearning4j.nn.conf.graph.ElementWiseVertex"));
    assertEquals(8, g.outputs());
  }

  @Test
  void withMembersAndEpochsChangeOnlyThoseAndTheHash() {
    EnsembleSpec s = SpecLoader.load(confDir().resolve("digits-mlp.yaml"));
    EnsembleSpec m = s.withMembers(9).withEpochs(2);
    assertEquals(9, m.ensemble().members());
    assertEquals(2, m.training().epochs());
    assertEquals(s.network(), m.network());
    assertNotEquals(s.sha256(), m.sha256());
    assertThrows(InvalidInputException.class, () -> s.withMembers(0));
  }

  private static String base() {
    return """
        name: t
        task: classification
        data:
          features: [a, b]
          label: y
          classes: 3
        network:
          type: mlp
          hidden: [8]
        training:
          learningRate: 0.01
          epochs: 3
        ensemble:
          members: 2
          seed: 1
        """;
  }

  private static String error(String yaml) {
    return assertThrows(InvalidInputException.class, () -> SpecLoader.parse(yaml, "conf/x.yaml")).getMessage();
  }

  @Test
  void defaultsAreFilledIn() {
    EnsembleSpec s = SpecLoader.parse(base(), "conf/x.yaml");
    assertEquals(List.of("a", "b"), s.data().features());
    assertEquals(0.1, s.data().validation().fraction(), 0.0);
    assertEquals("relu", s.network().activation());
    assertEquals(Optimizer.ADAM, s.training().optimizer());
    assertEquals(128, s.training().batchSize());
    assertEquals(0, s.training().earlyStoppingPatience());
    assertEquals(1, s.resources().threadsPerMember());
  }

  @Test
  void unknownKeyNamesItsPathAndTheAllowedKeys() {
    String msg = error(base().replace("  epochs: 3", "  epochs: 3\n  epoch: 4"));
    assertTrue(msg.startsWith("conf/x.yaml: training.epoch is not a known key"), msg);
    assertTrue(msg.contains("batchSize, checkpointEveryRows, earlyStopping, epochs, learningRate, optimizer, schedule, "
        + "weightDecay"), msg);
    String top = error(base() + "extra: 1\n");
    assertTrue(top.contains("extra is not a known key; allowed keys at the top level"), top);
  }

  @Test
  void outOfRangeValueNamesPathValueAndRule() {
    assertEquals("conf/x.yaml: training.learningRate must be > 0, found -1.0",
        error(base().replace("learningRate: 0.01", "learningRate: -1")));
    assertEquals("conf/x.yaml: ensemble.members must be >= 1, found 0",
        error(base().replace("members: 2", "members: 0")));
    assertEquals("conf/x.yaml: network.dropout must be in [0, 1), found 1.0",
        error(base().replace("hidden: [8]", "hidden: [8]\n  dropout: 1.0")));
    assertEquals("conf/x.yaml: network.hidden[1] must be >= 1, found 0",
        error(base().replace("hidden: [8]", "hidden: [8, 0]")));
  }

  @Test
  void wrongTypeNamesPathAndValue() {
    assertEquals("conf/x.yaml: training.epochs must be an integer, found \"ten\"",
        error(base().replace("epochs: 3", "epochs: ten")));
    assertEquals("conf/x.yaml: training.epochs must be an integer, found 2.5",
        error(base().replace("epochs: 3", "epochs: 2.5")));
    assertEquals("conf/x.yaml: network.type must be one of mlp | cnn | dl4j-json, found \"rnn\"",
        error(base().replace("type: mlp", "type: rnn")));
    assertEquals("conf/x.yaml: training must be a mapping of keys [batchSize, checkpointEveryRows, earlyStopping, epochs, learningRate,"
        + " optimizer, schedule, weightDecay], found 5", error(base().replace("training:\n  learningRate: 0.01\n"
        + "  epochs: 3", "training: 5")));
  }

  @Test
  void missingRequiredKeyIsNamed() {
    assertEquals("conf/x.yaml: data.label must be given", error(base().replace("  label: y\n", "")));
    assertEquals("conf/x.yaml: data.classes must be given", error(base().replace("  classes: 3\n", "")));
  }

  @Test
  void crossSectionRules() {
    assertTrue(error(base().replace("type: mlp", "type: cnn\n  conv: [{filters: 4, kernel: 3}]"))
        .contains("data.inputShape ([channels, height, width]) must be given for network.type cnn"));
    assertTrue(error(base().replace("task: classification", "task: regression"))
        .contains("data.classes applies only to task classification, found 3"));
    assertTrue(error(base().replace("seed: 1", "seed: 1\n  mcDropoutSamples: 10"))
        .contains("ensemble.mcDropoutSamples = 10 needs network.dropout > 0"));
    assertTrue(error(base().replace("epochs: 3", "epochs: 3\n  schedule: {type: step, decay: 0.5}"))
        .contains("training.schedule.every must be given"));
    assertTrue(error(base().replace("epochs: 3", "epochs: 3\n  schedule: {type: cosine, every: 2}"))
        .contains("training.schedule.every is not a known key; allowed keys under training.schedule: "
            + "minLearningRate, type"));
  }

  @Test
  void gpuFractionsMustBeWholeOrOneOverN() {
    for (String ok : List.of("0", "1", "2", "0.5", "0.25", "0.2", "0.333")) {
      SpecLoader.parse(base() + "resources:\n  gpusPerMember: " + ok + "\n", "x");
    }
    for (String bad : List.of("0.3", "1.5", "0.7", "-1")) {
      String msg = error(base() + "resources:\n  gpusPerMember: " + bad + "\n");
      assertTrue(msg.contains("resources.gpusPerMember must be a whole number >= 0 or a fraction 1/n with n >= 2"),
          msg);
    }
  }

  @Test
  void duplicateKeysAndEmptyDocumentsAreRejected() {
    assertTrue(error(base() + "name: again\n").contains("conf/x.yaml: not a valid spec document"));
    assertEquals("conf/x.yaml: the spec is empty", error(""));
  }

  @Test
  void canonicalJsonIsStable() {
    EnsembleSpec s = SpecLoader.parse(base(), "x");
    // Same spec written with other spacing and key order gives the same canonical JSON and hash.
    EnsembleSpec t = SpecLoader.parse("""
        task: classification
        name: t
        ensemble: {seed: 1, members: 2}
        training: {epochs: 3, learningRate: 0.01}
        network: {hidden: [8], type: mlp}
        data: {classes: 3, label: y, features: [a, b]}
        """, "y");
    assertEquals(s.toJson(), t.toJson());
    assertEquals(s.sha256(), t.sha256());
  }

  @Test
  void placementDefaultsToCopyAndKeepsTheCanonicalJsonOfSpecsWithoutIt() {
    EnsembleSpec copy = SpecLoader.parse(base(), "conf/x.yaml");
    assertEquals(Placement.COPY, copy.data().placement());
    assertEquals(0, copy.data().shuffleBuffer());
    assertEquals(0, copy.training().checkpointEveryRows());
    assertTrue(!copy.toJson().contains("placement") && !copy.toJson().contains("checkpointEveryRows"), copy.toJson());
    EnsembleSpec explicitCopy = SpecLoader.parse(base().replace("data:\n", "data:\n  placement: copy\n"), "conf/x.yaml");
    assertEquals(copy.sha256(), explicitCopy.sha256());
  }

  @Test
  void streamPlacementReadsItsBufferAndCheckpointIntervalAndRoundTrips() {
    EnsembleSpec s = SpecLoader.parse(base().replace("data:\n", "data:\n  placement: stream\n")
        .replace("  epochs: 3", "  epochs: 3\n  checkpointEveryRows: 5000"), "conf/x.yaml");
    assertEquals(Placement.STREAM, s.data().placement());
    assertEquals(DataSpec.DEFAULT_SHUFFLE_BUFFER, s.data().shuffleBuffer());
    assertEquals(5000, s.training().checkpointEveryRows());
    EnsembleSpec back = EnsembleSpec.fromJson(s.toJson());
    assertEquals(s, back);
    EnsembleSpec b = SpecLoader.parse(base().replace("data:\n", "data:\n  placement: stream\n  shuffleBuffer: 99\n"),
        "conf/x.yaml");
    assertEquals(99, b.data().shuffleBuffer());
  }

  @Test
  void placementErrorsNameTheKeyAndTheFix() {
    assertEquals("conf/x.yaml: data.placement must be one of copy | stream, found \"cache\"",
        error(base().replace("data:\n", "data:\n  placement: cache\n")));
    assertTrue(error(base().replace("data:\n", "data:\n  shuffleBuffer: 10\n"))
        .contains("data.shuffleBuffer applies only to data.placement: stream"));
    assertTrue(error(base().replace("data:\n", "data:\n  placement: stream\n  shuffleBuffer: 0\n"))
        .contains("data.shuffleBuffer must be >= 1 row, found 0"));
    assertTrue(error(base().replace("  epochs: 3", "  epochs: 3\n  checkpointEveryRows: 100"))
        .contains("training.checkpointEveryRows (100) applies only to data.placement: stream"));
  }
}
