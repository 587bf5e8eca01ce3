package io.deepens.core.network;

import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/** A member that is a DL4J {@link MultiLayerNetwork}. */
final class MultiLayerMember extends MemberNetwork {
  private final MultiLayerNetwork net;

  MultiLayerMember(MultiLayerNetwork net) {
    if (net == null) {
      throw new IllegalArgumentException("network must be given");
    }
    this.net = net;
  }

  @Override
  public Model model() {
    return net;
  }

  @Override
  public Optional<MultiLayerNetwork> multiLayerNetwork() {
    return Optional.of(net);
  }

  @Override
  public Optional<ComputationGraph> computationGraph() {
    return Optional.empty();
  }

  @Override
  public String kind() {
    return "MultiLayerNetwork";
  }

  @Override
  public INDArray params() {
    return net.params();
  }

  @Override
  public void setParams(INDArray params) {
    net.setParams(params);
  }

  @Override
  public long numParams() {
    return net.numParams();
  }

  @Override
  public Map<String, INDArray> paramTable() {
    return net.paramTable();
  }

  @Override
  public INDArray updaterState() {
    return net.getUpdater().getStateViewArray();
  }

  @Override
  public int iterationCount() {
    return net.getIterationCount();
  }

  @Override
  public int epochCount() {
    return net.getEpochCount();
  }

  @Override
  public void setEpochCount(int epoch) {
    net.setEpochCount(epoch);
  }

  @Override
  public void fit(DataSet minibatch) {
    net.fit(minibatch);
  }

  @Override
  public double score() {
    return net.score();
  }

  @Override
  public INDArray output(INDArray features) {
    return net.output(features, false);
  }

  @Override
  public INDArray outputWithDropout(INDArray features) {
    LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
    int rows = (int) features.size(0);
    INDArray a = features;
    try {
      for (int i = 0; i < net.getnLayers(); i++) {
        InputPreProcessor pre = net.getLayerWiseConfigurations().getInputPreProcess(i);
        if (pre != null) {
          a = pre.preProcess(a, rows, mgr);
        }
        Layer layer = net.getLayer(i);
        a = layer.activate(a, layer.conf().getLayer().getIDropout() != null, mgr);
      }
      return a;
    } finally {
      net.clearLayersStates();
    }
  }

  @Override
  public String configurationJson() {
    return net.getLayerWiseConfigurations().toJson();
  }

  @Override
  public GaussianNllLoss gaussianLoss() {
    org.deeplearning4j.nn.conf.layers.Layer last =
        net.getLayerWiseConfigurations().getConf(net.getnLayers() - 1).getLayer();
    return last instanceof BaseOutputLayer o && o.getLossFn() instanceof GaussianNllLoss g ? g : null;
  }

  @Override
  public MemberNetwork copy() {
    return new MultiLayerMember(net.clone());
  }
}
