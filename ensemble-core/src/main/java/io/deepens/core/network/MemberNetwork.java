package io.deepens.core.network;

import io.deepens.core.lean.LeanPath;
import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * One ensemble member's network: a DL4J {@link MultiLayerNetwork} (the presets, or a user's
 * {@code MultiLayerConfiguration}) or a DL4J {@link ComputationGraph} with exactly one input (the feature vector)
 * and one output layer (a user's {@code ComputationGraphConfiguration}). Everything deepens does with a member —
 * train a minibatch, read and replace its parameters, checkpoint it, run it in inference mode or with dropout on —
 * goes through this type, so both kinds train, checkpoint, resume, publish and score alike.
 *
 * <p>Parameters are DL4J's flat parameter vector (a 1×n row view); its layout, the updater state layout and the
 * iteration and epoch counters are DL4J's own, so {@code ModelSerializer} writes and reads both kinds (the store's
 * member files and checkpoints are ModelSerializer zips). Like the DL4J networks, an instance is not thread-safe:
 * use one per thread ({@link #copy()}).
 */
public abstract sealed class MemberNetwork permits MultiLayerMember, GraphMember {
  MemberNetwork() {}

  /** Wraps a multilayer network (initialised). */
  public static MemberNetwork of(MultiLayerNetwork network) {
    return new MultiLayerMember(network);
  }

  /**
   * Wraps a computation graph (initialised) with exactly one input and one output.
   *
   * @throws io.deepens.core.InvalidInputException when the graph has several inputs or outputs
   */
  public static MemberNetwork of(ComputationGraph graph) {
    return new GraphMember(graph);
  }

  /** The DL4J model itself (for {@code ModelSerializer}, and as the lock for {@code output}). */
  public abstract Model model();

  /** The wrapped network when it is a {@link MultiLayerNetwork} (the lean training step needs one). */
  public abstract Optional<MultiLayerNetwork> multiLayerNetwork();

  /** The wrapped graph when it is a {@link ComputationGraph}. */
  public abstract Optional<ComputationGraph> computationGraph();

  /** "MultiLayerNetwork" or "ComputationGraph", for messages. */
  public abstract String kind();

  /** The flat parameter vector, a view: writing to it changes the network. */
  public abstract INDArray params();

  /** Copies {@code params} (same length as {@link #params()}) into the network's parameters. */
  public abstract void setParams(INDArray params);

  public abstract long numParams();

  /** Parameters by DL4J key ("0_W" for a multilayer network, "vertexName_W" for a graph), as views. */
  public abstract Map<String, INDArray> paramTable();

  /** The updater's flat state (e.g. Adam's moments), a view; null when the updater keeps no state. */
  public abstract INDArray updaterState();

  /** Minibatches fitted so far (drives iteration-based schedules and Adam's bias correction). */
  public abstract int iterationCount();

  public abstract int epochCount();

  /** Sets the epoch counter, which epoch-based learning-rate schedules read. */
  public abstract void setEpochCount(int epoch);

  /** One optimisation step on a minibatch (features rows × inputs, labels rows × outputs). */
  public abstract void fit(DataSet minibatch);

  /** The loss of the last {@link #fit} minibatch (with regularisation), as DL4J reports it. */
  public abstract double score();

  /** The output layer's activations for {@code features} (rows × inputs) in inference mode. */
  public abstract INDArray output(INDArray features);

  /**
   * Which code runs {@link #output} and {@link #outputWithDropout} for this member, and why ({@link LeanPath}: the
   * lean CNN forward pass on the CPU backend for a convolutional classifier it supports, else DL4J).
   */
  public LeanPath.Decision forwardPath() {
    return LeanPath.choose(LeanPath.Kind.OTHER, Optional::empty, null).decision();
  }

  /**
   * One stochastic forward pass for Monte Carlo dropout: layers configured with dropout run in training mode
   * (dropout on, masks from ND4J's RNG), every other layer in inference mode (batch normalisation uses its running
   * statistics). The caller seeds ND4J's RNG and holds the lock on {@link #model()}.
   */
  public abstract INDArray outputWithDropout(INDArray features);

  /** The network's configuration JSON (DL4J's format, as ModelSerializer stores it). */
  public abstract String configurationJson();

  /** The output layer's loss when it is the Gaussian head of a regression member, else null. */
  public abstract GaussianNllLoss gaussianLoss();

  /** An independent copy with the same parameters (and updater state), for another thread. */
  public abstract MemberNetwork copy();
}
