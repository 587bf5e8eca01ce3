package io.deepens.core.network;

import io.deepens.core.InvalidInputException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * A member that is a DL4J {@link ComputationGraph} with one input (the feature rows) and one output layer. Its
 * Monte Carlo dropout pass walks the vertices in DL4J's topological order, as {@code ComputationGraph.output} does,
 * with dropout on only in the layer vertices configured with dropout.
 */
final class GraphMember extends MemberNetwork {
  private final ComputationGraph graph;
  private final String outputName;

  GraphMember(ComputationGraph graph) {
    if (graph == null) {
      throw new IllegalArgumentException("graph must be given");
    }
    ComputationGraphConfiguration conf = graph.getConfiguration();
    List<String> in = conf.getNetworkInputs();
    List<String> out = conf.getNetworkOutputs();
    InvalidInputException.check(in.size() == 1 && out.size() == 1,
        "a ComputationGraph member needs exactly one input and one output, found inputs %s and outputs %s", in, out);
    this.graph = graph;
    this.outputName = out.get(0);
  }

  @Override
  public Model model() {
    return graph;
  }

  @Override
  public Optional<MultiLayerNetwork> multiLayerNetwork() {
    return Optional.empty();
  }

  @Override
  public Optional<ComputationGraph> computationGraph() {
    return Optional.of(graph);
  }

  @Override
  public String kind() {
    return "ComputationGraph";
  }

  @Override
  public INDArray params() {
    return graph.params();
  }

  @Override
  public void setParams(INDArray params) {
    graph.setParams(params);
  }

  @Override
  public long numParams() {
    return graph.numParams();
  }

  @Override
  public Map<String, INDArray> paramTable() {
    return graph.paramTable();
  }

  @Override
  public INDArray updaterState() {
    return graph.getUpdater().getStateViewArray();
  }

  @Override
  public int iterationCount() {
    return graph.getIterationCount();
  }

  @Override
  public int epochCount() {
    return graph.getEpochCount();
  }

  @Override
  public void setEpochCount(int epoch) {
    // the graph copies the configuration's counters into its layers before every gradient computation
    graph.getConfiguration().setEpochCount(epoch);
  }

  @Override
  public void fit(DataSet minibatch) {
    graph.fit(minibatch);
  }

  @Override
  public double score() {
    return graph.score();
  }

  @Override
  public INDArray output(INDArray features) {
    return graph.output(false, features)[0];
  }

  @Override
  public INDArray outputWithDropout(INDArray features) {
    LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
    GraphVertex[] vertices = graph.getVertices();
    int outputIndex = graph.getVertex(outputName).getVertexIndex();
    graph.clear(); // arrays a previous fit left behind (their batch size would mislead preprocessors)
    graph.setInputs(features);
    try {
      INDArray result = null;
      for (int idx : graph.topologicalSortOrder()) {
        GraphVertex v = vertices[idx];
        INDArray a;
        if (v.isInputVertex()) {
          a = features;
        } else {
          boolean dropout = v.hasLayer() && v.getLayer().conf().getLayer().getIDropout() != null;
          a = v.doForward(dropout, mgr);
        }
        if (idx == outputIndex) {
          result = a;
        }
        VertexIndices[] to = v.getOutputVertices();
        if (to != null) {
          for (VertexIndices t : to) {
            vertices[t.getVertexIndex()].setInput(t.getVertexEdgeNumber(), a, mgr);
          }
        }
      }
      return result;
    } finally {
      graph.clearLayersStates();
      graph.clear();
    }
  }

  @Override
  public String configurationJson() {
    return graph.getConfiguration().toJson();
  }

  @Override
  public GaussianNllLoss gaussianLoss() {
    return gaussianLoss(graph.getConfiguration());
  }

  /** The Gaussian loss of the graph configuration's output layer, else null. */
  static GaussianNllLoss gaussianLoss(ComputationGraphConfiguration conf) {
    String out = conf.getNetworkOutputs().get(0);
    return conf.getVertices().get(out) instanceof LayerVertex lv
        && lv.getLayerConf().getLayer() instanceof BaseOutputLayer o
        && o.getLossFn() instanceof GaussianNllLoss g ? g : null;
  }

  @Override
  public MemberNetwork copy() {
    return new GraphMember(graph.clone());
  }
}
