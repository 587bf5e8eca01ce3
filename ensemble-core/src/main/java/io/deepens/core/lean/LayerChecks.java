package io.deepens.core.lean;

import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * The checks both lean steps make on a classifier's dense part: the layers (the optimiser's are
 * {@link LeanAdam#checkLayer}) and where DL4J's parameter views sit in the flat array.
 */
final class LayerChecks {
  private LayerChecks() {}

  /**
   * Checks a dense layer: the last one ({@code last}) must be an {@link OutputLayer} with softmax, {@link LossMCXENT}
   * without class weights, and a bias; the others a {@link DenseLayer} with plain ReLU and bias, without layer norm.
   * Returns null when it passes, else the failed check.
   */
  static Rejection dense(Layer layer, boolean last) {
    if (last) {
      if (layer.getClass() != OutputLayer.class) {
        return Rejection.OUTPUT_LAYER;
      }
      OutputLayer o = (OutputLayer) layer;
      if (!(o.getActivationFn() instanceof ActivationSoftmax) || o.getLossFn() == null
          || o.getLossFn().getClass() != LossMCXENT.class || ((LossMCXENT) o.getLossFn()).getWeights() != null
          || !o.hasBias()) {
        return Rejection.OUTPUT_LOSS;
      }
      return null;
    }
    if (layer.getClass() != DenseLayer.class || !relu(((DenseLayer) layer).getActivationFn())
        || !((DenseLayer) layer).hasBias() || ((DenseLayer) layer).hasLayerNorm()) {
      return Rejection.HIDDEN_LAYER;
    }
    return null;
  }

  /**
   * Whether a dense layer's W view ([nIn, nOut]) and b view ([nOut]) hold the values the lean steps read at
   * {@code flat[wOff + i + j·nIn]} (f order) and {@code flat[bOff + j]}: shapes, then a few probed elements.
   */
  static boolean denseView(INDArray w, INDArray b, int nIn, int nOut, int wOff, int bOff, float[] flat) {
    if (w == null || b == null || w.rows() != nIn || w.columns() != nOut || b.length() != nOut) {
      return false;
    }
    int[][] probes = {{0, 0}, {nIn - 1, 0}, {0, nOut - 1}, {nIn / 2, nOut / 3}, {nIn - 1, nOut - 1}};
    for (int[] q : probes) {
      if (w.getFloat(q[0], q[1]) != flat[wOff + q[0] + q[1] * nIn]) {
        return false;
      }
    }
    return b.getFloat(0) == flat[bOff] && b.getFloat(nOut - 1) == flat[bOff + nOut - 1];
  }

  /** Plain ReLU (not thresholded or capped). */
  static boolean relu(IActivation a) {
    return a instanceof ActivationReLU r && r.equals(new ActivationReLU());
  }
}
