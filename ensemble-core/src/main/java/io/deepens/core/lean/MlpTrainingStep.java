package io.deepens.core.lean;

import java.nio.FloatBuffer;
import java.util.Optional;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * A lean training step for plain MLP classifiers that trains a DL4J {@link MultiLayerNetwork}'s own parameters in
 * place, with the arithmetic of {@code net.fit(DataSet)} but without its per-iteration overhead (op objects,
 * workspaces, allocation, the native Adam op's per-element lambda).
 *
 * <p>Supported (anything else: {@link #create} returns empty and the caller uses {@code net.fit}): float32 networks
 * of {@link DenseLayer}s with ReLU activation and bias, then one {@link OutputLayer} with softmax and
 * {@link LossMCXENT} (no per-class weights); no dropout, weight noise, constraints or gradient normalisation; every
 * parameter on one DL4J Adam updater block (any learning-rate schedule: the rate is read from the updater config
 * with the network's iteration and epoch counts); regularisation none, or {@link WeightDecay} on weights only.
 *
 * <p>Semantics match DL4J 1.0.0-M2.1: z = xW + b; softmax output; dL/dz = (p − y) / minibatch; Adam with
 * {@code alpha_t = lr·sqrt(1 − β2^t)/(1 − β1^t)}, {@code m = β1 m + (1 − β1) g}, {@code v = β2 v + (1 − β2) g²},
 * {@code update = m·alpha_t/(sqrt(v) + ε)} (t = iteration + 1, all in float); weight decay adds
 * {@code lr·coeff·w} to the update after Adam; then {@code w −= update}. The score is DL4J's: mean over rows of
 * −Σ y·log(clip(p, 1e−10, 1 − 1e−10)) plus the weight-decay score {@code 0.5·coeff·Σw²}. Float sums run in a
 * different order than ND4J's kernels, so parameters agree with {@code fit} to float rounding, not bitwise.
 *
 * <p>State: the parameters are written back to the network's flat parameter array after every step. The Adam
 * moments live in heap arrays between {@link #begin()} and {@link #end()}: {@code begin} reads parameters and
 * moments from the network (parameter array and the updater's state view, DL4J's layout), {@code end} writes the
 * moments back, so the network (and a checkpoint of it) always holds the exact training state after {@code end}.
 * The network's iteration count is advanced every step, as {@code fit} does. Not thread-safe; one per network.
 */
public final class MlpTrainingStep implements LeanStep {
  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;

  private final MultiLayerNetwork net;
  private final int layers;
  private final int[] nIn;
  private final int[] nOut;
  private final int[] wOff;
  private final int[] bOff;
  private final int numParams;
  private final int maxBatch;
  /** Adam, its moments on the heap, and the weight decay. */
  private final LeanAdam adam;

  // heap state
  private final float[] p;
  private final float[] g;

  // native buffers
  private final INDArray params;
  private final FloatBuffer paramBuf;
  private final FloatPointer paramPtr;
  private final INDArray gradNative;
  private final FloatBuffer gradBuf;
  private final FloatPointer gradPtr;
  /** act[l] for l = 1..layers−1: hidden activations [maxBatch, nOut[l−1]]; act[layers] = output logits. */
  private final INDArray[] act;
  private final FloatPointer[] actPtr;
  private final FloatBuffer[] actBuf;
  /** delta[l]: dL/dz of layer l, [maxBatch, nOut[l]]. */
  private final INDArray[] delta;
  private final FloatPointer[] deltaPtr;
  private final FloatBuffer[] deltaBuf;
  private final float[] rowStage;
  /** The plain SGD rate of {@link #useSgd}, NaN for Adam. */
  private double sgdRate = Double.NaN;

  private MlpTrainingStep(MultiLayerNetwork net, int maxBatch, int[] nIn, int[] nOut, double[] decay, Adam adam,
      AdamUpdater updater) {
    this.net = net;
    this.maxBatch = maxBatch;
    this.layers = nIn.length;
    this.nIn = nIn;
    this.nOut = nOut;
    wOff = new int[layers];
    bOff = new int[layers];
    int[] wLen = new int[layers];
    int off = 0;
    for (int l = 0; l < layers; l++) {
      wOff[l] = off;
      wLen[l] = nIn[l] * nOut[l];
      off += wLen[l];
      bOff[l] = off;
      off += nOut[l];
    }
    numParams = off;
    this.adam = new LeanAdam(adam, updater, wOff, wLen, bOff, nOut, decay);
    params = net.params();
    paramBuf = params.data().asNioFloat();
    paramPtr = NativeFloats.pointer(params);
    p = new float[numParams];
    g = new float[numParams];
    gradNative = Nd4j.create(DataType.FLOAT, numParams);
    gradBuf = gradNative.data().asNioFloat();
    gradPtr = NativeFloats.pointer(gradNative);
    act = new INDArray[layers + 1];
    actPtr = new FloatPointer[layers + 1];
    actBuf = new FloatBuffer[layers + 1];
    delta = new INDArray[layers];
    deltaPtr = new FloatPointer[layers];
    deltaBuf = new FloatBuffer[layers];
    int widest = 0;
    for (int l = 0; l < layers; l++) {
      act[l + 1] = Nd4j.create(DataType.FLOAT, maxBatch, nOut[l]);
      actPtr[l + 1] = NativeFloats.pointer(act[l + 1]);
      actBuf[l + 1] = act[l + 1].data().asNioFloat();
      delta[l] = Nd4j.create(DataType.FLOAT, maxBatch, nOut[l]);
      deltaPtr[l] = NativeFloats.pointer(delta[l]);
      deltaBuf[l] = delta[l].data().asNioFloat();
      widest = Math.max(widest, nOut[l]);
    }
    rowStage = new float[maxBatch * widest];
  }

  /** Why the last {@link #create} on this thread returned empty, for diagnostics and tests. */
  private static final ThreadLocal<Rejection> LAST_REJECTION = new ThreadLocal<>();

  private static Optional<MlpTrainingStep> unsupported(Rejection why) {
    LAST_REJECTION.set(why);
    return Optional.empty();
  }

  /** The failed check of this thread's last rejected {@link #create}, or null. */
  public static Rejection lastRejection() {
    return LAST_REJECTION.get();
  }

  /**
   * A fast step for {@code net} taking minibatches of at most {@code maxBatch} rows, or empty when the network is
   * outside the supported set (see the class comment; the reason is then {@link #lastRejection()}) — then train it
   * with {@code net.fit}.
   */
  public static Optional<MlpTrainingStep> create(MultiLayerNetwork net, int maxBatch) {
    if (net.getLayerWiseConfigurations().getDataType() != DataType.FLOAT
        || net.params().dataType() != DataType.FLOAT) {
      return unsupported(Rejection.NOT_FLOAT32);
    }
    int layers = net.getnLayers();
    if (layers < 1) {
      return unsupported(Rejection.NO_LAYERS);
    }
    int[] nIn = new int[layers];
    int[] nOut = new int[layers];
    double[] decay = new double[layers];
    Adam adam = null;
    for (int l = 0; l < layers; l++) {
      org.deeplearning4j.nn.conf.layers.Layer c = net.getLayer(l).conf().getLayer();
      boolean last = l == layers - 1;
      Rejection denseCheck = LayerChecks.dense(c, last);
      if (denseCheck != null) {
        return unsupported(denseCheck);
      }
      nIn[l] = (int) ((FeedForwardLayer) c).getNIn();
      nOut[l] = (int) ((FeedForwardLayer) c).getNOut();
      Adam[] holder = {adam};
      Rejection check = LeanAdam.checkLayer((BaseLayer) c, false, holder, decay, l);
      if (check != null) {
        return unsupported(check);
      }
      adam = holder[0];
      if (l > 0 && nIn[l] != nOut[l - 1]) {
        return unsupported(Rejection.LAYER_SIZES);
      }
    }
    AdamUpdater updater = LeanAdam.singleBlock(net);
    if (updater == null) {
      return unsupported(Rejection.UPDATER_BLOCKS);
    }
    long numParams = net.numParams();
    MlpTrainingStep s = new MlpTrainingStep(net, maxBatch, nIn, nOut, decay, adam, updater);
    if (s.numParams != numParams || !s.layoutMatches()) {
      return unsupported(Rejection.PARAMETER_LAYOUT);
    }
    return Optional.of(s);
  }

  /** Checks that the W / b views DL4J hands out sit where this class expects them in the flat array. */
  private boolean layoutMatches() {
    if (!params.isVector() || params.length() != numParams || params.offset() != 0 || !adam.covers(numParams)) {
      return false;
    }
    float[] flat = params.data().asFloat();
    for (int l = 0; l < layers; l++) {
      Layer layer = net.getLayer(l);
      if (!LayerChecks.denseView(layer.getParam("W"), layer.getParam("b"), nIn[l], nOut[l], wOff[l], bOff[l], flat)) {
        return false;
      }
    }
    return true;
  }


  /**
   * From now on, updates are plain SGD at {@code learningRate} ({@link LeanAdam#sgd}: the same gradient and weight
   * decay, no momentum, the Adam moments untouched) instead of Adam; NaN switches back to Adam. The SWAG epochs
   * ({@link io.deepens.core.spec.SwagSpec}) train this way.
   */
  public void useSgd(double learningRate) {
    if (!Double.isNaN(learningRate) && !(learningRate > 0 && Double.isFinite(learningRate))) {
      throw new IllegalArgumentException("the SGD learning rate must be > 0, found " + learningRate);
    }
    sgdRate = learningRate;
  }

  /** The current parameters (a copy of the flat array, DL4J's layout). */
  public float[] parameters() {
    return p.clone();
  }

  /** Reads parameters and Adam moments from the network (call before the first {@link #step} after any change). */
  @Override
  public void begin() {
    paramBuf.get(0, p);
    adam.begin();
  }

  /** Writes the Adam moments back into the network's updater state (parameters are always current). */
  @Override
  public void end() {
    adam.end();
  }

  /**
   * One training iteration on the first {@code rows} rows of {@code features} ([≥ rows, nIn], c order, float) with
   * one-hot labels {@code labels} (rows × classes, row-major). Returns DL4J's score for the minibatch (before the
   * update).
   */
  @Override
  public double step(INDArray features, float[] labels, int rows) {
    adam.requireBegun();
    if (rows < 1 || rows > maxBatch) {
      throw new IllegalArgumentException("rows must be in 1.." + maxBatch + ", found " + rows);
    }
    if (features.ordering() != 'c' || features.dataType() != DataType.FLOAT || features.columns() != nIn[0]) {
      throw new IllegalArgumentException("features must be a float c-order [rows, " + nIn[0] + "] array");
    }
    var conf = net.getLayerWiseConfigurations();
    int iteration = conf.getIterationCount();
    int epoch = conf.getEpochCount();
    FloatPointer x = NativeFloats.pointer(features);

    // forward
    for (int l = 0; l < layers; l++) {
      int no = nOut[l];
      FloatBuffer z = actBuf[l + 1];
      // z = bias rows, then z += a_{l-1} · W (W is f-order [nIn, nOut] = row-major W^T with ld nIn)
      for (int r = 0; r < rows; r++) {
        System.arraycopy(p, bOff[l], rowStage, r * no, no);
      }
      z.put(0, rowStage, 0, rows * no);
      FloatPointer in = l == 0 ? x : actPtr[l];
      openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, no, nIn[l], 1f, in, nIn[l],
          paramPtr.position(wOff[l]), nIn[l], 1f, actPtr[l + 1], no);
      if (l < layers - 1) {
        int len = rows * no;
        z.get(0, rowStage, 0, len);
        for (int i = 0; i < len; i++) {
          rowStage[i] = Math.max(rowStage[i], 0f);
        }
        z.put(0, rowStage, 0, len);
      }
    }

    // softmax, score, output delta = (p - y) / rows
    int last = layers - 1;
    int k = nOut[last];
    int len = rows * k;
    actBuf[layers].get(0, rowStage, 0, len);
    for (int r = 0; r < rows; r++) {
      Softmax.row(rowStage, r * k, rowStage, r * k, k);
    }
    double loss = Softmax.crossEntropy(rowStage, labels, len, 1f / rows, rowStage) / rows;
    deltaBuf[last].put(0, rowStage, 0, len);

    // backward
    for (int l = last; l >= 0; l--) {
      int ni = nIn[l];
      int no = nOut[l];
      FloatPointer in = l == 0 ? x : actPtr[l];
      // dW^T [nOut, nIn] = delta^T · a_{l-1}
      openblas_nolapack.cblas_sgemm(ROW_MAJOR, TRANS, NO_TRANS, no, ni, rows, 1f, deltaPtr[l], no, in, ni, 0f,
          gradPtr.position(wOff[l]), ni);
      // db = column sums of delta
      int dl = rows * no;
      deltaBuf[l].get(0, rowStage, 0, dl);
      int bo = bOff[l];
      for (int j = 0; j < no; j++) {
        g[bo + j] = 0f;
      }
      for (int r = 0; r < rows; r++) {
        int o = r * no;
        for (int j = 0; j < no; j++) {
          g[bo + j] += rowStage[o + j];
        }
      }
      if (l > 0) {
        // dA_{l-1} [rows, ni] = delta · W^T; then delta_{l-1} = dA ⊙ (a_{l-1} > 0)
        openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, rows, ni, no, 1f, deltaPtr[l], no,
            paramPtr.position(wOff[l]), ni, 0f, deltaPtr[l - 1], ni);
        int n = rows * ni;
        float[] da = rowStage;
        deltaBuf[l - 1].get(0, da, 0, n);
        FloatBuffer a = actBuf[l];
        for (int i = 0; i < n; i++) {
          if (a.get(i) <= 0f) {
            da[i] = 0f;
          }
        }
        deltaBuf[l - 1].put(0, da, 0, n);
      }
      gradBuf.get(wOff[l], g, wOff[l], ni * no);
    }

    // Adam (+ decoupled weight decay on W), DL4J's float arithmetic; or plain SGD in SWAG epochs
    double regScore = Double.isNaN(sgdRate) ? adam.step(p, g, iteration, epoch) : adam.sgd(p, g, sgdRate);
    paramBuf.put(0, p);
    conf.setIterationCount(iteration + 1);
    return loss + regScore;
  }
}
