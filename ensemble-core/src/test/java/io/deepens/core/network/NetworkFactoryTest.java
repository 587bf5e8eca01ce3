package io.deepens.core.network;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class NetworkFactoryTest {
  static String yaml(String task, String network, String training) {
    return """
        name: n
        task: %s
        data:
          features: f
          label: y
        %s
          inputShape: [1, 4, 4]
        network:
        %s
        training:
        %s
        ensemble:
          members: 2
          seed: 3
        """.formatted(task, task.equals("classification") ? "  classes: 3" : "", network.stripTrailing(),
        training.stripTrailing());
  }

  @Test
  void mlpHasTheRequestedLayersAndHead() {
    EnsembleSpec s = SpecLoader.parse(yaml("classification",
        "  type: mlp\n  hidden: [8, 5]\n  dropout: 0.2\n  batchNorm: true\n", "  epochs: 1\n"), "t");
    MemberNetwork net = NetworkFactory.build(s, 16, 1);
    // dense 16x8, bn, dense 8x5, bn, output 5x3
    assertEquals(5, net.multiLayerNetwork().orElseThrow().getnLayers());
    assertEquals((16 * 8 + 8) + 4 * 8 + (8 * 5 + 5) + 4 * 5 + (5 * 3 + 3), net.numParams());
    assertFalse(NetworkFactory.isGaussian(net));
    float[] out = net.output(Nd4j.rand(DataType.FLOAT, 4, 16)).getRow(0).toFloatVector();
    double sum = 0;
    for (float p : out) {
      sum += p;
    }
    assertEquals(1.0, sum, 1e-5); // softmax rows sum to 1 up to float rounding
  }

  @Test
  void sameInitSeedGivesSameWeightsAndAnotherSeedOthers() {
    EnsembleSpec s = SpecLoader.parse(yaml("classification", "  type: mlp\n  hidden: [8]\n", "  epochs: 1\n"), "t");
    float[] a = NetworkFactory.build(s, 16, 11).params().toFloatVector();
    float[] b = NetworkFactory.build(s, 16, 11).params().toFloatVector();
    float[] c = NetworkFactory.build(s, 16, 12).params().toFloatVector();
    assertArrayEquals(a, b, 0f);
    assertFalse(java.util.Arrays.equals(a, c));
  }

  @Test
  void regressionHeadUsesTheGaussianLossAndSurvivesJson() {
    EnsembleSpec s = SpecLoader.parse(yaml("regression", "  type: mlp\n  hidden: [8]\n",
        "  epochs: 4\n  schedule: {type: cosine, minLearningRate: 0.0001}\n  weightDecay: 0.001\n"), "t");
    MemberNetwork net = NetworkFactory.build(s, 16, 1, 5.0, 2.0);
    assertTrue(NetworkFactory.isGaussian(net));
    assertEquals(2, net.output(Nd4j.rand(DataType.FLOAT, 3, 16)).size(1));
    String json = net.configurationJson();
    MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
    assertEquals(net.multiLayerNetwork().orElseThrow().getLayerWiseConfigurations(), back);
    GaussianNllLoss g = NetworkFactory.gaussianLoss(MemberNetwork.of(new MultiLayerNetwork(back)));
    assertEquals(5.0, g.targetMean(), 0.0);
    assertEquals(2.0, g.targetScale(), 0.0);
  }

  @Test
  void weightDecayActsOnceWithTheSpecsCoefficient() {
    // DL4J 1.0.0-M2.1's builder lists a global weightDecay twice per layer; the preset must keep exactly one
    EnsembleSpec s = SpecLoader.parse(yaml("classification", "  type: mlp\n  hidden: [8, 8]\n",
        "  epochs: 1\n  weightDecay: 0.003\n"), "t");
    MultiLayerNetwork net = NetworkFactory.build(s, 16, 1).multiLayerNetwork().orElseThrow();
    for (int l = 0; l < net.getnLayers(); l++) {
      var layer = (org.deeplearning4j.nn.conf.layers.BaseLayer) net.getLayer(l).conf().getLayer();
      assertEquals(1, layer.getRegularization().size(), "layer " + l + ": " + layer.getRegularization());
      var wd = (org.nd4j.linalg.learning.regularization.WeightDecay) layer.getRegularization().get(0);
      assertEquals(0.003, wd.getCoeff().valueAt(0, 0), 0.0);
      assertTrue(layer.getRegularizationBias() == null || layer.getRegularizationBias().isEmpty(),
          "no decay on biases");
    }
  }

  @Test
  void cnnReadsTheFlatInputAsChannelsHeightWidth() {
    EnsembleSpec s = SpecLoader.parse(yaml("classification",
        "  type: cnn\n  conv: [{filters: 4, kernel: 3, pool: 2}]\n  hidden: [6]\n  batchNorm: true\n",
        "  epochs: 1\n"), "t");
    MemberNetwork net = NetworkFactory.build(s, 16, 1);
    assertArrayEquals(new long[] {5, 3}, net.output(Nd4j.rand(DataType.FLOAT, 5, 16)).shape());
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> NetworkFactory.build(s, 15, 1));
    assertTrue(e.getMessage().contains("data.inputShape [1, 4, 4] holds 16 values but the rows have 15 features"),
        e.getMessage());
  }

  @Test
  void scheduleFollowsTheSpecByEpoch() {
    EnsembleSpec s = SpecLoader.parse(yaml("classification", "  type: mlp\n",
        "  learningRate: 0.1\n  epochs: 10\n  schedule: {type: step, decay: 0.5, every: 3}\n"), "t");
    var sched = NetworkFactory.schedule(s.training());
    assertEquals(0.1, sched.valueAt(0, 2), 1e-15);
    assertEquals(0.05, sched.valueAt(0, 3), 1e-15);
    assertEquals(s.training().learningRateAt(7), sched.valueAt(0, 7), 1e-15);
    EnsembleSpec c = SpecLoader.parse(yaml("classification", "  type: mlp\n",
        "  learningRate: 0.1\n  epochs: 4\n  schedule: {type: cosine, minLearningRate: 0.01}\n"), "t");
    var cos = NetworkFactory.schedule(c.training());
    assertEquals(0.1, cos.valueAt(0, 0), 1e-15);
    assertEquals(0.01 + 0.09 * 0.5, cos.valueAt(0, 2), 1e-12);
    assertNotEquals(cos.valueAt(0, 1), cos.valueAt(0, 3));
  }

  @Test
  void dl4jJsonMustMatchTheData() {
    EnsembleSpec mlp = SpecLoader.parse(yaml("classification", "  type: mlp\n  hidden: [8]\n", "  epochs: 1\n"),
        "t");
    String json = NetworkFactory.build(mlp, 16, 1).configurationJson();
    EnsembleSpec user = SpecLoader.parse(yaml("classification",
        "  type: dl4j-json\n  config: '" + json.replace("'", "''") + "'\n", "  epochs: 1\n"), "t");
    MemberNetwork net = NetworkFactory.build(user, 16, 99);
    assertEquals(99L, net.multiLayerNetwork().orElseThrow().getLayerWiseConfigurations().getConf(0).getSeed());
    assertEquals(NetworkFactory.build(mlp, 16, 99).params(), net.params());
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> NetworkFactory.build(user, 10, 1));
    assertTrue(e.getMessage().startsWith("network.config does not accept rows of 10 features"), e.getMessage());
    EnsembleSpec bad = SpecLoader.parse(yaml("classification", "  type: dl4j-json\n  config: '{\"x\": 1}'\n",
        "  epochs: 1\n"), "t");
    assertThrows(InvalidInputException.class, () -> NetworkFactory.build(bad, 16, 1));
  }
}
