package io.deepens.core.lean;

import java.nio.FloatBuffer;
import java.util.Optional;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The inference forward pass of a whole ensemble of plain MLP classifiers, for bulk scoring: the class
 * probabilities every member gives a batch, as {@code net.output(x, false)} computes them, without DL4J's per-call
 * overhead (op objects, workspaces, an input copy and an output copy per member and layer).
 *
 * <p>Every member's first layer reads the same batch, so the first layers of all members run as <em>one</em> matrix
 * product: the members' first-layer weights are stacked once, at construction, into one [Σ nOut, nIn] matrix, and
 * a batch costs one {@code sgemm} of width Σ nOut (e.g. 5 × 200 = 1,000) instead of five of width 200 — for the
 * reference 784-200-200-200-10 MLP that layer is two thirds of the arithmetic, and the wide product runs nearer the
 * GEMM peak. Later layers run per member, reading their slice of the wide activation in place (leading dimension
 * Σ nOut; no copy).
 *
 * <p>Supported (anything else: {@link #create} returns empty and the caller uses {@code output}): float32 networks
 * without input preprocessors, of {@link DenseLayer}s with bias and ReLU, tanh, sigmoid or identity activation,
 * then one {@link OutputLayer} with bias and softmax. Dropout and weight noise act in training only (DL4J's dropout
 * is inverted), so they are allowed and ignored, as {@code output(x, false)} ignores them. Members may differ in
 * their hidden sizes; they must share the input width.
 *
 * <p>Semantics: z = xW + b; the activation; softmax p_j = exp(z_j − max z) / Σ exp(z − max z), all in float, as DL4J.
 * Sums run in another order than ND4J's kernels, so outputs agree with {@code output} to float rounding (a few
 * ulps), not bitwise; the same input always gives the same output. Not thread-safe: one per thread. The members'
 * parameters are copied at construction, so later changes to the networks are not seen.
 */
public final class MlpEnsembleForward {
  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;

  private enum Act { RELU, TANH, SIGMOID, IDENTITY }

  private final int members;
  private final int numFeatures;
  private final int maxBatch;
  /** Per member: layer widths nIn[k][l], nOut[k][l] and hidden activations act[k][l] for l ≥ 1. */
  private final int[][] nOut;
  private final int[][] nIn;
  private final Act[][] act;
  /** Column offset of member k's block in the wide first-layer output. */
  private final int[] firstOff;
  private final int firstWidth;
  private final int[] classes;

  // parameters, copied: the stacked first layer, then per member and layer ≥ 1
  private final INDArray firstW;
  private final float[] firstB;
  private final INDArray[][] w;
  private final float[][][] b;

  // native work buffers (ND4J-managed memory) and a heap staging array
  private final INDArray input;
  private final FloatBuffer inputBuf;
  private final INDArray wide;
  private final FloatBuffer wideBuf;
  /** Per member, per layer ≥ 1: that layer's output [maxBatch, nOut]. */
  private final INDArray[][] out;
  private final float[] stage;
  // native pointers and views of the buffers above, made once (not per batch and layer)
  private final FloatPointer inputPtr;
  private final FloatPointer firstWPtr;
  private final FloatPointer widePtr;
  /** Per member: the wide first-layer output at that member's column offset. */
  private final FloatPointer[] wideAt;
  private final FloatPointer[][] wPtr;
  private final FloatPointer[][] outPtr;
  private final FloatBuffer[][] outBuf;

  private MlpEnsembleForward(MultiLayerNetwork[] nets, int maxBatch, int[][] nIn, int[][] nOut, Act[][] act) {
    this.members = nets.length;
    this.maxBatch = maxBatch;
    this.nIn = nIn;
    this.nOut = nOut;
    this.act = act;
    this.numFeatures = nIn[0][0];
    this.firstOff = new int[members];
    this.classes = new int[members];
    int width = 0;
    for (int k = 0; k < members; k++) {
      firstOff[k] = width;
      width += nOut[k][0];
      classes[k] = nOut[k][nOut[k].length - 1];
    }
    this.firstWidth = width;
    // DL4J's flat parameter layout per layer: W as f-order [nIn, nOut] (= row-major [nOut, nIn]), then b [nOut].
    float[] stacked = new float[firstWidth * numFeatures];
    firstB = new float[firstWidth];
    w = new INDArray[members][];
    b = new float[members][][];
    out = new INDArray[members][];
    wPtr = new FloatPointer[members][];
    outPtr = new FloatPointer[members][];
    outBuf = new FloatBuffer[members][];
    int widest = firstWidth;
    for (int k = 0; k < members; k++) {
      float[] flat = nets[k].params().data().asFloat();
      int layers = nOut[k].length;
      w[k] = new INDArray[layers];
      b[k] = new float[layers][];
      out[k] = new INDArray[layers];
      wPtr[k] = new FloatPointer[layers];
      outPtr[k] = new FloatPointer[layers];
      outBuf[k] = new FloatBuffer[layers];
      int off = 0;
      for (int l = 0; l < layers; l++) {
        int wn = nIn[k][l] * nOut[k][l];
        if (l == 0) {
          System.arraycopy(flat, off, stacked, firstOff[k] * numFeatures, wn);
          System.arraycopy(flat, off + wn, firstB, firstOff[k], nOut[k][0]);
        } else {
          float[] wl = java.util.Arrays.copyOfRange(flat, off, off + wn);
          w[k][l] = Nd4j.create(wl, new long[] {wn}, DataType.FLOAT);
          b[k][l] = java.util.Arrays.copyOfRange(flat, off + wn, off + wn + nOut[k][l]);
          out[k][l] = Nd4j.create(DataType.FLOAT, maxBatch, nOut[k][l]);
          wPtr[k][l] = ptr(w[k][l]);
          outPtr[k][l] = ptr(out[k][l]);
          outBuf[k][l] = out[k][l].data().asNioFloat();
        }
        off += wn + nOut[k][l];
        widest = Math.max(widest, nOut[k][l]);
      }
    }
    firstW = Nd4j.create(stacked, new long[] {stacked.length}, DataType.FLOAT);
    input = Nd4j.create(DataType.FLOAT, (long) maxBatch * numFeatures);
    inputBuf = input.data().asNioFloat();
    wide = Nd4j.create(DataType.FLOAT, (long) maxBatch * firstWidth);
    wideBuf = wide.data().asNioFloat();
    inputPtr = ptr(input);
    firstWPtr = ptr(firstW);
    widePtr = ptr(wide);
    wideAt = new FloatPointer[members];
    for (int k = 0; k < members; k++) {
      wideAt[k] = ptr(wide).position(firstOff[k]);
    }
    stage = new float[maxBatch * widest];
  }

  /**
   * The forward pass for {@code nets} on batches of at most {@code maxBatch} rows, or empty when any member is
   * outside the supported set (see the class comment) or the members' input widths differ.
   */
  public static Optional<MlpEnsembleForward> create(MultiLayerNetwork[] nets, int maxBatch) {
    if (nets.length == 0 || maxBatch < 1) {
      return Optional.empty();
    }
    int[][] nIn = new int[nets.length][];
    int[][] nOut = new int[nets.length][];
    Act[][] acts = new Act[nets.length][];
    for (int k = 0; k < nets.length; k++) {
      MultiLayerNetwork net = nets[k];
      var conf = net.getLayerWiseConfigurations();
      if (conf.getDataType() != DataType.FLOAT || net.params().dataType() != DataType.FLOAT
          || (conf.getInputPreProcessors() != null && !conf.getInputPreProcessors().isEmpty())) {
        return Optional.empty();
      }
      int layers = net.getnLayers();
      if (layers < 1) {
        return Optional.empty();
      }
      nIn[k] = new int[layers];
      nOut[k] = new int[layers];
      acts[k] = new Act[layers];
      long params = 0;
      for (int l = 0; l < layers; l++) {
        org.deeplearning4j.nn.conf.layers.Layer c = net.getLayer(l).conf().getLayer();
        boolean last = l == layers - 1;
        if (last ? c.getClass() != OutputLayer.class : c.getClass() != DenseLayer.class) {
          return Optional.empty();
        }
        BaseLayer bl = (BaseLayer) c;
        if (last) {
          if (!(bl.getActivationFn() instanceof ActivationSoftmax) || !((OutputLayer) c).hasBias()) {
            return Optional.empty();
          }
        } else {
          DenseLayer d = (DenseLayer) c;
          Act a = activation(d.getActivationFn());
          if (a == null || !d.hasBias() || d.hasLayerNorm()) {
            return Optional.empty();
          }
          acts[k][l] = a;
        }
        nIn[k][l] = (int) ((org.deeplearning4j.nn.conf.layers.FeedForwardLayer) c).getNIn();
        nOut[k][l] = (int) ((org.deeplearning4j.nn.conf.layers.FeedForwardLayer) c).getNOut();
        if ((l > 0 && nIn[k][l] != nOut[k][l - 1]) || !paramsLayoutMatches(net, l, nIn[k][l], nOut[k][l])) {
          return Optional.empty();
        }
        params += (long) nIn[k][l] * nOut[k][l] + nOut[k][l];
      }
      if (params != net.numParams() || nIn[k][0] != nIn[0][0]) {
        return Optional.empty();
      }
    }
    return Optional.of(new MlpEnsembleForward(nets, maxBatch, nIn, nOut, acts));
  }

  private static Act activation(IActivation a) {
    if (a instanceof ActivationReLU r) {
      return r.equals(new ActivationReLU()) ? Act.RELU : null; // thresholded / capped / leaky variants: DL4J
    }
    if (a instanceof ActivationTanH) {
      return Act.TANH;
    }
    if (a instanceof ActivationSigmoid) {
      return Act.SIGMOID;
    }
    if (a instanceof ActivationIdentity) {
      return Act.IDENTITY;
    }
    return null;
  }

  /** The W and b views DL4J hands out are where the flat layout puts them (probed at a few entries). */
  private static boolean paramsLayoutMatches(MultiLayerNetwork net, int l, int ni, int no) {
    INDArray wl = net.getLayer(l).getParam("W");
    INDArray bl = net.getLayer(l).getParam("b");
    if (wl == null || bl == null || wl.rows() != ni || wl.columns() != no || bl.length() != no) {
      return false;
    }
    long start = 0;
    for (int j = 0; j < l; j++) {
      start += net.getLayer(j).numParams();
    }
    INDArray flat = net.params();
    int[][] probes = {{0, 0}, {ni - 1, 0}, {0, no - 1}, {ni / 2, no / 3}, {ni - 1, no - 1}};
    for (int[] ij : probes) {
      if (wl.getFloat(ij[0], ij[1]) != flat.getFloat(start + ij[0] + (long) ij[1] * ni)) {
        return false;
      }
    }
    return bl.getFloat(no - 1) == flat.getFloat(start + (long) ni * no + no - 1)
        && bl.getFloat(0) == flat.getFloat(start + (long) ni * no);
  }

  public int members() {
    return members;
  }

  public int numFeatures() {
    return numFeatures;
  }

  public int maxBatch() {
    return maxBatch;
  }

  /**
   * Every member's class probabilities for the first {@code rows} rows of {@code x} (row-major, {@code rows ×}
   * {@link #numFeatures()} values): one row-major [rows × classes] array per member.
   */
  public float[][] probabilities(float[] x, int rows) {
    if (rows < 1 || rows > maxBatch) {
      throw new IllegalArgumentException("rows must be in 1.." + maxBatch + ", found " + rows);
    }
    if (x.length < rows * numFeatures) {
      throw new IllegalArgumentException("expected at least " + rows * numFeatures + " feature values, found "
          + x.length);
    }
    inputBuf.put(0, x, 0, rows * numFeatures);
    // all members' first layers: wide [rows, Σ nOut] = x · stackedWᵀ, then bias and activation per member block
    openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, firstWidth, numFeatures, 1f, inputPtr,
        numFeatures, firstWPtr, numFeatures, 0f, widePtr, firstWidth);
    int len = rows * firstWidth;
    wideBuf.get(0, stage, 0, len);
    for (int k = 0; k < members; k++) {
      biasAndActivate(stage, rows, firstWidth, firstOff[k], nOut[k][0], firstB, firstOff[k],
          nOut[k].length == 1 ? null : act[k][0]);
    }
    float[][] probs = new float[members][];
    for (int k = 0; k < members; k++) {
      if (nOut[k].length == 1) { // the first layer is the output layer: done before stage is reused below
        probs[k] = softmax(stage, rows, firstWidth, firstOff[k], classes[k]);
      }
    }
    wideBuf.put(0, stage, 0, len);
    for (int k = 0; k < members; k++) {
      int layers = nOut[k].length;
      if (layers == 1) {
        continue;
      }
      FloatPointer in = wideAt[k];
      int ld = firstWidth;
      for (int l = 1; l < layers; l++) {
        int no = nOut[k][l];
        openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, no, nIn[k][l], 1f, in, ld, wPtr[k][l],
            nIn[k][l], 0f, outPtr[k][l], no);
        FloatBuffer ob = outBuf[k][l];
        ob.get(0, stage, 0, rows * no);
        boolean last = l == layers - 1;
        biasAndActivate(stage, rows, no, 0, no, b[k][l], 0, last ? null : act[k][l]);
        if (last) {
          probs[k] = softmax(stage, rows, no, 0, no);
        } else {
          ob.put(0, stage, 0, rows * no);
          in = outPtr[k][l];
          ld = no;
        }
      }
    }
    return probs;
  }

  /** Adds the bias to columns [col, col + width) of a row-major [rows, ld] array and applies {@code a} (if any). */
  private static void biasAndActivate(float[] z, int rows, int ld, int col, int width, float[] bias, int bOff,
      Act a) {
    for (int r = 0; r < rows; r++) {
      int o = r * ld + col;
      for (int j = 0; j < width; j++) {
        z[o + j] += bias[bOff + j];
      }
      if (a == null || a == Act.IDENTITY) {
        continue;
      }
      switch (a) {
        case RELU -> {
          for (int j = 0; j < width; j++) {
            z[o + j] = Math.max(z[o + j], 0f);
          }
        }
        case TANH -> {
          for (int j = 0; j < width; j++) {
            z[o + j] = (float) Math.tanh(z[o + j]);
          }
        }
        case SIGMOID -> {
          for (int j = 0; j < width; j++) {
            z[o + j] = (float) (1.0 / (1.0 + Math.exp(-z[o + j])));
          }
        }
        default -> throw new IllegalStateException(a.toString());
      }
    }
  }

  /** Softmax of columns [col, col + k) of a row-major [rows, ld] array of logits, as a new [rows, k] array. */
  private static float[] softmax(float[] z, int rows, int ld, int col, int k) {
    float[] p = new float[rows * k];
    for (int r = 0; r < rows; r++) {
      Softmax.row(z, r * ld + col, p, r * k, k);
    }
    return p;
  }

  private static FloatPointer ptr(INDArray a) {
    return new FloatPointer(a.data().addressPointer()).position(a.offset());
  }
}
