package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Members whose {@code dl4j-json} network is a DL4J {@code ComputationGraphConfiguration}: the example
 * {@code conf/digits-dl4j-graph.yaml} (a wide branch and a residual dense block merged) and small graphs built here
 * with DL4J's builder. The same guarantees as for multilayer members: seeds, exact resume, files, MC dropout, and
 * clear refusals for graphs deepens cannot train.
 */
class ComputationGraphMemberTest {
  static TrainingSet train;
  static TrainingSet validation;

  @BeforeAll
  static void data() {
    train = Digits.part(false, 400);
    validation = Digits.part(true, 100);
  }

  /** A spec for the 10 digit classes whose network is the given configuration JSON, inlined. */
  static EnsembleSpec spec(String configJson, String training) {
    return SpecLoader.parse(Digits.yaml("  type: dl4j-json\n  config: '" + compact(configJson).replace("'", "''")
        + "'\n", training), "graph-test");
  }

  static String compact(String json) {
    try {
      ObjectMapper m = new ObjectMapper();
      return m.writeValueAsString(m.readTree(json));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The JSON tree without the fields DL4J fills in at initialisation ("variables", "topologicalOrder*"). */
  static JsonNode withoutDerivedFields(String json) throws IOException {
    JsonNode root = new ObjectMapper().readTree(json);
    List<JsonNode> todo = new ArrayList<>(List.of(root));
    while (!todo.isEmpty()) {
      JsonNode n = todo.remove(todo.size() - 1);
      if (n instanceof ObjectNode o) {
        o.remove(List.of("variables", "topologicalOrder", "topologicalOrderStr"));
      }
      n.elements().forEachRemaining(todo::add);
    }
    return root;
  }

  static GraphBuilder builder() {
    return new NeuralNetConfiguration.Builder()
        .seed(1)
        .dataType(DataType.FLOAT)
        .updater(new Adam(0.005))
        .graphBuilder();
  }

  /**
   * x → d1 (dense 32) → bn → d2 (dense 32, dropout) ; sum = bn + d2 → out (softmax, dropout): every source of
   * randomness and state a graph member has (init, shuffle, dropout masks, batch-norm statistics, Adam moments).
   */
  static String residualGraph(double dropout, int classes) {
    GraphBuilder g = builder()
        .addInputs("x")
        .setInputTypes(InputType.feedForward(64))
        .addLayer("d1", new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build(), "x")
        .addLayer("bn", new BatchNormalization.Builder().build(), "d1");
    DenseLayer.Builder d2 = new DenseLayer.Builder().nOut(32).activation(Activation.RELU);
    OutputLayer.Builder out = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
        .nOut(classes).activation(Activation.SOFTMAX);
    if (dropout > 0) {
      d2.dropOut(new Dropout(1 - dropout));
      out.dropOut(new Dropout(1 - dropout));
    }
    return g.addLayer("d2", d2.build(), "bn")
        .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "bn", "d2")
        .addLayer("out", out.build(), "sum")
        .setOutputs("out")
        .build()
        .toJson();
  }

  static final EnsembleSpec DETERMINISM = spec(residualGraph(0.2, 10), """
        batchSize: 32
        epochs: 4
        earlyStopping: {patience: 3}
      """);

  @Test
  void theExampleGraphRoundTripsThroughNetworkAndMemberFile() throws IOException {
    String json = Files.readString(MemberModelsTest.conf("digits-dl4j-graph.json"));
    EnsembleSpec spec = SpecLoader.load(MemberModelsTest.conf("digits-dl4j-graph.yaml"));
    // Built with the JSON's own seed (1), the network's configuration is the user's: equal JSON trees once the
    // fields DL4J fills in at initialisation (parameter names, topological order) are set aside.
    MemberNetwork net = NetworkFactory.build(spec, 64, 1L);
    assertEquals("ComputationGraph", net.kind());
    assertEquals(withoutDerivedFields(json), withoutDerivedFields(net.configurationJson()));
    assertEquals(withoutDerivedFields(json),
        withoutDerivedFields(ComputationGraphConfiguration.fromJson(net.configurationJson()).toJson()));
    // 64·64+64 + 64·48+48 + 48·48+48 + 112·8+8 weights and biases
    assertEquals(64 * 64 + 64 + 64 * 48 + 48 + 48 * 48 + 48 + 112 * 8 + 8, net.numParams());

    // Through a member file (ModelSerializer zip with updater state) after some training, and back.
    MemberResult r = MemberTrainer.train(spec.withEpochs(2), 0, MemberModelsTest.digitsBelow(8, false),
        MemberModelsTest.digitsBelow(8, true), null, null);
    byte[] bytes = MemberModels.toBytes(r.network());
    MemberNetwork read = MemberModels.fromBytes(bytes);
    assertTrue(read.computationGraph().isPresent());
    assertEquals(r.network().configurationJson(), read.configurationJson());
    assertEquals(r.report().paramsSha256(), MemberModels.paramsSha256(read));
    assertEquals(r.network().updaterState(), read.updaterState());
    assertEquals(r.network().iterationCount(), read.iterationCount());
    float[] x = MemberModelsTest.rows(validation, 20);
    assertArrayEquals(MemberModels.predict(r.network(), x, 20, 64), MemberModels.predict(read, x, 20, 64), 0f);
  }

  @Test
  void eachMembersSeedReplacesTheGraphsSeed() {
    EnsembleSpec spec = SpecLoader.load(MemberModelsTest.conf("digits-dl4j-graph.yaml"));
    MemberNetwork a = NetworkFactory.build(spec, 64, 11L);
    MemberNetwork b = NetworkFactory.build(spec, 64, 11L);
    MemberNetwork c = NetworkFactory.build(spec, 64, 12L);
    assertArrayEquals(a.params().toFloatVector(), b.params().toFloatVector(), 0f); // exact: tolerance 0
    assertFalse(java.util.Arrays.equals(a.params().toFloatVector(), c.params().toFloatVector()));
    ComputationGraphConfiguration conf = a.computationGraph().orElseThrow().getConfiguration();
    assertEquals(11L, conf.getDefaultConfiguration().getSeed());
    for (var v : conf.getVertices().values()) {
      if (v instanceof LayerVertex lv) {
        assertEquals(11L, lv.getLayerConf().getSeed());
      }
    }
  }

  @Test
  void sameSeedTwiceGivesIdenticalParametersAndDifferentMembersDiffer() {
    MemberResult a = MemberTrainer.train(DETERMINISM, 1, train, validation, null, null);
    MemberResult b = MemberTrainer.train(DETERMINISM, 1, train, validation, null, null);
    assertArrayEquals(a.network().params().toFloatVector(), b.network().params().toFloatVector(), 0f); // exact
    assertEquals(a.report().paramsSha256(), b.report().paramsSha256());
    MemberResult c = MemberTrainer.train(DETERMINISM, 2, train, validation, null, null);
    assertNotEquals(a.report().paramsSha256(), c.report().paramsSha256());
  }

  @Test
  void resumingAfterEpochTwoGivesBitIdenticalParameters() {
    MemberResult uninterrupted = MemberTrainer.train(DETERMINISM, 0, train, validation, null, null);
    InMemoryCheckpointer store = new InMemoryCheckpointer();
    List<Integer> heard = new ArrayList<>();
    RuntimeException crash = assertThrows(RuntimeException.class,
        () -> MemberTrainer.train(DETERMINISM, 0, train, validation, store, (m, e) -> {
          heard.add(e.epoch());
          if (e.epoch() == 1) {
            throw new RuntimeException("executor lost");
          }
        }));
    assertEquals("executor lost", crash.getMessage());
    assertEquals(2, store.latest(0).orElseThrow().epochsCompleted());

    MemberResult resumed =
        MemberTrainer.train(DETERMINISM, 0, train, validation, store, (m, e) -> heard.add(e.epoch()));
    assertEquals(List.of(0, 1, 2, 3), heard);
    assertEquals(2, resumed.report().resumedFromEpoch());
    assertArrayEquals(uninterrupted.network().params().toFloatVector(), resumed.network().params().toFloatVector(),
        0f); // exact: tolerance 0
    assertEquals(uninterrupted.report().paramsSha256(), resumed.report().paramsSha256());
    assertEquals(uninterrupted.network().updaterState(), resumed.network().updaterState());
    for (int e = 0; e < 4; e++) {
      assertEquals(uninterrupted.report().epochs().get(e).trainLoss(), resumed.report().epochs().get(e).trainLoss(),
          0.0);
      assertEquals(uninterrupted.report().epochs().get(e).validationNll(),
          resumed.report().epochs().get(e).validationNll(), 0.0);
    }
  }

  /**
   * The example graph on the 8 seen digits (1,166 training and 277 validation rows of digits 0-7, split by id as in
   * the other tests). The bound is MemberTrainerTest's: a multinomial logistic regression reaches about 0.95 on these
   * digits; 0.90 is about 4 standard errors of a 277-row accuracy (sqrt(0.95 · 0.05 / 277) = 0.013) below that, so
   * platform and seed differences pass while a graph that does not learn fails (chance is 0.125). A development
   * run reached 0.978 after 5 epochs.
   */
  @Test
  void theExampleGraphLearnsTheSeenDigits() {
    EnsembleSpec spec = SpecLoader.load(MemberModelsTest.conf("digits-dl4j-graph.yaml")).withEpochs(5);
    TrainingSet seen = MemberModelsTest.digitsBelow(8, false);
    TrainingSet seenValidation = MemberModelsTest.digitsBelow(8, true);
    MemberResult r = MemberTrainer.train(spec, 0, seen, seenValidation, null, null);
    assertEquals(MemberStatus.OK, r.report().status());
    List<EpochMetrics> e = r.report().epochs();
    double accuracy = e.get(e.size() - 1).validationAccuracy();
    assertTrue(accuracy >= 0.90, "validation accuracy " + accuracy + " < 0.90");
    assertTrue(e.get(e.size() - 1).trainLoss() < e.get(0).trainLoss());
  }

  @Test
  void mcDropoutRunsOnGraphs() {
    float[] x = MemberModelsTest.rows(validation, 16);
    // Without dropout every pass is the inference output (batch norm on its running statistics), up to float
    // rounding of the vertex-by-vertex path: tolerance 1e-6 on probabilities.
    MemberNetwork plain = MemberTrainer.train(spec(residualGraph(0, 10), "  batchSize: 32\n  epochs: 1\n"), 0,
        train, null, null, null).network();
    float[] expected = MemberModels.predict(plain, x, 16, 64);
    for (float[] pass : McDropout.sample(plain, x, 16, 64, 3, 1)) {
      assertArrayEquals(expected, pass, 1e-6f);
    }
    // With dropout, passes differ from each other, repeat for the same seed, and leave inference untouched.
    MemberNetwork dropout = MemberTrainer.train(DETERMINISM.withEpochs(1), 0, train, null, null, null).network();
    float[] p1 = MemberModels.predict(dropout, x, 16, 64);
    float[][] a = McDropout.sample(dropout, x, 16, 64, 3, 99);
    float[][] b = McDropout.sample(dropout, x, 16, 64, 3, 99);
    for (int s = 0; s < 3; s++) {
      assertArrayEquals(a[s], b[s], 0f); // exact: same seed, same masks
      double sum = 0;
      for (int k = 0; k < 10; k++) {
        sum += a[s][k];
      }
      assertEquals(1.0, sum, 1e-5); // a row's probabilities sum to 1 up to float rounding
    }
    assertFalse(java.util.Arrays.equals(a[0], a[1]), "dropout masks differ between passes");
    assertArrayEquals(p1, MemberModels.predict(dropout, x, 16, 64), 0f);
  }

  @Test
  void warmStartCopiesAGraphMembersParameters() {
    EnsembleSpec spec = DETERMINISM.withEpochs(1);
    MemberNetwork prev = NetworkFactory.build(spec, 64, 4242L);
    WarmStartCheckpointer w = new WarmStartCheckpointer(null, spec, 64, m -> prev, "v000001");
    MemberNetwork start = MemberModels.fromBytes(w.latest(0).orElseThrow().model());
    assertArrayEquals(prev.params().toFloatVector(), start.params().toFloatVector(), 0f);
  }

  private static String refusal(String configJson, int numFeatures) {
    EnsembleSpec s = spec(configJson, "  epochs: 1\n");
    return assertThrows(InvalidInputException.class, () -> NetworkFactory.build(s, numFeatures, 1L)).getMessage();
  }

  @Test
  void graphsDeepensCannotTrainAreRefusedNamingNetworkConfig() {
    String twoInputs = builder()
        .addInputs("pixels", "extra")
        .setInputTypes(InputType.feedForward(60), InputType.feedForward(4))
        .addVertex("both", new MergeVertex(), "pixels", "extra")
        .addLayer("out", new OutputLayer.Builder().nOut(10).activation(Activation.SOFTMAX).build(), "both")
        .setOutputs("out")
        .build()
        .toJson();
    String m = refusal(twoInputs, 64);
    assertTrue(m.startsWith("network.config: a ComputationGraph member takes exactly one input"), m);
    assertTrue(m.contains("found 2 inputs [pixels, extra]") && m.contains("SubsetVertex"), m);
    // The same refusal without data (the train command checks before Spark starts).
    EnsembleSpec twoInputSpec = spec(twoInputs, "  epochs: 1\n");
    assertEquals(m, assertThrows(InvalidInputException.class,
        () -> NetworkFactory.checkConfiguration(twoInputSpec)).getMessage());

    String twoOutputs = builder()
        .addInputs("x")
        .setInputTypes(InputType.feedForward(64))
        .addLayer("a", new OutputLayer.Builder().nOut(10).activation(Activation.SOFTMAX).build(), "x")
        .addLayer("b", new OutputLayer.Builder().nOut(10).activation(Activation.SOFTMAX).build(), "x")
        .setOutputs("a", "b")
        .build()
        .toJson();
    m = refusal(twoOutputs, 64);
    assertTrue(m.startsWith("network.config: a ComputationGraph member gives exactly one output, the 10 class"
        + " probabilities, found 2 outputs [a, b]"), m);

    String noOutputLayer = builder()
        .addInputs("x")
        .setInputTypes(InputType.feedForward(64))
        .addLayer("h", new DenseLayer.Builder().nOut(10).activation(Activation.SOFTMAX).build(), "x")
        .setOutputs("h")
        .build()
        .toJson();
    m = refusal(noOutputLayer, 64);
    assertTrue(m.startsWith("network.config: the graph's output 'h' must be an output layer"), m);

    // Widths are checked against the data: 63 features for a 64-input graph, 8 outputs for 10 classes.
    m = refusal(residualGraph(0, 10), 63);
    assertTrue(m.startsWith("network.config does not accept rows of 63 features"), m);
    m = refusal(residualGraph(0, 8), 64);
    assertTrue(m.startsWith("network.config must give 10 outputs per row (data.classes), found shape [1, 8]"), m);

    m = assertThrows(InvalidInputException.class, () -> NetworkFactory.build(
        spec("{\"layers\": []}", "  epochs: 1\n"), 64, 1L)).getMessage();
    assertTrue(m.startsWith("network.config must be a DL4J MultiLayerConfiguration JSON"), m);
  }
}
