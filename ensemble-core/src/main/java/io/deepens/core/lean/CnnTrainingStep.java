package io.deepens.core.lean;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * A lean training step and forward pass for plain convolutional classifiers, on a DL4J {@link MultiLayerNetwork}'s
 * own parameters: convolutions as im2col + one sgemm per group of samples, max pooling, dense layers and a softmax
 * output, with the arithmetic of {@code net.fit(DataSet)} / {@code net.output} (DL4J 1.0.0-M2.1's CPU convolution
 * trains conf/fashion-mnist-cnn.yaml's network at ~3.6 GFLOP/s here, this at ~26: scripts/bench/README.md).
 *
 * <p>Supported (anything else: {@link #create} returns empty and the caller uses DL4J): float32 networks taking a
 * flat C×H×W input (a {@link FeedForwardToCnnPreProcessor}), then blocks of a {@link ConvolutionLayer} (NCHW, ReLU,
 * bias, no dilation, mode Same or Truncate/Strict with explicit padding) optionally followed by a max-pooling
 * {@link SubsamplingLayer}; then a {@link CnnToFeedForwardPreProcessor} (NCHW), {@link DenseLayer}s with ReLU and
 * bias, and one {@link OutputLayer} with softmax and {@link LossMCXENT}; Adam on one updater block, weight decay as
 * {@link MlpTrainingStep} supports it; {@link Dropout} with a fixed retain probability on any layer's input.
 *
 * <p>Semantics: as DL4J's. Same-mode padding puts {@code floor(total/2)} on the top / left; a pooling window that
 * reaches into the padding takes the maximum over its cells inside the input. Max-pooling gradients go to the
 * first maximal cell of a window. Dropout is inverted dropout on a layer's input (kept with probability p, scaled by
 * 1/p), as DL4J's, but the masks come from this class's generator: a {@link SplittableRandom} seeded per step from
 * ND4J's random generator (which the trainer reseeds every epoch), so training is deterministic and resumes bit
 * for bit, and with dropout it is not the same sample path as {@code fit}. Without dropout, parameters agree with
 * {@code fit} to float rounding.
 *
 * <p>State as {@link MlpTrainingStep}: parameters are written back to the network after every step; the Adam
 * moments live on the heap between {@link #begin()} and {@link #end()}. {@link #output} needs neither and works on
 * the network's current parameters (call {@link #reload()} after they change outside this class). Not
 * thread-safe; one per network and thread.
 */
public final class CnnTrainingStep implements LeanStep {
  /** {@link LeanPath#CNN_PROPERTY}: {@link LeanPath} decides whether this class runs. */
  public static final String PROPERTY = LeanPath.CNN_PROPERTY;
  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;
  /** DL4J's LossMCXENT default softmax clipping epsilon. */
  private static final double SOFTMAX_CLIP_EPS = 1e-10;
  /** Target size (floats) of one group's im2col block: samples are grouped so one sgemm sees about this many. */
  private static final int GROUP_FLOATS = 1 << 16;

  /** A convolution (and the max pooling after it, if any) on NCHW samples. */
  private static final class Conv {
    int cin;
    int h;
    int w;
    int cout;
    /** The convolution's window over the input. */
    Window cw;
    /** The max pooling's window over the convolution's output, or null for none. */
    Window pw;
    int wOff;
    int bOff;
    /** Retain probability of the dropout on this layer's input; 1 for none. */
    double keep = 1;
    /** Samples per sgemm. */
    int group;

    int k() {
      return cin * cw.kh() * cw.kw();
    }

    int inSize() {
      return cin * h * w;
    }

    int convSize() {
      return cout * cw.oh() * cw.ow();
    }

    int outSize() {
      return pw != null ? cout * pw.oh() * pw.ow() : convSize();
    }

    // per-batch buffers
    float[] in;
    float[] mask;
    float[] act;
    float[] out;
    int[] arg;
    float[] dAct;
    float[] dIn;
    INDArray cols;
    FloatPointer colsPtr;
    FloatBuffer colsBuf;
  }

  /** A dense layer (the last one is the softmax output). */
  private static final class Dense {
    int nIn;
    int nOut;
    int wOff;
    int bOff;
    double keep = 1;
    float[] in;
    float[] mask;
    float[] act;
    float[] delta;
    INDArray inNat;
    FloatPointer inPtr;
    FloatBuffer inBuf;
  }

  private final MultiLayerNetwork net;
  private final List<Conv> convs;
  private final List<Dense> dense;
  private final int numParams;
  private final int maxBatch;
  private final int numFeatures;
  private final int classes;
  private final double[] decay;
  private final Adam adam;
  private final AdamUpdater updater;

  private final float[] p;
  private final float[] g;
  private float[] m;
  private float[] v;

  private final INDArray params;
  private final FloatBuffer paramBuf;
  private final FloatPointer paramPtr;
  private final INDArray gradNative;
  private final FloatPointer gradPtr;
  private final FloatBuffer gradBuf;
  /** Scratch for sgemm operands and results (the largest need). */
  private final INDArray scratchA;
  private final FloatPointer scratchAPtr;
  private final FloatBuffer scratchABuf;
  private final INDArray scratchC;
  private final FloatPointer scratchCPtr;
  private final FloatBuffer scratchCBuf;
  private final float[] stage;
  private final float[] x;

  private final boolean training;
  private boolean begun;

  /** Why the last {@link #create} on this thread returned empty (a check number), for diagnostics and tests. */
  private static final ThreadLocal<Integer> LAST_REJECTION = new ThreadLocal<>();

  private CnnTrainingStep(MultiLayerNetwork net, int maxBatch, List<Conv> convs, List<Dense> dense, double[] decay,
      Adam adam, AdamUpdater updater) {
    this.net = net;
    this.maxBatch = maxBatch;
    this.convs = convs;
    this.dense = dense;
    this.decay = decay;
    this.adam = adam;
    this.updater = updater;
    this.training = updater != null;
    this.numFeatures = convs.get(0).inSize();
    this.classes = dense.get(dense.size() - 1).nOut;
    params = net.params();
    numParams = (int) params.length();
    paramBuf = params.data().asNioFloat();
    paramPtr = NativeFloats.pointer(params);
    p = new float[numParams];
    g = training ? new float[numParams] : null;
    gradNative = Nd4j.create(DataType.FLOAT, training ? numParams : 1);
    gradPtr = NativeFloats.pointer(gradNative);
    gradBuf = gradNative.data().asNioFloat();
    long scratch = 0;
    int widest = 0;
    x = new float[maxBatch * numFeatures];
    for (Conv c : convs) {
      int ohw = c.cw.oh() * c.cw.ow();
      c.group = Math.max(1, Math.min(maxBatch, GROUP_FLOATS / Math.max(1, c.k() * ohw)));
      scratch = Math.max(scratch, (long) c.group * ohw * Math.max(c.k(), c.cout));
      c.in = c == convs.get(0) ? x : new float[maxBatch * c.inSize()];
      c.mask = training && c.keep < 1 ? new float[maxBatch * c.inSize()] : null;
      c.act = new float[maxBatch * c.convSize()];
      c.out = c.pw != null ? new float[maxBatch * c.outSize()] : c.act;
      c.arg = c.pw != null ? new int[maxBatch * c.outSize()] : null;
      if (training) {
        c.dAct = new float[maxBatch * c.convSize()];
        c.dIn = new float[maxBatch * c.inSize()];
      }
      // training keeps every group's columns for the backward pass; inference needs one group's
      c.cols = Nd4j.create(DataType.FLOAT, (long) (training ? maxBatch : c.group) * c.k() * ohw);
      c.colsPtr = NativeFloats.pointer(c.cols);
      c.colsBuf = c.cols.data().asNioFloat();
      widest = Math.max(widest, c.group * ohw * Math.max(c.k(), c.cout));
    }
    for (Dense d : dense) {
      d.in = new float[maxBatch * d.nIn];
      d.mask = training && d.keep < 1 ? new float[maxBatch * d.nIn] : null;
      d.act = new float[maxBatch * d.nOut];
      d.delta = training ? new float[maxBatch * d.nOut] : null;
      d.inNat = Nd4j.create(DataType.FLOAT, (long) maxBatch * d.nIn);
      d.inPtr = NativeFloats.pointer(d.inNat);
      d.inBuf = d.inNat.data().asNioFloat();
      scratch = Math.max(scratch, (long) maxBatch * Math.max(d.nIn, d.nOut));
      widest = Math.max(widest, maxBatch * Math.max(d.nIn, d.nOut));
    }
    scratchA = Nd4j.create(DataType.FLOAT, scratch);
    scratchAPtr = NativeFloats.pointer(scratchA);
    scratchABuf = scratchA.data().asNioFloat();
    scratchC = Nd4j.create(DataType.FLOAT, scratch);
    scratchCPtr = NativeFloats.pointer(scratchC);
    scratchCBuf = scratchC.data().asNioFloat();
    stage = new float[widest];
    reload();
  }

  private static Optional<CnnTrainingStep> unsupported(int check) {
    LAST_REJECTION.set(check);
    return Optional.empty();
  }

  /** The number of the failed eligibility check of this thread's last rejected {@link #create}, or null. */
  public static Integer lastRejection() {
    return LAST_REJECTION.get();
  }

  /**
   * A lean step and forward pass for {@code net} on minibatches of at most {@code maxBatch} rows, or empty when the
   * network is outside the supported set (see the class comment). With {@code training} false only
   * {@link #output} is used and the updater is not looked at.
   */
  public static Optional<CnnTrainingStep> create(MultiLayerNetwork net, int maxBatch, boolean training) {
    var conf = net.getLayerWiseConfigurations();
    if (conf.getDataType() != DataType.FLOAT || net.params().dataType() != DataType.FLOAT) {
      return unsupported(1);
    }
    int layers = net.getnLayers();
    if (layers < 2 || !(conf.getInputPreProcess(0) instanceof FeedForwardToCnnPreProcessor pre0)) {
      return unsupported(2);
    }
    int c = (int) pre0.getNumChannels();
    int h = (int) pre0.getInputHeight();
    int w = (int) pre0.getInputWidth();
    List<Conv> convs = new ArrayList<>();
    List<Dense> dense = new ArrayList<>();
    double[] layerDecay = new double[layers];
    Adam[] adam = {null};
    boolean flat = false;
    for (int l = 0; l < layers; l++) {
      org.deeplearning4j.nn.conf.layers.Layer lc = net.getLayer(l).conf().getLayer();
      InputPreProcessor pre = conf.getInputPreProcess(l);
      if (l > 0 && pre != null) {
        if (flat || !(pre instanceof CnnToFeedForwardPreProcessor cf) || cf.getFormat() != CNN2DFormat.NCHW
            || cf.getNumChannels() != c || cf.getInputHeight() != h || cf.getInputWidth() != w) {
          return unsupported(3);
        }
        flat = true;
      }
      if (lc.getClass() == SubsamplingLayer.class) {
        SubsamplingLayer s = (SubsamplingLayer) lc;
        if (flat || convs.isEmpty() || convs.get(convs.size() - 1).pw != null || s.getPoolingType() != PoolingType.MAX
            || s.getCnn2dDataFormat() != CNN2DFormat.NCHW || s.getDilation()[0] != 1 || s.getDilation()[1] != 1
            || s.getIDropout() != null) {
          return unsupported(4);
        }
        Conv cv = convs.get(convs.size() - 1);
        cv.pw = Window.of(h, w, s.getKernelSize(), s.getStride(), s.getPadding(), s.getConvolutionMode());
        if (cv.pw == null) {
          return unsupported(4);
        }
        h = cv.pw.oh();
        w = cv.pw.ow();
        continue;
      }
      if (!(lc instanceof BaseLayer b)) {
        return unsupported(5);
      }
      // the optimiser matters only to training
      int check = training ? LeanAdam.checkLayer(b, true, adam, layerDecay, l) : LeanAdam.OK;
      if (check != LeanAdam.OK) {
        return unsupported(check);
      }
      double keep = 1;
      IDropout drop = b.getIDropout();
      if (drop != null) {
        if (drop.getClass() != Dropout.class || ((Dropout) drop).getPSchedule() != null
            || ((Dropout) drop).getP() <= 0 || ((Dropout) drop).getP() > 1) {
          return unsupported(6);
        }
        keep = ((Dropout) drop).getP();
      }
      boolean last = l == layers - 1;
      if (lc.getClass() == ConvolutionLayer.class && !flat) {
        ConvolutionLayer cl = (ConvolutionLayer) lc;
        if (!relu(cl.getActivationFn()) || !cl.hasBias() || cl.getCnn2dDataFormat() != CNN2DFormat.NCHW
            || cl.getDilation()[0] != 1 || cl.getDilation()[1] != 1 || cl.getNIn() != c) {
          return unsupported(7);
        }
        Conv cv = new Conv();
        cv.cin = c;
        cv.h = h;
        cv.w = w;
        cv.cout = (int) cl.getNOut();
        cv.cw = Window.of(h, w, cl.getKernelSize(), cl.getStride(), cl.getPadding(), cl.getConvolutionMode());
        if (cv.cw == null) {
          return unsupported(7);
        }
        cv.keep = keep;
        convs.add(cv);
        c = cv.cout;
        h = cv.cw.oh();
        w = cv.cw.ow();
        continue;
      }
      if (!flat) {
        return unsupported(3);
      }
      Dense d = new Dense();
      if (last) {
        if (lc.getClass() != OutputLayer.class) {
          return unsupported(13);
        }
        OutputLayer o = (OutputLayer) lc;
        if (!(o.getActivationFn() instanceof ActivationSoftmax) || o.getLossFn() == null
            || o.getLossFn().getClass() != LossMCXENT.class || ((LossMCXENT) o.getLossFn()).getWeights() != null
            || !o.hasBias()) {
          return unsupported(14);
        }
        d.nIn = (int) o.getNIn();
        d.nOut = (int) o.getNOut();
      } else {
        if (lc.getClass() != DenseLayer.class || !relu(((DenseLayer) lc).getActivationFn())
            || !((DenseLayer) lc).hasBias() || ((DenseLayer) lc).hasLayerNorm()) {
          return unsupported(15);
        }
        d.nIn = (int) ((DenseLayer) lc).getNIn();
        d.nOut = (int) ((DenseLayer) lc).getNOut();
      }
      int expectIn = dense.isEmpty() ? c * h * w : dense.get(dense.size() - 1).nOut;
      if (d.nIn != expectIn) {
        return unsupported(16);
      }
      d.keep = keep;
      dense.add(d);
    }
    if (convs.isEmpty() || dense.isEmpty() || convs.get(0).keep < 1) {
      return unsupported(17);
    }
    AdamUpdater updater = null;
    if (training) {
      updater = LeanAdam.singleBlock(net);
      if (updater == null) {
        return unsupported(18);
      }
    }
    // parameter offsets from DL4J's own views of the flat array, then a layout probe
    int conv = 0;
    int den = 0;
    double[] decay = new double[convs.size() + dense.size()];
    for (int l = 0; l < layers; l++) {
      Layer layer = net.getLayer(l);
      if (layer.numParams() == 0) {
        continue;
      }
      INDArray wv = layer.getParam("W");
      INDArray bv = layer.getParam("b");
      if (wv == null || bv == null) {
        return unsupported(19);
      }
      int wOff = (int) (wv.offset() - net.params().offset());
      int bOff = (int) (bv.offset() - net.params().offset());
      if (conv < convs.size()) {
        Conv cv = convs.get(conv);
        cv.wOff = wOff;
        cv.bOff = bOff;
        decay[conv] = layerDecay[l];
        conv++;
      } else {
        Dense d = dense.get(den);
        d.wOff = wOff;
        d.bOff = bOff;
        decay[convs.size() + den] = layerDecay[l];
        den++;
      }
    }
    if (conv != convs.size() || den != dense.size()) {
      return unsupported(19);
    }
    CnnTrainingStep s = new CnnTrainingStep(net, maxBatch, convs, dense, decay, adam[0], updater);
    if (!s.layoutMatches(training)) {
      return unsupported(20);
    }
    return Optional.of(s);
  }

  private static boolean relu(org.nd4j.linalg.activations.IActivation a) {
    return a instanceof ActivationReLU r && r.equals(new ActivationReLU());
  }

  /** A convolution or pooling window: kernel, strides, output size and top / left padding. */
  private record Window(int kh, int kw, int sh, int sw, int oh, int ow, int padTop, int padLeft) {
    /** The window over an h × w input, or null for a mode or size this class does not handle. */
    static Window of(int h, int w, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode) {
      int[] y = axis(h, kernel[0], stride[0], padding[0], mode);
      int[] x = axis(w, kernel[1], stride[1], padding[1], mode);
      return y == null || x == null ? null : new Window(kernel[0], kernel[1], stride[0], stride[1], y[0], x[0], y[1],
          x[1]);
    }

    /** With stride 1 along x: the first output column whose input column {@code ox − padLeft + kx} is ≥ 0. */
    int firstInside(int kx) {
      return Math.max(0, Math.min(ow, padLeft - kx));
    }

    /** With stride 1 along x: one past the last output column whose input column is inside [0, w). */
    int endInside(int kx, int w) {
      return Math.max(firstInside(kx), Math.min(ow, w + padLeft - kx));
    }

    /** {output size, top/left padding} along one axis, or null. */
    private static int[] axis(int in, int k, int s, int pad, ConvolutionMode mode) {
      if (k < 1 || s < 1) {
        return null;
      }
      if (mode == ConvolutionMode.Same) {
        int out = (in + s - 1) / s;
        int total = Math.max(0, (out - 1) * s + k - in);
        return new int[] {out, total / 2};
      }
      if (mode == ConvolutionMode.Truncate || mode == ConvolutionMode.Strict) {
        int span = in + 2 * pad - k;
        if (span < 0 || (mode == ConvolutionMode.Strict && span % s != 0)) {
          return null;
        }
        return new int[] {span / s + 1, pad};
      }
      return null;
    }
  }

  /** Checks that DL4J's W / b views sit where this class reads them (W c-order [out, in, kh, kw] / f-order dense). */
  private boolean layoutMatches(boolean training) {
    if (!params.isVector() || params.offset() != 0
        || (training && (updater.getM().length() != numParams || updater.getV().length() != numParams))) {
      return false;
    }
    int conv = 0;
    int den = 0;
    for (int l = 0; l < net.getnLayers(); l++) {
      Layer layer = net.getLayer(l);
      if (layer.numParams() == 0) {
        continue;
      }
      INDArray w = layer.getParam("W");
      INDArray b = layer.getParam("b");
      int wOff;
      int bOff;
      int nb;
      if (conv < convs.size()) {
        Conv c = convs.get(conv++);
        if (w.rank() != 4 || w.size(0) != c.cout || w.size(1) != c.cin || w.size(2) != c.cw.kh() || w.size(3) != c.cw.kw()) {
          return false;
        }
        int[][] probes = {{0, 0, 0, 0}, {c.cout - 1, c.cin - 1, c.cw.kh() - 1, c.cw.kw() - 1}, {c.cout / 2, c.cin / 2, 0,
            c.cw.kw() - 1}, {0, c.cin - 1, c.cw.kh() / 2, 0}};
        for (int[] q : probes) {
          int flat = c.wOff + ((q[0] * c.cin + q[1]) * c.cw.kh() + q[2]) * c.cw.kw() + q[3];
          if (w.getFloat(q[0], q[1], q[2], q[3]) != p[flat]) {
            return false;
          }
        }
        bOff = c.bOff;
        nb = c.cout;
      } else {
        Dense d = dense.get(den++);
        if (w.rows() != d.nIn || w.columns() != d.nOut) {
          return false;
        }
        int[][] probes = {{0, 0}, {d.nIn - 1, 0}, {0, d.nOut - 1}, {d.nIn / 2, d.nOut / 3}, {d.nIn - 1, d.nOut - 1}};
        for (int[] q : probes) {
          if (w.getFloat(q[0], q[1]) != p[d.wOff + q[0] + q[1] * d.nIn]) {
            return false;
          }
        }
        bOff = d.bOff;
        nb = d.nOut;
      }
      if (b.length() != nb || b.getFloat(0) != p[bOff] || b.getFloat(nb - 1) != p[bOff + nb - 1]) {
        return false;
      }
    }
    return true;
  }


  /** Rereads the parameters from the network (after they were changed other than by {@link #step}). */
  public void reload() {
    paramBuf.get(0, p);
  }

  /** Reads parameters and Adam moments from the network (call before the first {@link #step} after any change). */
  @Override
  public void begin() {
    if (updater == null) {
      throw new IllegalStateException("made for inference only");
    }
    if (m == null) {
      m = new float[numParams];
      v = new float[numParams];
    }
    reload();
    LeanAdam.readMoments(updater, m, v);
    begun = true;
  }

  /** Writes the Adam moments back into the network's updater state (parameters are always current). */
  @Override
  public void end() {
    if (!begun) {
      return;
    }
    LeanAdam.writeMoments(updater, m, v);
    begun = false;
  }

  /** Classes (the width of {@link #output}'s rows). */
  public int classes() {
    return classes;
  }

  /** The most rows one call takes. */
  public int maxBatch() {
    return maxBatch;
  }

  /** Flat input length (C·H·W). */
  public int numFeatures() {
    return numFeatures;
  }

  /**
   * Class probabilities (inference: no dropout) for the first {@code rows} rows of {@code features} (rows ×
   * {@link #numFeatures()}, row-major, from {@code offset}) into {@code probs} (rows × classes, row-major).
   */
  public void output(float[] features, int offset, int rows, float[] probs) {
    check(rows);
    System.arraycopy(features, offset, x, 0, rows * numFeatures);
    forward(rows, null);
    Dense o = dense.get(dense.size() - 1);
    System.arraycopy(o.act, 0, probs, 0, rows * classes);
  }

  /**
   * One Monte Carlo dropout pass (Gal and Ghahramani 2016): {@link #output} with the training-time inverted dropout
   * on the layers that have it, masks drawn from {@code rng} in the order the training step draws them.
   */
  public void sample(float[] features, int offset, int rows, float[] probs, SplittableRandom rng) {
    check(rows);
    System.arraycopy(features, offset, x, 0, rows * numFeatures);
    forward(rows, rng);
    Dense o = dense.get(dense.size() - 1);
    System.arraycopy(o.act, 0, probs, 0, rows * classes);
  }

  private void check(int rows) {
    if (rows < 1 || rows > maxBatch) {
      throw new IllegalArgumentException("rows must be in 1.." + maxBatch + ", found " + rows);
    }
  }

  /**
   * One training iteration on the first {@code rows} rows of {@code features} ([≥ rows, C·H·W], c order, float)
   * with one-hot labels {@code labels} (rows × classes, row-major). Returns DL4J's score for the minibatch (before
   * the update).
   */
  @Override
  public double step(INDArray features, float[] labels, int rows) {
    if (!begun) {
      throw new IllegalStateException("call begin() before step()");
    }
    check(rows);
    if (features.ordering() != 'c' || features.dataType() != DataType.FLOAT || features.columns() != numFeatures) {
      throw new IllegalArgumentException("features must be a float c-order [rows, " + numFeatures + "] array");
    }
    var conf = net.getLayerWiseConfigurations();
    int iteration = conf.getIterationCount();
    int epoch = conf.getEpochCount();
    features.data().asNioFloat().get((int) features.offset(), x, 0, rows * numFeatures);
    forward(rows, new SplittableRandom(Nd4j.getRandom().nextLong()));

    // score and output delta = (p - y) / rows
    Dense out = dense.get(dense.size() - 1);
    double loss = 0;
    float inv = 1f / rows;
    for (int i = 0; i < rows * classes; i++) {
      float pr = out.act[i];
      float y = labels[i];
      if (y != 0f) {
        loss -= y * Math.log(Math.min(Math.max(pr, SOFTMAX_CLIP_EPS), 1 - SOFTMAX_CLIP_EPS));
      }
      out.delta[i] = (pr - y) * inv;
    }
    loss /= rows;
    backward(rows);

    double lr = adam.getLearningRate(iteration, epoch);
    float alphat = LeanAdam.alphat(adam, lr, iteration);
    double regScore = 0;
    for (int i = 0; i < decay.length; i++) {
      int wOff;
      int bOff;
      int nb;
      if (i < convs.size()) {
        Conv c = convs.get(i);
        wOff = c.wOff;
        bOff = c.bOff;
        nb = c.cout;
      } else {
        Dense d = dense.get(i - convs.size());
        wOff = d.wOff;
        bOff = d.bOff;
        nb = d.nOut;
      }
      int wLen = i < convs.size() ? convs.get(i).cout * convs.get(i).k()
          : dense.get(i - convs.size()).nIn * nb;
      if (decay[i] > 0) {
        regScore += LeanAdam.decayScore(p, wOff, wOff + wLen, decay[i]);
      }
      LeanAdam.update(p, g, m, v, wOff, wOff + wLen, adam, alphat, (float) (lr * decay[i]));
      LeanAdam.update(p, g, m, v, bOff, bOff + nb, adam, alphat, 0f);
    }
    paramBuf.put(0, p);
    conf.setIterationCount(iteration + 1);
    return loss + regScore;
  }

  // ---------------------------------------------------------------------------------------------------- forward

  private void forward(int rows, SplittableRandom rng) {
    float[] prev = x;
    for (int ci = 0; ci < convs.size(); ci++) {
      Conv c = convs.get(ci);
      if (ci > 0) {
        dropout(prev, c.in, c.mask, c.keep, rows * c.inSize(), rng);
      }
      convForward(c, rows);
      if (c.pw != null) {
        poolForward(c, rows);
      }
      prev = c.out;
    }
    for (int di = 0; di < dense.size(); di++) {
      Dense d = dense.get(di);
      dropout(prev, d.in, d.mask, d.keep, rows * d.nIn, rng);
      denseForward(d, rows, di == dense.size() - 1);
      prev = d.act;
    }
  }

  /**
   * {@code to = from} (inference, or no dropout on this layer) or {@code from ⊙ mask} with a fresh inverted-dropout
   * mask, kept in {@code mask} for the backward pass when training (null for Monte Carlo passes).
   */
  private static void dropout(float[] from, float[] to, float[] mask, double keep, int n, SplittableRandom rng) {
    if (rng == null || keep >= 1) {
      System.arraycopy(from, 0, to, 0, n);
      return;
    }
    float scale = (float) (1 / keep);
    for (int i = 0; i < n; i++) {
      float mi = rng.nextDouble() < keep ? scale : 0f;
      if (mask != null) {
        mask[i] = mi;
      }
      to[i] = from[i] * mi;
    }
  }

  private void convForward(Conv c, int rows) {
    int ohw = c.cw.oh() * c.cw.ow();
    int k = c.k();
    int inSize = c.inSize();
    int convSize = c.convSize();
    for (int s0 = 0; s0 < rows; s0 += c.group) {
      int gs = Math.min(c.group, rows - s0);
      int n = gs * ohw;
      // im2col: cols[r, g·ohw + pix] for r = (ci·kh + ky)·kw + kx
      float[] cols = stage;
      for (int gi = 0; gi < gs; gi++) {
        im2col(c, c.in, (s0 + gi) * inSize, cols, n, gi * ohw);
      }
      long colsOff = training ? (long) s0 * k * ohw : 0;
      c.colsBuf.put((int) colsOff, cols, 0, k * n);
      // out[cout, n] = W[cout, k] · cols[k, n]
      openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, c.cout, n, k, 1f, paramPtr.position(c.wOff), k,
          c.colsPtr.position(colsOff), n, 0f, scratchCPtr.position(0), n);
      scratchCBuf.get(0, stage, 0, c.cout * n);
      for (int gi = 0; gi < gs; gi++) {
        int base = (s0 + gi) * convSize;
        for (int o = 0; o < c.cout; o++) {
          float bias = p[c.bOff + o];
          int src = o * n + gi * ohw;
          int dst = base + o * ohw;
          for (int q = 0; q < ohw; q++) {
            c.act[dst + q] = Math.max(stage[src + q] + bias, 0f);
          }
        }
      }
    }
  }

  /** One sample's im2col into columns {@code col0 ..} of the row-major [k, n] block {@code cols}. */
  private static void im2col(Conv c, float[] in, int inOff, float[] cols, int n, int col0) {
    int h = c.h;
    int w = c.w;
    for (int ch = 0; ch < c.cin; ch++) {
      int chOff = inOff + ch * h * w;
      for (int ky = 0; ky < c.cw.kh(); ky++) {
        for (int kx = 0; kx < c.cw.kw(); kx++) {
          int r = (ch * c.cw.kh() + ky) * c.cw.kw() + kx;
          int dst = r * n + col0;
          for (int oy = 0; oy < c.cw.oh(); oy++) {
            int iy = oy * c.cw.sh() - c.cw.padTop() + ky;
            int rowDst = dst + oy * c.cw.ow();
            if (iy < 0 || iy >= h) {
              java.util.Arrays.fill(cols, rowDst, rowDst + c.cw.ow(), 0f);
              continue;
            }
            int src = chOff + iy * w;
            if (c.cw.sw() == 1) {
              // contiguous: ix = ox - padLeft + kx inside [0, w) for ox in [lo, hi)
              int lo = c.cw.firstInside(kx);
              int hi = c.cw.endInside(kx, w);
              java.util.Arrays.fill(cols, rowDst, rowDst + lo, 0f);
              System.arraycopy(in, src + lo - c.cw.padLeft() + kx, cols, rowDst + lo, hi - lo);
              java.util.Arrays.fill(cols, rowDst + hi, rowDst + c.cw.ow(), 0f);
              continue;
            }
            for (int ox = 0; ox < c.cw.ow(); ox++) {
              int ix = ox * c.cw.sw() - c.cw.padLeft() + kx;
              cols[rowDst + ox] = ix >= 0 && ix < w ? in[src + ix] : 0f;
            }
          }
        }
      }
    }
  }

  private static void poolForward(Conv c, int rows) {
    int ohw = c.cw.oh() * c.cw.ow();
    int pohw = c.pw.oh() * c.pw.ow();
    boolean tiled2x2 = c.pw.kh() == 2 && c.pw.kw() == 2 && c.pw.sh() == 2 && c.pw.sw() == 2 && c.pw.padTop() == 0 && c.pw.padLeft() == 0
        && c.cw.oh() == 2 * c.pw.oh() && c.cw.ow() == 2 * c.pw.ow();
    for (int s = 0; s < rows; s++) {
      for (int o = 0; o < c.cout; o++) {
        int inBase = (s * c.cout + o) * ohw;
        int outBase = (s * c.cout + o) * pohw;
        if (tiled2x2) {
          // windows 2×2 side by side inside the input: the first maximum in row-major order, as below
          for (int py = 0; py < c.pw.oh(); py++) {
            for (int px = 0; px < c.pw.ow(); px++) {
              int i = inBase + 2 * py * c.cw.ow() + 2 * px;
              int best = i;
              float max = c.act[i];
              if (c.act[i + 1] > max) {
                max = c.act[i + 1];
                best = i + 1;
              }
              if (c.act[i + c.cw.ow()] > max) {
                max = c.act[i + c.cw.ow()];
                best = i + c.cw.ow();
              }
              if (c.act[i + c.cw.ow() + 1] > max) {
                max = c.act[i + c.cw.ow() + 1];
                best = i + c.cw.ow() + 1;
              }
              c.out[outBase + py * c.pw.ow() + px] = max;
              c.arg[outBase + py * c.pw.ow() + px] = best;
            }
          }
          continue;
        }
        for (int py = 0; py < c.pw.oh(); py++) {
          int y0 = Math.max(0, py * c.pw.sh() - c.pw.padTop());
          int y1 = Math.min(c.cw.oh(), py * c.pw.sh() - c.pw.padTop() + c.pw.kh());
          for (int px = 0; px < c.pw.ow(); px++) {
            int x0 = Math.max(0, px * c.pw.sw() - c.pw.padLeft());
            int x1 = Math.min(c.cw.ow(), px * c.pw.sw() - c.pw.padLeft() + c.pw.kw());
            int best = inBase + y0 * c.cw.ow() + x0;
            float max = c.act[best];
            for (int yy = y0; yy < y1; yy++) {
              for (int xx = x0; xx < x1; xx++) {
                int i = inBase + yy * c.cw.ow() + xx;
                if (c.act[i] > max) {
                  max = c.act[i];
                  best = i;
                }
              }
            }
            c.out[outBase + py * c.pw.ow() + px] = max;
            c.arg[outBase + py * c.pw.ow() + px] = best;
          }
        }
      }
    }
  }

  private void denseForward(Dense d, int rows, boolean output) {
    int n = rows * d.nIn;
    d.inBuf.put(0, d.in, 0, n);
    // z [rows, nOut] = bias rows + in · W (W f-order [nIn, nOut] = row-major W^T with ld nIn)
    for (int r = 0; r < rows; r++) {
      System.arraycopy(p, d.bOff, stage, r * d.nOut, d.nOut);
    }
    scratchCBuf.put(0, stage, 0, rows * d.nOut);
    openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, rows, d.nOut, d.nIn, 1f, d.inPtr, d.nIn,
        paramPtr.position(d.wOff), d.nIn, 1f, scratchCPtr.position(0), d.nOut);
    scratchCBuf.get(0, d.act, 0, rows * d.nOut);
    if (output) {
      for (int r = 0; r < rows; r++) {
        Softmax.row(d.act, r * d.nOut, d.act, r * d.nOut, d.nOut);
      }
    } else {
      for (int i = 0; i < rows * d.nOut; i++) {
        d.act[i] = Math.max(d.act[i], 0f);
      }
    }
  }

  // --------------------------------------------------------------------------------------------------- backward

  private void backward(int rows) {
    // dense layers, last to first; the delta of a hidden layer is set by the layer above
    for (int di = dense.size() - 1; di >= 0; di--) {
      Dense d = dense.get(di);
      int no = d.nOut;
      int ni = d.nIn;
      scratchABuf.put(0, d.delta, 0, rows * no);
      // dW^T [nOut, nIn] = delta^T · in  → gradient at W's f-order offset
      openblas_nolapack.cblas_sgemm(ROW_MAJOR, TRANS, NO_TRANS, no, ni, rows, 1f, scratchAPtr.position(0), no,
          d.inPtr, ni, 0f, gradPtr.position(d.wOff), ni);
      gradBuf.get(d.wOff, g, d.wOff, ni * no);
      for (int j = 0; j < no; j++) {
        g[d.bOff + j] = 0f;
      }
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < no; j++) {
          g[d.bOff + j] += d.delta[r * no + j];
        }
      }
      // dIn [rows, nIn] = delta · W^T
      openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, rows, ni, no, 1f, scratchAPtr.position(0), no,
          paramPtr.position(d.wOff), ni, 0f, scratchCPtr.position(0), ni);
      float[] dIn = stage;
      scratchCBuf.get(0, dIn, 0, rows * ni);
      if (d.mask != null) {
        for (int i = 0; i < rows * ni; i++) {
          dIn[i] *= d.mask[i];
        }
      }
      if (di > 0) {
        Dense below = dense.get(di - 1);
        for (int i = 0; i < rows * ni; i++) {
          below.delta[i] = below.act[i] > 0f ? dIn[i] : 0f;
        }
      } else {
        Conv top = convs.get(convs.size() - 1);
        passToConv(top, dIn, rows);
      }
    }
    for (int ci = convs.size() - 1; ci >= 0; ci--) {
      Conv c = convs.get(ci);
      convBackward(c, rows, ci > 0);
      if (ci > 0) {
        float[] dIn = c.dIn;
        int n = rows * c.inSize();
        if (c.mask != null) {
          for (int i = 0; i < n; i++) {
            dIn[i] *= c.mask[i];
          }
        }
        passToConv(convs.get(ci - 1), dIn, rows);
      }
    }
  }

  /** dL/d(block output) → dL/dz of the block's convolution (through the max pooling and the ReLU). */
  private static void passToConv(Conv c, float[] dOut, int rows) {
    int n = rows * c.convSize();
    float[] dAct = c.dAct;
    if (c.pw != null) {
      java.util.Arrays.fill(dAct, 0, n, 0f);
      int outN = rows * c.outSize();
      for (int i = 0; i < outN; i++) {
        dAct[c.arg[i]] += dOut[i];
      }
    } else {
      System.arraycopy(dOut, 0, dAct, 0, n);
    }
    for (int i = 0; i < n; i++) {
      if (c.act[i] <= 0f) {
        dAct[i] = 0f;
      }
    }
  }

  private void convBackward(Conv c, int rows, boolean inputGradient) {
    int ohw = c.cw.oh() * c.cw.ow();
    int k = c.k();
    int convSize = c.convSize();
    int inSize = c.inSize();
    if (inputGradient) {
      java.util.Arrays.fill(c.dIn, 0, rows * inSize, 0f);
    }
    for (int j = 0; j < c.cout; j++) {
      g[c.bOff + j] = 0f;
    }
    for (int s0 = 0; s0 < rows; s0 += c.group) {
      int gs = Math.min(c.group, rows - s0);
      int n = gs * ohw;
      // dz [cout, n] gathered from the samples' [cout, ohw] blocks
      float[] dz = stage;
      for (int gi = 0; gi < gs; gi++) {
        int base = (s0 + gi) * convSize;
        for (int o = 0; o < c.cout; o++) {
          System.arraycopy(c.dAct, base + o * ohw, dz, o * n + gi * ohw, ohw);
          float sum = 0f;
          for (int q = 0; q < ohw; q++) {
            sum += c.dAct[base + o * ohw + q];
          }
          g[c.bOff + o] += sum;
        }
      }
      scratchABuf.put(0, dz, 0, c.cout * n);
      long colsOff = (long) s0 * k * ohw;
      // dW [cout, k] (+)= dz · cols^T
      openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, c.cout, k, n, 1f, scratchAPtr.position(0), n,
          c.colsPtr.position(colsOff), n, s0 == 0 ? 0f : 1f, gradPtr.position(c.wOff), k);
      if (inputGradient) {
        // dcols [k, n] = W^T · dz, then col2im into the samples' input gradients
        openblas_nolapack.cblas_sgemm(ROW_MAJOR, TRANS, NO_TRANS, k, n, c.cout, 1f, paramPtr.position(c.wOff), k,
            scratchAPtr.position(0), n, 0f, scratchCPtr.position(0), n);
        float[] dcols = stage;
        scratchCBuf.get(0, dcols, 0, k * n);
        for (int gi = 0; gi < gs; gi++) {
          col2im(c, dcols, n, gi * ohw, c.dIn, (s0 + gi) * inSize);
        }
      }
    }
    gradBuf.get(c.wOff, g, c.wOff, c.cout * k);
  }

  /** Adds one sample's columns {@code col0 ..} of the [k, n] block {@code cols} back onto its input gradient. */
  private static void col2im(Conv c, float[] cols, int n, int col0, float[] dIn, int inOff) {
    int h = c.h;
    int w = c.w;
    for (int ch = 0; ch < c.cin; ch++) {
      int chOff = inOff + ch * h * w;
      for (int ky = 0; ky < c.cw.kh(); ky++) {
        for (int kx = 0; kx < c.cw.kw(); kx++) {
          int src = ((ch * c.cw.kh() + ky) * c.cw.kw() + kx) * n + col0;
          for (int oy = 0; oy < c.cw.oh(); oy++) {
            int iy = oy * c.cw.sh() - c.cw.padTop() + ky;
            if (iy < 0 || iy >= h) {
              continue;
            }
            int rowSrc = src + oy * c.cw.ow();
            int dst = chOff + iy * w;
            if (c.cw.sw() == 1) {
              int lo = c.cw.firstInside(kx);
              int hi = c.cw.endInside(kx, w);
              int shift = dst - c.cw.padLeft() + kx - rowSrc;
              for (int q = rowSrc + lo; q < rowSrc + hi; q++) {
                dIn[q + shift] += cols[q];
              }
              continue;
            }
            for (int ox = 0; ox < c.cw.ow(); ox++) {
              int ix = ox * c.cw.sw() - c.cw.padLeft() + kx;
              if (ix >= 0 && ix < w) {
                dIn[dst + ix] += cols[rowSrc + ox];
              }
            }
          }
        }
      }
    }
  }
}
