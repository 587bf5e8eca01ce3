package io.deepens.core.lean;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A training step that does {@code net.fit(DataSet)}'s arithmetic on a DL4J network's own parameters without its
 * per-iteration overhead ({@link MlpTrainingStep}, {@link CnnTrainingStep}).
 */
public interface LeanStep {
  /** Reads parameters and optimiser state from the network; call before the first {@link #step} after a change. */
  void begin();

  /** Writes the optimiser state back into the network, so it (and a checkpoint of it) holds the training state. */
  void end();

  /**
   * One iteration on the first {@code rows} rows of {@code features} (c order, float) with one-hot
   * {@code labels} (rows × classes, row-major); returns DL4J's score of the minibatch before the update.
   */
  double step(INDArray features, float[] labels, int rows);
}
