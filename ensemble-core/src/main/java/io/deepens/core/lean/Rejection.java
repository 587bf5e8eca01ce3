package io.deepens.core.lean;

/**
 * Why a lean step or forward pass declined a network (it then runs on DL4J): one constant per eligibility check of
 * {@link MlpTrainingStep}, {@link CnnTrainingStep} / {@link CnnForward} and the optimiser checks they share.
 * {@link LeanPath#rejected} turns one into the detail of a {@link LeanPath.Decision}.
 */
public enum Rejection {
  NOT_FLOAT32("the network's data type or parameters are not float32"),
  NO_LAYERS("the network has no layers"),
  CNN_INPUT("fewer than two layers, or the first does not take a flat C×H×W input (FeedForwardToCnnPreProcessor)"),
  CNN_FLATTEN("the convolutions and the dense layers are not joined by one NCHW CnnToFeedForwardPreProcessor that"
      + " matches the last block's output, or a dense layer comes before it"),
  POOLING("a subsampling layer that is not max pooling (NCHW, no dilation, no dropout, a supported window) right"
      + " after a convolution"),
  UNSUPPORTED_LAYER("a layer that is neither a parameterised layer nor a subsampling layer"),
  DROPOUT("dropout other than plain Dropout with a fixed retain probability in (0, 1]"),
  CONVOLUTION("a convolution that is not NCHW with ReLU and bias, is dilated, has another mode or window, or whose"
      + " input channels do not match"),
  OPTIMISER("weight noise, constraints, gradient normalisation, an updater other than Adam (the bias's included), or"
      + " dropout where the step takes none"),
  ADAM_DIFFERS("the layers' Adam configurations differ"),
  BIAS_REGULARISATION("regularisation on the biases"),
  NOT_WEIGHT_DECAY("regularisation other than WeightDecay"),
  WEIGHT_DECAY_SCHEDULE("weight decay not applied with the learning rate, or with a coefficient schedule"),
  OUTPUT_LAYER("the last layer is not an OutputLayer"),
  OUTPUT_LOSS("the output layer is not softmax with LossMCXENT (no class weights) and a bias"),
  HIDDEN_LAYER("a hidden layer that is not a DenseLayer with plain ReLU and bias, without layer norm"),
  LAYER_SIZES("a layer's input size differs from the output size of the layer before it"),
  CNN_SHAPE("no convolution, no dense layer, or dropout on the network's input"),
  UPDATER_BLOCKS("DL4J split the parameters into several updater blocks (one Adam block over all is needed)"),
  PARAMETER_VIEWS("a layer's W / b views are missing, or the layers do not line up with the parameters"),
  PARAMETER_LAYOUT("DL4J's W / b views or Adam moments do not sit where the lean step reads them in the flat array");

  private final String message;

  Rejection(String message) {
    this.message = message;
  }

  /** What the check found, in words. */
  public String message() {
    return message;
  }
}
