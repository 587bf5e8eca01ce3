package io.deepens.core.train;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.network.MemberNetwork;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * SWAG for multilayer networks with batch normalisation (Maddox et al. 2019, section 4: "we recompute the batch
 * normalisation statistics for each sample"; their code does one pass over the training data per sample).
 *
 * <p>Parameters: a batch-norm layer's flat parameters are {@code gamma}, {@code beta} (trainable: part of the SWAG
 * Gaussian) and its running statistics {@code mean} and {@code log10stdev} (DL4J's default {@code useLogStd}), which
 * follow the data and are <em>not</em> part of the Gaussian. {@link #trainableIndices} lists the flat positions of
 * everything else; the moments of a batch-norm member are over those positions only.
 *
 * <p>Statistics: {@link #compute} runs rows through the network in training mode (every batch-norm layer normalises
 * a minibatch with the minibatch's own mean and variance, as in training and in Maddox et al.'s {@code bn_update})
 * and accumulates, in double precision, the plain mean and (population) variance of each batch-norm layer's inputs
 * over all the rows: Σx/n and Σx²/n − (Σx/n)², not DL4J's exponential running average. Layout of one set of
 * statistics ({@link #statLength}): per batch-norm layer, in layer order, its n means then its n variances.
 * {@link #apply} writes a set into the layers' running statistics: {@code mean} and
 * {@code log10stdev = log10(sqrt(var + eps))} (inference normalises by 10^log10stdev).
 *
 * <p>Rows: a member's statistics use at most {@link #MAX_ROWS} of its training rows (all of them when it has fewer),
 * the first of a Fisher–Yates permutation seeded by {@code Seeds.derive(ensembleSeed, member, SWAG_BN_ROWS, 0)}, in
 * that order, in minibatches of {@code training.batchSize}.
 */
public final class SwagBatchNorm {
  /** The most training rows a member's batch-norm statistics are computed over (per sample). */
  public static final int MAX_ROWS = 10_000;

  private SwagBatchNorm() {}

  /** True when the network has a batch-norm layer. */
  public static boolean has(MemberNetwork network) {
    return network.paramTable().keySet().stream().anyMatch(SwagBatchNorm::isStatistic);
  }

  private static boolean isStatistic(String key) {
    return key.endsWith("_mean") || key.endsWith("_var") || key.endsWith("_log10stdev");
  }

  /** The flat parameter positions that are not batch-norm running statistics, ascending. */
  public static int[] trainableIndices(MemberNetwork network) {
    List<Integer> out = new ArrayList<>();
    int off = 0;
    for (Map.Entry<String, INDArray> e : network.paramTable().entrySet()) {
      int len = (int) e.getValue().length();
      if (!isStatistic(e.getKey())) {
        for (int i = 0; i < len; i++) {
          out.add(off + i);
        }
      }
      off += len;
    }
    if (off != network.numParams()) {
      throw new DeepensException("the network's parameter table holds " + off + " values but it has "
          + network.numParams() + " parameters");
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** {@code full[idx[i]]} for every i. */
  public static float[] gather(float[] full, int[] idx) {
    float[] out = new float[idx.length];
    for (int i = 0; i < idx.length; i++) {
      out[i] = full[idx[i]];
    }
    return out;
  }

  /** Writes {@code values[i]} to {@code full[idx[i]]}. */
  public static void scatter(float[] values, int[] idx, float[] full) {
    for (int i = 0; i < idx.length; i++) {
      full[idx[i]] = values[i];
    }
  }

  /** The multilayer network behind a batch-norm SWAG member, or a clear error. */
  static MultiLayerNetwork multiLayer(MemberNetwork network) {
    return network.multiLayerNetwork().orElseThrow(() -> new InvalidInputException(
        "SWAG with batch norm needs a multilayer network (network.type mlp), not a computation graph"));
  }

  /** The batch-norm layers, in layer order; each must keep its running deviation as log10 (DL4J's default). */
  private static List<Integer> layers(MultiLayerNetwork net) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < net.getnLayers(); i++) {
      if (net.getLayer(i).conf().getLayer() instanceof BatchNormalization bn) {
        InvalidInputException.check(bn.isUseLogStd() && !bn.isLockGammaBeta(),
            "SWAG with batch norm supports DL4J batch-norm layers with useLogStd and learned gamma/beta only"
                + " (layer %d)", i);
        out.add(i);
      }
    }
    return out;
  }

  /** Values in one set of statistics: 2 × Σ over batch-norm layers of their width. */
  public static int statLength(MemberNetwork network) {
    MultiLayerNetwork net = multiLayer(network);
    int len = 0;
    for (int l : layers(net)) {
      len += 2 * (int) ((BatchNormalization) net.getLayer(l).conf().getLayer()).getNOut();
    }
    return len;
  }

  /**
   * The rows a member's statistics use: the first min(n, {@link #MAX_ROWS}) of a permutation of 0..n−1 seeded by
   * {@code seed}.
   */
  public static int[] rows(int n, long seed) {
    int[] perm = new int[n];
    MemberTrainer.permutation(perm, seed);
    return n <= MAX_ROWS ? perm : java.util.Arrays.copyOf(perm, MAX_ROWS);
  }

  /**
   * One set of statistics (the class comment's layout) for {@code network}'s current weights over
   * {@code rows[0..]} of {@code train}, in minibatches of {@code batch} rows in training mode. The network's own
   * running statistics are left as they were.
   */
  public static float[] compute(MemberNetwork network, TrainingSet train, int[] rows, int batch) {
    InvalidInputException.check(rows.length >= 1 && batch >= 1, "batch-norm statistics need rows and a batch size");
    MultiLayerNetwork net = multiLayer(network);
    List<Integer> bn = layers(net);
    INDArray saved = net.params().dup();
    int f = train.numFeatures();
    double[][] sum = new double[bn.size()][];
    double[][] sq = new double[bn.size()][];
    for (int b0 = 0; b0 < rows.length; b0 += batch) {
      int m = Math.min(batch, rows.length - b0);
      INDArray x = Nd4j.create(DataType.FLOAT, m, f);
      FloatBuffer buf = x.data().asNioFloat();
      for (int i = 0; i < m; i++) {
        train.copyFeatures(rows[b0 + i], buf, i * f);
      }
      Nd4j.getAffinityManager().tagLocation(x, org.nd4j.linalg.api.concurrency.AffinityManager.Location.HOST);
      // activations: [input, output of layer 0, ...]; a layer's input is the previous entry
      List<INDArray> acts = net.feedForwardToLayer(bn.get(bn.size() - 1), x, true);
      for (int k = 0; k < bn.size(); k++) {
        INDArray in = acts.get(bn.get(k));
        int w = (int) in.size(1);
        float[] v = in.castTo(DataType.FLOAT).dup('c').data().asFloat();
        if (sum[k] == null) {
          sum[k] = new double[w];
          sq[k] = new double[w];
        }
        for (int i = 0; i < m; i++) {
          for (int j = 0; j < w; j++) {
            double a = v[i * w + j];
            sum[k][j] += a;
            sq[k][j] += a * a;
          }
        }
      }
    }
    net.setParams(saved); // training-mode passes moved the running averages
    int total = 0;
    for (double[] s : sum) {
      total += 2 * s.length;
    }
    float[] out = new float[total];
    int off = 0;
    double n = rows.length;
    for (int k = 0; k < bn.size(); k++) {
      int w = sum[k].length;
      for (int j = 0; j < w; j++) {
        double mean = sum[k][j] / n;
        out[off + j] = (float) mean;
        out[off + w + j] = (float) Math.max(sq[k][j] / n - mean * mean, 0.0);
      }
      off += 2 * w;
    }
    return out;
  }

  /** Writes one set of statistics into the network's batch-norm running statistics (see the class comment). */
  public static void apply(MemberNetwork network, float[] stats) {
    MultiLayerNetwork net = multiLayer(network);
    int off = 0;
    for (int l : layers(net)) {
      BatchNormalization conf = (BatchNormalization) net.getLayer(l).conf().getLayer();
      int w = (int) conf.getNOut();
      InvalidInputException.check(off + 2 * w <= stats.length,
          "batch-norm statistics hold %d values, too few for the network's batch-norm layers", stats.length);
      Layer layer = net.getLayer(l);
      INDArray mean = layer.getParam("mean");
      INDArray logStd = layer.getParam("log10stdev");
      float[] m = new float[w];
      float[] s = new float[w];
      for (int j = 0; j < w; j++) {
        m[j] = stats[off + j];
        s[j] = (float) Math.log10(Math.sqrt(stats[off + w + j] + conf.getEps()));
      }
      mean.assign(Nd4j.createFromArray(m).reshape(mean.shape()));
      logStd.assign(Nd4j.createFromArray(s).reshape(logStd.shape()));
      off += 2 * w;
    }
    InvalidInputException.check(off == stats.length,
        "batch-norm statistics hold %d values but the network's batch-norm layers take %d", stats.length, off);
  }

  /**
   * Switches every layer of the network to plain SGD at {@code learningRate} (no momentum; regularisation as
   * configured) for the SWAG epochs on DL4J's {@code fit}; the updater (and its state) is rebuilt. Idempotent.
   */
  static void useSgd(MemberNetwork network, double learningRate) {
    MultiLayerNetwork net = multiLayer(network);
    boolean changed = false;
    for (Layer l : net.getLayers()) {
      if (l.conf().getLayer() instanceof BaseLayer b) {
        if (!(b.getIUpdater() instanceof Sgd s) || s.getLearningRate() != learningRate
            || s.getLearningRateSchedule() != null) {
          b.setIUpdater(new Sgd(learningRate));
          changed = true;
        }
      }
    }
    if (changed) {
      net.setUpdater(null);
    }
  }
}
