package io.deepens.core.lean;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * Which convolutional classifiers the lean CNN path ({@link CnnForward}, {@link CnnTrainingStep}) takes, and where
 * their parameters sit in DL4J's flat array.
 *
 * <p>Supported (anything else: {@link #of} returns null, records the {@link Rejection}, and the caller uses DL4J):
 * float32 networks taking a flat C×H×W input (a {@link FeedForwardToCnnPreProcessor}), then blocks of a
 * {@link ConvolutionLayer} (NCHW, ReLU, bias, no dilation, mode Same or Truncate/Strict with explicit padding)
 * optionally followed by a max-pooling {@link SubsamplingLayer}; then a {@link CnnToFeedForwardPreProcessor} (NCHW),
 * {@link DenseLayer}s with ReLU and bias, and one {@link OutputLayer} with softmax and {@link LossMCXENT};
 * {@link Dropout} with a fixed retain probability on any layer's input but the first. For training also: Adam on
 * one updater block, weight decay as {@link MlpTrainingStep} supports it ({@link LeanAdam#checkLayer}).
 *
 * <p>The layers' parameter offsets come from DL4J's own W / b views of the flat array, then a probe of a few
 * elements checks the layout the kernels assume.
 */
final class CnnLayout {
  /** Why the last {@link #of} on this thread returned null, for diagnostics and tests. */
  private static final ThreadLocal<Rejection> LAST_REJECTION = new ThreadLocal<>();

  /** A convolution (and the max pooling after it, if any) on NCHW samples. */
  static final class Conv {
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

    // per-batch buffers: CnnForward sets those of the forward pass, CnnTrainingStep those of the backward pass
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
  static final class Dense {
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

  final MultiLayerNetwork net;
  final List<Conv> convs;
  final List<Dense> dense;
  /** Per parameterised layer, convolutions first: the summed weight-decay coefficient (0 unless training). */
  final double[] decay;
  /** The layers' common Adam and the network's single updater; null unless checked for training. */
  final Adam adam;
  final AdamUpdater updater;

  private CnnLayout(MultiLayerNetwork net, List<Conv> convs, List<Dense> dense, double[] decay, Adam adam,
      AdamUpdater updater) {
    this.net = net;
    this.convs = convs;
    this.dense = dense;
    this.decay = decay;
    this.adam = adam;
    this.updater = updater;
  }

  private static CnnLayout reject(Rejection why) {
    LAST_REJECTION.set(why);
    return null;
  }

  /** The failed check of this thread's last rejected {@link #of}, or null. */
  static Rejection lastRejection() {
    return LAST_REJECTION.get();
  }

  /**
   * The layout of {@code net}, or null when it is outside the supported set (see the class comment; the reason is
   * then {@link #lastRejection}). With {@code training} false the updater and regularisation are not looked at.
   */
  static CnnLayout of(MultiLayerNetwork net, boolean training) {
    var conf = net.getLayerWiseConfigurations();
    if (conf.getDataType() != DataType.FLOAT || net.params().dataType() != DataType.FLOAT) {
      return reject(Rejection.NOT_FLOAT32);
    }
    int layers = net.getnLayers();
    if (layers < 2 || !(conf.getInputPreProcess(0) instanceof FeedForwardToCnnPreProcessor pre0)) {
      return reject(Rejection.CNN_INPUT);
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
          return reject(Rejection.CNN_FLATTEN);
        }
        flat = true;
      }
      if (lc.getClass() == SubsamplingLayer.class) {
        SubsamplingLayer s = (SubsamplingLayer) lc;
        if (flat || convs.isEmpty() || convs.get(convs.size() - 1).pw != null || s.getPoolingType() != PoolingType.MAX
            || s.getCnn2dDataFormat() != CNN2DFormat.NCHW || s.getDilation()[0] != 1 || s.getDilation()[1] != 1
            || s.getIDropout() != null) {
          return reject(Rejection.POOLING);
        }
        Conv cv = convs.get(convs.size() - 1);
        cv.pw = Window.of(h, w, s.getKernelSize(), s.getStride(), s.getPadding(), s.getConvolutionMode());
        if (cv.pw == null) {
          return reject(Rejection.POOLING);
        }
        h = cv.pw.oh();
        w = cv.pw.ow();
        continue;
      }
      if (!(lc instanceof BaseLayer b)) {
        return reject(Rejection.UNSUPPORTED_LAYER);
      }
      // the optimiser matters only to training
      Rejection check = training ? LeanAdam.checkLayer(b, true, adam, layerDecay, l) : null;
      if (check != null) {
        return reject(check);
      }
      double keep = 1;
      IDropout drop = b.getIDropout();
      if (drop != null) {
        if (drop.getClass() != Dropout.class || ((Dropout) drop).getPSchedule() != null
            || ((Dropout) drop).getP() <= 0 || ((Dropout) drop).getP() > 1) {
          return reject(Rejection.DROPOUT);
        }
        keep = ((Dropout) drop).getP();
      }
      boolean last = l == layers - 1;
      if (lc.getClass() == ConvolutionLayer.class && !flat) {
        ConvolutionLayer cl = (ConvolutionLayer) lc;
        if (!LayerChecks.relu(cl.getActivationFn()) || !cl.hasBias() || cl.getCnn2dDataFormat() != CNN2DFormat.NCHW
            || cl.getDilation()[0] != 1 || cl.getDilation()[1] != 1 || cl.getNIn() != c) {
          return reject(Rejection.CONVOLUTION);
        }
        Conv cv = new Conv();
        cv.cin = c;
        cv.h = h;
        cv.w = w;
        cv.cout = (int) cl.getNOut();
        cv.cw = Window.of(h, w, cl.getKernelSize(), cl.getStride(), cl.getPadding(), cl.getConvolutionMode());
        if (cv.cw == null) {
          return reject(Rejection.CONVOLUTION);
        }
        cv.keep = keep;
        convs.add(cv);
        c = cv.cout;
        h = cv.cw.oh();
        w = cv.cw.ow();
        continue;
      }
      if (!flat) {
        return reject(Rejection.CNN_FLATTEN);
      }
      Rejection denseCheck = LayerChecks.dense(lc, last);
      if (denseCheck != null) {
        return reject(denseCheck);
      }
      Dense d = new Dense();
      d.nIn = (int) ((FeedForwardLayer) lc).getNIn();
      d.nOut = (int) ((FeedForwardLayer) lc).getNOut();
      int expectIn = dense.isEmpty() ? c * h * w : dense.get(dense.size() - 1).nOut;
      if (d.nIn != expectIn) {
        return reject(Rejection.LAYER_SIZES);
      }
      d.keep = keep;
      dense.add(d);
    }
    if (convs.isEmpty() || dense.isEmpty() || convs.get(0).keep < 1) {
      return reject(Rejection.CNN_SHAPE);
    }
    AdamUpdater updater = null;
    if (training) {
      updater = LeanAdam.singleBlock(net);
      if (updater == null) {
        return reject(Rejection.UPDATER_BLOCKS);
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
        return reject(Rejection.PARAMETER_VIEWS);
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
      return reject(Rejection.PARAMETER_VIEWS);
    }
    CnnLayout layout = new CnnLayout(net, convs, dense, decay, adam[0], updater);
    if (!layout.layoutMatches(training)) {
      return reject(Rejection.PARAMETER_LAYOUT);
    }
    return layout;
  }

  /** The Adam update over this layout's layers (training layouts only). */
  LeanAdam leanAdam() {
    int n = convs.size() + dense.size();
    int[] wOff = new int[n];
    int[] wLen = new int[n];
    int[] bOff = new int[n];
    int[] bLen = new int[n];
    for (int i = 0; i < n; i++) {
      if (i < convs.size()) {
        Conv c = convs.get(i);
        wOff[i] = c.wOff;
        wLen[i] = c.cout * c.k();
        bOff[i] = c.bOff;
        bLen[i] = c.cout;
      } else {
        Dense d = dense.get(i - convs.size());
        wOff[i] = d.wOff;
        wLen[i] = d.nIn * d.nOut;
        bOff[i] = d.bOff;
        bLen[i] = d.nOut;
      }
    }
    return new LeanAdam(adam, updater, wOff, wLen, bOff, bLen, decay);
  }

  /** A convolution or pooling window: kernel, strides, output size and top / left padding. */
  record Window(int kh, int kw, int sh, int sw, int oh, int ow, int padTop, int padLeft) {
    /** The window over an h × w input, or null for a mode or size the lean pass does not handle. */
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

  /**
   * Checks that DL4J's W / b views sit where the lean pass reads them (W c-order [out, in, kh, kw] / f-order dense)
   * and, for training, that the Adam moments cover the flat array.
   */
  private boolean layoutMatches(boolean training) {
    INDArray params = net.params();
    long numParams = params.length();
    if (!params.isVector() || params.offset() != 0
        || (training && (updater.getM().length() != numParams || updater.getV().length() != numParams))) {
      return false;
    }
    float[] p = params.data().asFloat();
    int conv = 0;
    int den = 0;
    for (int l = 0; l < net.getnLayers(); l++) {
      Layer layer = net.getLayer(l);
      if (layer.numParams() == 0) {
        continue;
      }
      INDArray w = layer.getParam("W");
      INDArray b = layer.getParam("b");
      boolean matches;
      if (conv < convs.size()) {
        matches = convView(convs.get(conv++), w, b, p);
      } else {
        Dense d = dense.get(den++);
        matches = LayerChecks.denseView(w, b, d.nIn, d.nOut, d.wOff, d.bOff, p);
      }
      if (!matches) {
        return false;
      }
    }
    return true;
  }

  /** Whether a convolution's W view ([cout, cin, kh, kw], c order) and b view sit at its offsets in {@code p}. */
  private static boolean convView(Conv c, INDArray w, INDArray b, float[] p) {
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
    return b.length() == c.cout && b.getFloat(0) == p[c.bOff] && b.getFloat(c.cout - 1) == p[c.bOff + c.cout - 1];
  }
}
