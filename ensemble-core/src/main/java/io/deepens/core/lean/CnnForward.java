package io.deepens.core.lean;

import io.deepens.core.lean.CnnLayout.Conv;
import io.deepens.core.lean.CnnLayout.Dense;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The lean forward pass of a plain convolutional classifier ({@link CnnLayout} says which) on a DL4J
 * {@link MultiLayerNetwork}'s own parameters, with the arithmetic of {@code net.output}: convolutions as im2col + one
 * sgemm per group of samples ({@link ConvKernels}), max pooling, dense layers and a softmax output. It serves a CNN
 * member's scoring ({@link #output}) and Monte Carlo dropout passes ({@link #sample}), and {@link CnnTrainingStep}
 * runs it as the forward half of a training step.
 *
 * <p>Semantics: as DL4J's. Same-mode padding puts {@code floor(total/2)} on the top / left. Dropout is inverted
 * dropout on a layer's input (kept with probability p, scaled by 1/p), as DL4J's, but the masks come from the
 * caller's generator.
 *
 * <p>Works on the network's parameters as they were at creation or the last {@link #reload()} (call it after they
 * change outside this pass). Not thread-safe; one per network and thread.
 */
public final class CnnForward {
  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;
  /** Target size (floats) of one group's im2col block: samples are grouped so one sgemm sees about this many. */
  private static final int GROUP_FLOATS = 1 << 16;

  final List<Conv> convs;
  final List<Dense> dense;
  final int numParams;
  private final int maxBatch;
  private final int numFeatures;
  private final int classes;
  /** Whether the buffers are a training step's: every group's columns and the dropout masks are kept. */
  private final boolean training;

  /** The parameters on the heap, read from the network's flat array by {@link #reload()}. */
  final float[] p;
  // the native arrays are held as fields: the pointers and NIO views into them do not keep them from being freed
  private final INDArray params;
  final FloatBuffer paramBuf;
  final FloatPointer paramPtr;
  /** Scratch for sgemm results, {@link #scratchFloats} long (the largest need). */
  private final INDArray scratchC;
  final FloatPointer scratchCPtr;
  final FloatBuffer scratchCBuf;
  final long scratchFloats;
  /** Heap staging for the widest block of one group or layer. */
  final float[] stage;
  /** The input rows [maxBatch, numFeatures]. */
  final float[] x;

  CnnForward(CnnLayout layout, int maxBatch, boolean training) {
    this.maxBatch = maxBatch;
    this.convs = layout.convs;
    this.dense = layout.dense;
    this.training = training;
    this.numFeatures = convs.get(0).inSize();
    this.classes = dense.get(dense.size() - 1).nOut;
    params = layout.net.params();
    numParams = (int) params.length();
    paramBuf = params.data().asNioFloat();
    paramPtr = NativeFloats.pointer(params);
    p = new float[numParams];
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
      d.inNat = Nd4j.create(DataType.FLOAT, (long) maxBatch * d.nIn);
      d.inPtr = NativeFloats.pointer(d.inNat);
      d.inBuf = d.inNat.data().asNioFloat();
      scratch = Math.max(scratch, (long) maxBatch * Math.max(d.nIn, d.nOut));
      widest = Math.max(widest, maxBatch * Math.max(d.nIn, d.nOut));
    }
    scratchFloats = scratch;
    scratchC = Nd4j.create(DataType.FLOAT, scratch);
    scratchCPtr = NativeFloats.pointer(scratchC);
    scratchCBuf = scratchC.data().asNioFloat();
    stage = new float[widest];
    reload();
  }

  /**
   * The forward pass for {@code net} on at most {@code maxBatch} rows per call, or empty when the network is
   * outside the supported set ({@link CnnLayout}; the reason is then {@link #lastRejection()}).
   */
  public static Optional<CnnForward> create(MultiLayerNetwork net, int maxBatch) {
    CnnLayout layout = CnnLayout.of(net, false);
    return layout == null ? Optional.empty() : Optional.of(new CnnForward(layout, maxBatch, false));
  }

  /** The failed check of this thread's last rejected {@link #create} (or {@link CnnTrainingStep#create}), or null. */
  public static Rejection lastRejection() {
    return CnnLayout.lastRejection();
  }

  /** Rereads the parameters from the network (after they were changed other than by a training step). */
  public void reload() {
    paramBuf.get(0, p);
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
    probabilities(features, offset, rows, probs, null);
  }

  /**
   * One Monte Carlo dropout pass (Gal and Ghahramani 2016): {@link #output} with the training-time inverted dropout
   * on the layers that have it, masks drawn from {@code rng} in the order the training step draws them.
   */
  public void sample(float[] features, int offset, int rows, float[] probs, SplittableRandom rng) {
    probabilities(features, offset, rows, probs, rng);
  }

  private void probabilities(float[] features, int offset, int rows, float[] probs, SplittableRandom rng) {
    check(rows);
    System.arraycopy(features, offset, x, 0, rows * numFeatures);
    forward(rows, rng);
    Dense o = dense.get(dense.size() - 1);
    System.arraycopy(o.act, 0, probs, 0, rows * classes);
  }

  /** @throws IllegalArgumentException unless {@code rows} is in 1..{@link #maxBatch()} */
  void check(int rows) {
    if (rows < 1 || rows > maxBatch) {
      throw new IllegalArgumentException("rows must be in 1.." + maxBatch + ", found " + rows);
    }
  }

  /**
   * The forward pass over the first {@code rows} samples of {@link #x}: inference with {@code rng} null, else
   * inverted dropout with masks drawn from {@code rng} (kept for the backward pass when training).
   */
  void forward(int rows, SplittableRandom rng) {
    float[] prev = x;
    for (int ci = 0; ci < convs.size(); ci++) {
      Conv c = convs.get(ci);
      if (ci > 0) {
        dropout(prev, c.in, c.mask, c.keep, rows * c.inSize(), rng);
      }
      convForward(c, rows);
      if (c.pw != null) {
        ConvKernels.poolForward(c, rows);
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
        ConvKernels.im2col(c, c.in, (s0 + gi) * inSize, cols, n, gi * ohw);
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
}
