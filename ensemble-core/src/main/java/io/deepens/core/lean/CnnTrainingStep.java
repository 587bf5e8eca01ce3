package io.deepens.core.lean;

import io.deepens.core.lean.CnnLayout.Conv;
import io.deepens.core.lean.CnnLayout.Dense;
import java.nio.FloatBuffer;
import java.util.Arrays;
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
 * A lean training step for plain convolutional classifiers on a DL4J {@link MultiLayerNetwork}'s own parameters,
 * with the arithmetic of {@code net.fit(DataSet)} (DL4J 1.0.0-M2.1's CPU convolution trains
 * conf/fashion-mnist-cnn.yaml's network at ~3.6 GFLOP/s here, this at ~26: scripts/bench/README.md): the forward
 * pass of {@link CnnForward}, DL4J's softmax cross-entropy, the backward pass (sgemm for the weight and input
 * gradients, col2im, max-pooling and ReLU gradients: {@link ConvKernels}) and DL4J's Adam with weight decay
 * ({@link LeanAdam}). The networks it takes: {@link CnnLayout}.
 *
 * <p>Semantics: as DL4J's. Max-pooling gradients go to the first maximal cell of a window. The dropout masks come
 * from a {@link SplittableRandom} seeded per step from ND4J's random generator (which the trainer reseeds every
 * epoch), so training is deterministic and resumes bit for bit, and with dropout it is not the same sample path as
 * {@code fit}. Without dropout, parameters agree with {@code fit} to float rounding.
 *
 * <p>State as {@link MlpTrainingStep}: parameters are written back to the network after every step; the Adam
 * moments live on the heap between {@link #begin()} and {@link #end()}. Made with {@code training} false it is only
 * a {@link CnnForward} ({@link #output}, {@link #sample}; kept for callers of this name, new code uses
 * {@link CnnForward#create}). Not thread-safe; one per network and thread.
 */
public final class CnnTrainingStep implements LeanStep {
  /** {@link LeanPath#CNN_PROPERTY}: {@link LeanPath} decides whether this class runs. */
  public static final String PROPERTY = LeanPath.CNN_PROPERTY;
  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;

  private final MultiLayerNetwork net;
  private final CnnForward forward;
  /** Adam and its moments; null for an inference-only instance. */
  private final LeanAdam adam;
  // the forward pass's layers and buffers, shared
  private final List<Conv> convs;
  private final List<Dense> dense;
  private final float[] p;
  private final FloatPointer paramPtr;
  private final FloatPointer scratchCPtr;
  private final FloatBuffer scratchCBuf;
  private final float[] stage;
  // gradients; the native arrays are held as fields: the pointers and NIO views into them do not keep them alive
  private final float[] g;
  private final INDArray gradNative;
  private final FloatPointer gradPtr;
  private final FloatBuffer gradBuf;
  /** Scratch for sgemm operands (the forward pass's scratch size). */
  private final INDArray scratchA;
  private final FloatPointer scratchAPtr;
  private final FloatBuffer scratchABuf;

  private CnnTrainingStep(CnnLayout layout, int maxBatch, boolean training) {
    this.net = layout.net;
    this.forward = new CnnForward(layout, maxBatch, training);
    this.adam = training ? layout.leanAdam() : null;
    convs = forward.convs;
    dense = forward.dense;
    p = forward.p;
    paramPtr = forward.paramPtr;
    scratchCPtr = forward.scratchCPtr;
    scratchCBuf = forward.scratchCBuf;
    stage = forward.stage;
    g = training ? new float[forward.numParams] : null;
    gradNative = Nd4j.create(DataType.FLOAT, training ? forward.numParams : 1);
    gradPtr = NativeFloats.pointer(gradNative);
    gradBuf = gradNative.data().asNioFloat();
    if (training) {
      for (Conv c : convs) {
        c.dAct = new float[maxBatch * c.convSize()];
        c.dIn = new float[maxBatch * c.inSize()];
      }
      for (Dense d : dense) {
        d.delta = new float[maxBatch * d.nOut];
      }
    }
    scratchA = Nd4j.create(DataType.FLOAT, forward.scratchFloats);
    scratchAPtr = NativeFloats.pointer(scratchA);
    scratchABuf = scratchA.data().asNioFloat();
  }

  /**
   * A lean step (and forward pass) for {@code net} on minibatches of at most {@code maxBatch} rows, or empty when
   * the network is outside the supported set ({@link CnnLayout}; the reason is then {@link #lastRejection()}). With
   * {@code training} false only {@link #output} / {@link #sample} are used and the updater is not looked at.
   */
  public static Optional<CnnTrainingStep> create(MultiLayerNetwork net, int maxBatch, boolean training) {
    CnnLayout layout = CnnLayout.of(net, training);
    return layout == null ? Optional.empty() : Optional.of(new CnnTrainingStep(layout, maxBatch, training));
  }

  /** The failed check of this thread's last rejected {@link #create} (or {@link CnnForward#create}), or null. */
  public static Rejection lastRejection() {
    return CnnLayout.lastRejection();
  }

  /** The forward pass this step runs (on the same parameters and buffers). */
  public CnnForward forward() {
    return forward;
  }

  /** {@link CnnForward#reload()}. */
  public void reload() {
    forward.reload();
  }

  /** {@link CnnForward#classes()}. */
  public int classes() {
    return forward.classes();
  }

  /** {@link CnnForward#maxBatch()}. */
  public int maxBatch() {
    return forward.maxBatch();
  }

  /** {@link CnnForward#numFeatures()}. */
  public int numFeatures() {
    return forward.numFeatures();
  }

  /** {@link CnnForward#output}. */
  public void output(float[] features, int offset, int rows, float[] probs) {
    forward.output(features, offset, rows, probs);
  }

  /** {@link CnnForward#sample}. */
  public void sample(float[] features, int offset, int rows, float[] probs, SplittableRandom rng) {
    forward.sample(features, offset, rows, probs, rng);
  }

  /** Reads parameters and Adam moments from the network (call before the first {@link #step} after any change). */
  @Override
  public void begin() {
    if (adam == null) {
      throw new IllegalStateException("made for inference only");
    }
    forward.reload();
    adam.begin();
  }

  /** Writes the Adam moments back into the network's updater state (parameters are always current). */
  @Override
  public void end() {
    if (adam != null) {
      adam.end();
    }
  }

  /**
   * One training iteration on the first {@code rows} rows of {@code features} ([≥ rows, C·H·W], c order, float)
   * with one-hot labels {@code labels} (rows × classes, row-major). Returns DL4J's score for the minibatch (before
   * the update).
   */
  @Override
  public double step(INDArray features, float[] labels, int rows) {
    if (adam == null) {
      throw new IllegalStateException("call begin() before step()");
    }
    adam.requireBegun();
    forward.check(rows);
    int numFeatures = forward.numFeatures();
    if (features.ordering() != 'c' || features.dataType() != DataType.FLOAT || features.columns() != numFeatures) {
      throw new IllegalArgumentException("features must be a float c-order [rows, " + numFeatures + "] array");
    }
    var conf = net.getLayerWiseConfigurations();
    int iteration = conf.getIterationCount();
    int epoch = conf.getEpochCount();
    features.data().asNioFloat().get((int) features.offset(), forward.x, 0, rows * numFeatures);
    forward.forward(rows, new SplittableRandom(Nd4j.getRandom().nextLong()));

    // score and output delta = (p - y) / rows
    Dense out = dense.get(dense.size() - 1);
    double loss = Softmax.crossEntropy(out.act, labels, rows * forward.classes(), 1f / rows, out.delta) / rows;
    backward(rows);

    double regScore = adam.step(p, g, iteration, epoch);
    forward.paramBuf.put(0, p);
    conf.setIterationCount(iteration + 1);
    return loss + regScore;
  }

  /** The backward pass after {@link CnnForward#forward}: gradients into {@link #g}, output delta already set. */
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
        ConvKernels.passToConv(top, dIn, rows);
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
        ConvKernels.passToConv(convs.get(ci - 1), dIn, rows);
      }
    }
  }

  private void convBackward(Conv c, int rows, boolean inputGradient) {
    int ohw = c.cw.oh() * c.cw.ow();
    int k = c.k();
    int convSize = c.convSize();
    int inSize = c.inSize();
    if (inputGradient) {
      Arrays.fill(c.dIn, 0, rows * inSize, 0f);
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
          ConvKernels.col2im(c, dcols, n, gi * ohw, c.dIn, (s0 + gi) * inSize);
        }
      }
    }
    gradBuf.get(c.wOff, g, c.wOff, c.cout * k);
  }
}
