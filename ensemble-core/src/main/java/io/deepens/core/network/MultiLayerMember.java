package io.deepens.core.network;

import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import io.deepens.core.lean.CnnForward;
import io.deepens.core.lean.LeanPath;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.dataset.DataSet;

/** A member that is a DL4J {@link MultiLayerNetwork}. */
final class MultiLayerMember extends MemberNetwork {
  /** Rows per lean forward call. */
  private static final int LEAN_BATCH = 256;
  private final MultiLayerNetwork net;
  /** {@link LeanPath}'s choice of forward pass for this member; null until first asked. */
  private LeanPath.Choice<CnnForward> lean;

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
    CnnForward lean = leanForward();
    return lean == null ? net.output(features, false) : lean(lean, features, null);
  }

  /** The lean pass over all rows, in chunks of {@value #LEAN_BATCH}: inference, or MC dropout with {@code rng}. */
  private static INDArray lean(CnnForward lean, INDArray features, SplittableRandom rng) {
    int rows = (int) features.size(0);
    int nf = lean.numFeatures();
    int k = lean.classes();
    INDArray f = features.castTo(DataType.FLOAT);
    // one copy: a whole c-order array's buffer is the rows; a view or f-order array is laid out first
    float[] x = (f.isView() || f.ordering() != 'c' ? f.dup('c') : f).data().asFloat();
    float[] out = new float[rows * k];
    synchronized (lean) {
      lean.reload(); // the parameters may have changed since the last call (training)
      float[] chunk = new float[Math.min(rows, LEAN_BATCH) * k];
      for (int r0 = 0; r0 < rows; r0 += LEAN_BATCH) {
        int m = Math.min(LEAN_BATCH, rows - r0);
        if (rng == null) {
          lean.output(x, r0 * nf, m, chunk);
        } else {
          lean.sample(x, r0 * nf, m, chunk, rng);
        }
        System.arraycopy(chunk, 0, out, r0 * k, m * k);
      }
    }
    return Nd4j.create(out, new long[] {rows, k}, 'c');
  }

  /**
   * The lean forward pass for a convolutional classifier it supports (DL4J trains
   * conf/fashion-mnist-cnn.yaml's network ~7× slower here, scripts/bench/README.md), or null: when {@link LeanPath}
   * says DL4J (another network, a backend other than the CPU one, {@value LeanPath#CNN_PROPERTY}{@code =false}).
   */
  private CnnForward leanForward() {
    return leanChoice().lean();
  }

  private synchronized LeanPath.Choice<CnnForward> leanChoice() {
    if (lean == null) {
      boolean cnn = net.getLayerWiseConfigurations().getInputPreProcess(0) instanceof FeedForwardToCnnPreProcessor;
      lean = LeanPath.choose(cnn ? LeanPath.Kind.CNN : LeanPath.Kind.OTHER,
          () -> CnnForward.create(net, LEAN_BATCH), () -> LeanPath.rejected(CnnForward.lastRejection()));
    }
    return lean;
  }

  @Override
  public LeanPath.Decision forwardPath() {
    return leanChoice().decision();
  }

  @Override
  public INDArray outputWithDropout(INDArray features) {
    CnnForward lean = leanForward();
    if (lean != null) {
      // one draw from ND4J's RNG (seeded by the caller) seeds every mask of the pass
      return lean(lean, features, new SplittableRandom(Nd4j.getRandom().nextLong()));
    }
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
