package io.deepens.core.train;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.network.GaussianNllLoss;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.NetworkType;
import io.deepens.core.spec.SwagSpec;
import io.deepens.core.spec.Task;
import io.deepens.core.spec.TrainingSpec;
import io.deepens.core.stream.EpochRows;
import io.deepens.core.stream.RowStream;
import io.deepens.core.lean.CnnTrainingStep;
import io.deepens.core.lean.LeanPath;
import io.deepens.core.lean.LeanStep;
import io.deepens.core.lean.MlpTrainingStep;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains one ensemble member (Lakshminarayanan et al. 2017: each member from its own random initialisation and
 * its own data order) on rows the caller has already resampled (bootstrap duplicates included).
 *
 * <p>Determinism: the weights start from {@code Seeds.derive(seed, member, INIT, 0)}. At the start of epoch e the
 * rows are visited in a fresh Fisher–Yates permutation of 0..n−1 drawn with {@link SplittableRandom} seeded by
 * {@code derive(seed, member, SHUFFLE, e)}, ND4J's RNG (dropout masks) is reset with
 * {@code Nd4j.getRandom().setSeed(derive(seed, member, DROPOUT, e))}, and the network's epoch counter (which drives
 * the learning-rate schedule) is set to e. Everything an epoch needs therefore depends only on (seed, member, e)
 * and the state saved in the previous epoch's {@link MemberCheckpoint}: resuming after epoch k gives parameters
 * bit-identical to an uninterrupted run on the same platform, backend and thread count.
 *
 * <p>With {@code data.placement: stream} the rows come from a {@link RowStream} instead ({@link #train(EnsembleSpec,
 * int, RowStream, Checkpointer, EpochListener)}): epoch e's minibatches are the stream's rows of epoch e in its
 * order (every minibatch full but the epoch's last), ND4J's RNG is reseeded before every minibatch from
 * {@code derive(seed, member, STREAM_DROPOUT, e)} and the minibatch number, and with
 * {@code training.checkpointEveryRows} > 0 the member also checkpoints within the epoch (rows trained on and
 * their loss sum): a resumed member replays the epoch's stream past those rows without training, so its parameters
 * are bit-identical to an undisturbed run's.
 *
 * <p>Every epoch: training loss (mean minibatch loss), validation NLL and accuracy (classification) or RMSE and
 * Gaussian NLL (regression), a checkpoint, then the listener. Early stopping (patience > 0) monitors validation NLL
 * (the training loss when there are no validation rows); when on, the network returned holds the best epoch's
 * parameters. A NaN or infinite minibatch loss, validation NLL or parameter, or a trainable weight above
 * {@link #MAX_ABS_WEIGHT} at an epoch's end, ends the member as {@link MemberStatus#DIVERGED}, with no network.
 *
 * <p>Regression members learn on standardised targets (y − m) / s with m, s the mean and standard deviation of
 * their training targets, kept in the network's {@link GaussianNllLoss}; every reported number (losses, RMSE,
 * predictions) is in target units.
 *
 * <p>The network is a {@link MemberNetwork}: a DL4J multilayer network, or for a {@code dl4j-json}
 * {@code ComputationGraphConfiguration} a single-input single-output graph; both train, checkpoint and resume alike.
 *
 * <p>Plain MLP classifiers (ReLU, softmax, Adam, optional weight decay; no dropout or batch norm) train with
 * {@link MlpTrainingStep}, which does {@code fit}'s arithmetic on the same network's parameters and Adam state
 * without its per-iteration overhead (parameters equal {@code fit}'s to float rounding; resume and same-seed runs
 * stay bit-identical). Preset CNN classifiers (ReLU convolutions, max pooling, dense layers, softmax, Adam, weight
 * decay, dropout) train with {@link CnnTrainingStep} (im2col + sgemm; DL4J's {@code fit} is ~7× slower on
 * conf/fashion-mnist-cnn.yaml's network here; dropout masks are this project's, deterministic per seed and
 * epoch). Every other network trains with {@code net.fit}. {@link LeanPath} decides, the same way as for scoring:
 * the lean steps run only on ND4J's CPU backend (on CUDA, {@code fit} runs on the device the task bound) and only
 * while their switch is on ({@value LeanPath#MLP_PROPERTY}{@code =false} / {@value LeanPath#CNN_PROPERTY}{@code =false}
 * turn them off). The member logs its path and reason once, at INFO, and its report records them
 * ({@link MemberReport#compute()}).
 *
 * <p>SWAG ({@code ensemble.swag}, {@link SwagSpec}): the ordinary epochs are followed by {@code swag.epochs} more,
 * numbered on (epoch {@code training.epochs} is the first SWAG epoch; shuffles and checkpoints as for any epoch), in
 * which {@link MlpTrainingStep} takes plain SGD steps at {@code swag.learningRate} and {@link SwagMoments} collects
 * {@code swag.snapshotsPerEpoch} snapshots per epoch, after minibatches ⌊j·B/c⌋, j = 1..c (B minibatches per epoch,
 * c snapshots; the last at the epoch's end; a streaming member's B is known from the rows its ordinary epochs
 * read). Checkpoints carry the moments (a streaming member's mid-epoch checkpoints too), so a member resumed mid-SWAG
 * ends with the same moments and parameters. The member's network then holds θ̄ (the SWA weights) and its result the
 * moments. Where {@link LeanPath} picks DL4J's {@code fit} (batch-norm MLPs, which the lean step does not take, or
 * the lean step switched off), the SWAG epochs run {@code fit} with every layer's updater switched to plain SGD at
 * {@code swag.learningRate} (weight decay as configured), and the moments cover the parameters except batch-norm
 * running statistics. A member with batch norm ends with {@link SwagBatchNorm}'s statistics: its network gets those
 * of θ̄ and its moments S sets, one per SWAG sample scoring draws (S + 1 passes over its training rows).
 *
 * <p>ND4J's thread count is process-wide: it is set to {@code resources.threadsPerMember} (one member per JVM
 * thread pool is assumed, as with one Spark task per executor core).
 */
public final class MemberTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(MemberTrainer.class);
  /** Rows per forward pass when evaluating validation rows. */
  static final int EVAL_BATCH = 1024;
  /**
   * A trainable weight above this magnitude marks the member DIVERGED. Softmax cross-entropy clips probabilities,
   * so exploding updates need not produce a NaN loss: SGD at learning rate 1e6 on digits drives weights to 1e20
   * while the loss stays near 20 nats and accuracy at chance. Networks fed standardised features keep their
   * weights orders of magnitude below 1e6.
   */
  static final double MAX_ABS_WEIGHT = 1e6;
  /** {@link LeanPath#MLP_PROPERTY}. */
  public static final String FAST_MLP_PROPERTY = LeanPath.MLP_PROPERTY;
  /** {@link LeanPath#CNN_PROPERTY}. */
  public static final String FAST_CNN_PROPERTY = LeanPath.CNN_PROPERTY;

  private MemberTrainer() {}

  /**
   * Trains member {@code member} (0-based) of the spec.
   *
   * @param validation validation rows, or null / empty for none
   * @param checkpointer where checkpoints go; {@link Checkpointer#NONE} for none (null means NONE)
   * @param listener hears about every epoch (null means none)
   */
  public static MemberResult train(
      EnsembleSpec spec,
      int member,
      TrainingSet train,
      TrainingSet validation,
      Checkpointer checkpointer,
      EpochListener listener) {
    checkMember(spec, member);
    InvalidInputException.check(train != null && train.numRows() >= 1, "member %d has no training rows", member);
    InvalidInputException.check(
        validation == null || validation.numFeatures() == train.numFeatures(),
        "validation rows have %d features but training rows have %d",
        validation == null ? 0 : validation.numFeatures(), train.numFeatures());
    return run(spec, member, train, validation, null, checkpointer, listener);
  }

  /**
   * Trains member {@code member} on a stream of rows ({@code data.placement: stream}); validation rows come from the
   * stream.
   *
   * @param checkpointer where checkpoints go; {@link Checkpointer#NONE} for none (null means NONE)
   * @param listener hears about every epoch (null means none)
   */
  public static MemberResult train(
      EnsembleSpec spec,
      int member,
      RowStream stream,
      Checkpointer checkpointer,
      EpochListener listener) {
    checkMember(spec, member);
    InvalidInputException.check(stream != null, "member %d has no row stream", member);
    return run(spec, member, null, null, stream, checkpointer, listener);
  }

  /** Both entry points' last step: defaults for a null checkpointer or listener, ND4J's threads, the run. */
  private static MemberResult run(EnsembleSpec spec, int member, TrainingSet train, TrainingSet validation,
      RowStream stream, Checkpointer checkpointer, EpochListener listener) {
    setThreads(spec.resources().threadsPerMember());
    return new Run(spec, member, train, validation, stream,
        checkpointer == null ? Checkpointer.NONE : checkpointer,
        listener == null ? EpochListener.NONE : listener).run();
  }

  private static void checkMember(EnsembleSpec spec, int member) {
    InvalidInputException.check(spec != null, "spec must be given");
    InvalidInputException.check(
        member >= 0 && member < spec.ensemble().members(),
        "member must be in 0..%d (ensemble.members - 1), found %d", spec.ensemble().members() - 1, member);
  }

  /**
   * Sets ND4J's threads: the native OpenMP pool (what actually runs the ops; without it a 1-thread member on a
   * busy machine runs ~10x slower from OpenMP oversubscription), ND4J's Environment and the BLAS wrapper.
   */
  static void setThreads(int threads) {
    Nd4j.getEnvironment().setMaxThreads(threads);
    Nd4j.getEnvironment().setMaxMasterThreads(threads);
    try {
      org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
      Nd4j.factory().blas().setMaxThreads(threads);
    } catch (RuntimeException | LinkageError e) {
      LOG.debug("cannot set OpenMP/BLAS threads on this backend: {}", e.toString());
    }
  }

  /** ND4J's OpenMP thread count now (the native backend's view; ND4J's Environment may report otherwise). */
  static int currentThreads() {
    try {
      return org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
    } catch (RuntimeException | LinkageError e) {
      return Nd4j.getEnvironment().maxThreads();
    }
  }

  /**
   * The kind of lean step a member of {@code spec} could train with: preset MLP and CNN classifiers (regression
   * members and {@code dl4j-json} networks always train with {@code fit}).
   */
  static LeanPath.Kind leanKind(EnsembleSpec spec) {
    if (spec.task() != Task.CLASSIFICATION) {
      return LeanPath.Kind.OTHER;
    }
    return switch (spec.network().type()) {
      case MLP -> LeanPath.Kind.MLP;
      case CNN -> LeanPath.Kind.CNN;
      default -> LeanPath.Kind.OTHER;
    };
  }

  /** The seeds a member uses, by name, for its report. */
  static Map<String, Long> seeds(long ensembleSeed, int member) {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put("ensemble", ensembleSeed);
    m.put("init", Seeds.derive(ensembleSeed, member, SeedPurpose.INIT, 0));
    m.put("bootstrap", Seeds.derive(ensembleSeed, member, SeedPurpose.BOOTSTRAP, 0));
    m.put("rowOrder", Seeds.derive(ensembleSeed, member, SeedPurpose.ROW_ORDER, 0));
    m.put("shuffleEpoch0", Seeds.derive(ensembleSeed, member, SeedPurpose.SHUFFLE, 0));
    m.put("dropoutEpoch0", Seeds.derive(ensembleSeed, member, SeedPurpose.DROPOUT, 0));
    return m;
  }

  /**
   * The mean and standard deviation (population, in double precision, in row order) of the training targets; a
   * constant target gets scale 1. A regression member learns on (y − mean) / sd.
   */
  static double[] targetScaling(TrainingSet train) {
    int n = train.numRows();
    double mean = 0;
    for (int i = 0; i < n; i++) {
      mean += train.label(i);
    }
    mean /= n;
    double ss = 0;
    for (int i = 0; i < n; i++) {
      double d = train.label(i) - mean;
      ss += d * d;
    }
    double sd = Math.sqrt(ss / n);
    if (!Double.isFinite(mean) || !Double.isFinite(sd)) {
      throw new InvalidInputException("member training targets must be finite numbers; their mean is " + mean);
    }
    return new double[] {mean, sd > 0 ? sd : 1.0};
  }

  /** A Fisher–Yates permutation of 0..perm.length−1 from {@code seed} (the array is overwritten). */
  static void permutation(int[] perm, long seed) {
    for (int i = 0; i < perm.length; i++) {
      perm[i] = i;
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = perm.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
  }

  /** One member's run: its state between epochs. */
  private static final class Run {
    private final EnsembleSpec spec;
    private final TrainingSpec t;
    private final int member;
    private final TrainingSet train;
    private TrainingSet validation;
    private final RowStream stream; // null: the rows are train (copy placement)
    private boolean validationRead; // stream: validation has been taken from the stream
    private final Checkpointer checkpointer;
    private final EpochListener listener;
    private final long seed;
    private final String specSha256;
    private final boolean classification;
    private final int classes;
    private final int numFeatures;

    private MemberNetwork net;
    private int start;
    private int bestEpoch = -1;
    private double bestMetric = Double.POSITIVE_INFINITY;
    private int counter;
    private boolean stopped;
    private long resumeRows; // stream: rows of epoch start already trained on (mid-epoch checkpoint)
    private double resumeLossSum;
    private INDArray bestParams;
    private final List<EpochMetrics> history = new ArrayList<>();
    private String divergence;
    private GaussianNllLoss gaussian;
    private ComputePath compute;
    /** ensemble.swag, or null; all epochs (ordinary + SWAG); the moments once SWAG epochs began. */
    private final SwagSpec swag;
    private final int totalEpochs;
    private SwagMoments moments;
    /** SWAG on DL4J's fit: the flat positions the moments cover ({@link SwagBatchNorm#trainableIndices}). */
    private int[] trainable;

    // per-iteration buffers, reused
    private Batch full;
    private Batch tail;

    Run(EnsembleSpec spec, int member, TrainingSet train, TrainingSet validation, RowStream stream,
        Checkpointer checkpointer, EpochListener listener) {
      this.spec = spec;
      this.t = spec.training();
      this.member = member;
      this.train = train;
      this.validation = validation == null || validation.numRows() == 0 ? null : validation;
      this.stream = stream;
      this.checkpointer = checkpointer;
      this.listener = listener;
      this.seed = spec.ensemble().seed();
      this.specSha256 = spec.sha256();
      this.classification = spec.task() == Task.CLASSIFICATION;
      this.classes = spec.data().classes();
      this.numFeatures = stream != null ? stream.numFeatures() : train.numFeatures();
      this.swag = spec.ensemble().swag();
      this.totalEpochs = spec.totalEpochs();
    }

    /** One minibatch on the lean step, or with DL4J's {@code fit}: its mean loss. */
    private double step(LeanStep fast, Batch batch, int rows) {
      if (fast != null) {
        return fast.step(batch.features, batch.labelStage, rows);
      }
      net.fit(batch.dataSet);
      return net.score();
    }

    /** True, with the reason recorded, when minibatch {@code minibatch}'s loss {@code loss} is NaN or infinite. */
    private boolean diverged(double loss, int epoch, long minibatch) {
      if (Double.isFinite(loss)) {
        return false;
      }
      divergence = String.format(java.util.Locale.ROOT,
          "training loss became %s at epoch %d, minibatch %d (learning rate %s)", loss, epoch, minibatch,
          rateAt(epoch));
      return true;
    }

    /** The learning rate of epoch {@code epoch}: the schedule's, or SWAG's constant rate in SWAG epochs. */
    private double rateAt(int epoch) {
      return epoch >= t.epochs() && swag != null ? swag.learningRate() : t.learningRateAt(epoch);
    }

    /** ensemble.swag's snapshots per epoch fit in an epoch of {@code rows} rows in minibatches of {@code bs}. */
    private int checkSnapshots(long rows, int bs) {
      long batches = (rows + bs - 1) / bs;
      InvalidInputException.check(swag.snapshotsPerEpoch() <= batches,
          "ensemble.swag.snapshotsPerEpoch (%d) must be <= the minibatches per epoch of member %d (%d rows / batch"
              + " %d = %d)", swag.snapshotsPerEpoch(), member, rows, bs, batches);
      return (int) batches;
    }

    /** The minibatch count after which a SWAG epoch of {@code batches} minibatches takes snapshot j (1..c). */
    private int snapshotAfter(int j, int batches) {
      return (int) ((long) j * batches / swag.snapshotsPerEpoch());
    }

    /** Adds the current parameters to the SWAG moments. */
    private void collectSnapshot(LeanStep fast) {
      moments.collect(fast != null ? ((MlpTrainingStep) fast).parameters()
          : SwagBatchNorm.gather(floats(net.params()), trainable));
    }

    /** The validation rows, or null for none; a stream's are read when first needed. */
    private TrainingSet validation() {
      if (stream != null && !validationRead) {
        TrainingSet v = stream.validation();
        validation = v == null || v.numRows() == 0 ? null : v;
        validationRead = true;
      }
      return validation;
    }

    MemberResult run() {
      restoreOrBuild();
      int n = stream == null ? train.numRows() : 0;
      int bs = stream == null ? Math.min(t.batchSize(), n) : t.batchSize();
      full = new Batch(bs);
      tail = stream != null || n % bs == 0 ? null : new Batch(n % bs);
      int[] perm = new int[n];
      LeanPath.Choice<LeanStep> choice = leanStep(bs);
      LeanStep fast = choice.lean();
      compute = ComputePath.of(choice.decision(), choice.decision().backend() == LeanPath.Backend.CPU
          ? null : Nd4j.getAffinityManager().getDeviceForCurrentThread());
      LOG.info("member {} trains on the {}{}", member, choice.decision().describe(),
          compute.device() == null ? "" : ", device " + compute.device());
      int batches = (n + bs - 1) / bs;
      if (swag != null) {
        if (fast != null ? !(fast instanceof MlpTrainingStep) : net.multiLayerNetwork().isEmpty()) {
          throw new DeepensException("member " + member + ": ensemble.swag runs its SGD epochs on the lean MLP step"
              + " or DL4J's fit of a multilayer network, but this member trains on the "
              + choice.decision().describe());
        }
        if (fast == null) {
          trainable = SwagBatchNorm.trainableIndices(net);
        }
        if (stream == null) {
          checkSnapshots(n, bs);
        }
      }
      for (int epoch = start; epoch < totalEpochs && !stopped; epoch++) {
        long t0 = System.nanoTime();
        boolean swagEpoch = epoch >= t.epochs();
        int snapshot = 1; // the next snapshot of a SWAG epoch, 1..c
        if (swagEpoch) {
          if (fast != null) {
            ((MlpTrainingStep) fast).useSgd(swag.learningRate());
          } else {
            SwagBatchNorm.useSgd(net, swag.learningRate());
          }
          if (moments == null) {
            moments = new SwagMoments(fast != null ? (int) net.params().length() : trainable.length, swag.rank());
          }
        }
        net.setEpochCount(epoch);
        double lossSum = 0;
        long epochRows = n;
        if (stream != null) {
          double[] sumAndRows = streamEpoch(epoch, bs, fast, swagEpoch);
          lossSum = sumAndRows[0];
          epochRows = (long) sumAndRows[1];
        } else {
          Nd4j.getRandom().setSeed(Seeds.derive(seed, member, SeedPurpose.DROPOUT, epoch));
          permutation(perm, Seeds.derive(seed, member, SeedPurpose.SHUFFLE, epoch));
          if (fast != null) {
            fast.begin();
          }
          for (int b0 = 0; b0 < n; b0 += bs) {
            int m = Math.min(bs, n - b0);
            Batch batch = m == bs ? full : tail;
            batch.fill(perm, b0);
            double s = step(fast, batch, m);
            if (diverged(s, epoch, b0 / bs)) {
              break;
            }
            lossSum += s * m;
            if (swagEpoch && b0 / bs + 1 == snapshotAfter(snapshot, batches)) {
              collectSnapshot(fast);
              snapshot++;
            }
          }
          if (fast != null) {
            fast.end(); // Adam moments back into the network's updater state before checkpoint / evaluation
          }
        }
        if (divergence == null && !finite(net.params())) {
          divergence = "parameters became NaN or infinite at epoch " + epoch;
        }
        if (divergence == null) {
          double w = maxAbsWeight(net);
          if (w > MAX_ABS_WEIGHT) {
            divergence = String.format(java.util.Locale.ROOT,
                "a weight reached |w| = %.3g > %.0g at epoch %d (learning rate %s): the updates exploded", w,
                MAX_ABS_WEIGHT, epoch, rateAt(epoch));
          }
        }
        Evaluation ev = divergence == null ? evaluate() : null;
        if (ev != null && !Double.isFinite(ev.nll)) {
          divergence = "validation NLL became " + ev.nll + " at epoch " + epoch;
        }
        if (divergence != null) {
          LOG.warn("member {} diverged: {}", member, divergence);
          break;
        }
        // Regression: DL4J's score is the NLL of standardised targets; log s converts it to target units.
        double trainLoss = lossSum / epochRows + (gaussian == null ? 0 : gaussian.nllOffset());
        double monitored = ev == null ? trainLoss : ev.nll;
        if (monitored < bestMetric) {
          bestMetric = monitored;
          bestEpoch = epoch;
          counter = 0;
          if (t.earlyStoppingPatience() > 0) {
            bestParams = net.params().dup();
          }
        } else {
          counter++;
        }
        if (t.earlyStoppingPatience() > 0 && counter >= t.earlyStoppingPatience() && epoch + 1 < totalEpochs) {
          stopped = true;
        }
        EpochMetrics metrics = new EpochMetrics(
            epoch,
            trainLoss,
            ev == null ? null : ev.nll,
            ev == null ? null : ev.accuracy,
            ev == null ? null : ev.rmse,
            spec.network().type() == NetworkType.DL4J_JSON ? null : rateAt(epoch),
            (System.nanoTime() - t0) / 1_000_000);
        history.add(metrics);
        checkpointer.save(member, new MemberCheckpoint(
            member, specSha256, epoch + 1, bestEpoch, bestMetric, counter, stopped,
            history, MemberModels.toBytes(net), bestParams == null ? null : MemberModels.paramBytes(bestParams),
            moments == null ? null : moments.toBytes()));
        listener.onEpoch(member, metrics);
      }
      return finish();
    }

    /**
     * One epoch of the stream: minibatches of its rows in order, each after reseeding ND4J's RNG from the epoch's
     * seed and the minibatch number; checkpoints within the epoch every {@code training.checkpointEveryRows}
     * rows. A member resumed within this epoch replays its first rows without training. In a SWAG epoch the
     * snapshots are taken after the same minibatches as for a copied member ({@link #snapshotAfter}), the epoch's
     * minibatch count known from the rows the ordinary epochs read, and the mid-epoch checkpoints carry the moments.
     * Returns {loss sum, rows}.
     */
    private double[] streamEpoch(int epoch, int bs, LeanStep fast, boolean swagEpoch) {
      long skip = epoch == start ? resumeRows : 0;
      int batches = swagEpoch ? checkSnapshots(stream.trainRows(), bs) : 0;
      int snapshot = 1; // the next snapshot of a SWAG epoch: the first after the minibatches already trained
      while (swagEpoch && snapshot <= swag.snapshotsPerEpoch() && snapshotAfter(snapshot, batches) <= skip / bs) {
        snapshot++;
      }
      double lossSum = epoch == start ? resumeLossSum : 0;
      long every = t.checkpointEveryRows();
      long dropoutSeed = Seeds.derive(seed, member, SeedPurpose.STREAM_DROPOUT, epoch);
      long rows = 0;
      try (EpochRows in = stream.epoch(epoch, epoch + 1 < totalEpochs)) {
        for (; rows < skip; rows++) {
          if (!in.next()) {
            throw new DeepensException(String.format(java.util.Locale.ROOT, "member %d's checkpoint is %d rows "
                + "into epoch %d but the epoch has only %d rows now: the table changed since the checkpoint; train "
                + "again with a new run id", member, skip, epoch, rows));
          }
        }
        long batchNo = skip / bs;
        long lastCheckpoint = skip;
        if (fast != null) {
          fast.begin();
        }
        while (true) {
          int m = full.fill(in);
          if (m == 0) {
            break;
          }
          Batch batch = m == bs ? full : full.head(m);
          Nd4j.getRandom().setSeed(Seeds.mix64(dropoutSeed + batchNo * Seeds.GAMMA));
          double s = step(fast, batch, m);
          if (diverged(s, epoch, batchNo)) {
            break;
          }
          lossSum += s * m;
          rows += m;
          batchNo++;
          if (swagEpoch && snapshot <= swag.snapshotsPerEpoch() && batchNo == snapshotAfter(snapshot, batches)) {
            collectSnapshot(fast);
            snapshot++;
          }
          if (every > 0 && rows - lastCheckpoint >= every) {
            if (fast != null) {
              fast.end();
            }
            checkpointer.save(member, new MemberCheckpoint(member, specSha256, epoch, bestEpoch, bestMetric, counter,
                stopped, history, MemberModels.toBytes(net),
                bestParams == null ? null : MemberModels.paramBytes(bestParams),
                moments == null ? null : moments.toBytes(), rows, lossSum));
            if (fast != null) {
              fast.begin();
            }
            lastCheckpoint = rows;
          }
        }
        if (fast != null) {
          fast.end(); // Adam moments back into the network's updater state before checkpoint / evaluation
        }
      }
      if (rows == 0) {
        throw new InvalidInputException("member " + member + " has no training rows");
      }
      return new double[] {lossSum, rows};
    }

    private void restoreOrBuild() {
      Optional<MemberCheckpoint> cp = checkpointer.latest(member);
      if (cp.isEmpty()) {
        double[] scaling = classification ? new double[] {0, 1}
            : stream != null ? stream.targetScaling() : targetScaling(train);
        net = NetworkFactory.build(
            spec, numFeatures, Seeds.derive(seed, member, SeedPurpose.INIT, 0), scaling[0], scaling[1]);
        gaussian = NetworkFactory.gaussianLoss(net);
        return;
      }
      MemberCheckpoint c = cp.get();
      if (c.member() != member) {
        throw new DeepensException("the checkpointer returned member " + c.member() + "'s checkpoint for member "
            + member);
      }
      if (!c.specSha256().equals(specSha256)) {
        throw new DeepensException("member " + member + "'s checkpoint was written for spec " + c.specSha256()
            + " but this run trains spec " + specSha256 + "; use a new run id or remove the checkpoint");
      }
      if (c.epochsCompleted() > totalEpochs) {
        throw new DeepensException("member " + member + "'s checkpoint is after epoch " + c.epochsCompleted()
            + " but the spec trains " + totalEpochs + " epochs");
      }
      if (c.swagMoments() != null) {
        moments = SwagMoments.fromBytes(c.swagMoments(), "member " + member + "'s checkpoint");
      } else if (swag != null && c.epochsCompleted() > t.epochs()) {
        throw new DeepensException("member " + member + "'s checkpoint is after SWAG epoch " + c.epochsCompleted()
            + " but holds no SWAG moments; use a new run id or remove the checkpoint");
      }
      net = MemberModels.fromBytes(c.model());
      gaussian = NetworkFactory.gaussianLoss(net);
      start = c.epochsCompleted();
      bestEpoch = c.bestEpoch();
      bestMetric = c.bestMetric();
      counter = c.epochsWithoutImprovement();
      stopped = c.stopped();
      history.addAll(c.history());
      bestParams = c.bestParams() == null ? null : MemberModels.paramsFromBytes(c.bestParams());
      if (c.withinEpoch()) {
        if (stream == null) {
          throw new DeepensException("member " + member + "'s checkpoint is " + c.rowsInEpoch() + " rows into epoch "
              + start + ", which only the streaming placement writes, but this run copies the rows; use a new run id");
        }
        resumeRows = c.rowsInEpoch();
        resumeLossSum = c.lossSumInEpoch();
        LOG.info("member {} resumes {} rows into epoch {} from its checkpoint", member, resumeRows, start);
        return;
      }
      LOG.info("member {} resumes after epoch {} from its checkpoint", member, start);
    }

    private MemberResult finish() {
      MemberStatus status;
      String sha = null;
      MemberNetwork out = null;
      if (divergence != null) {
        status = MemberStatus.DIVERGED;
      } else {
        if (t.earlyStoppingPatience() > 0 && bestParams != null) {
          net.setParams(bestParams);
        }
        status = stopped ? MemberStatus.EARLY_STOPPED : MemberStatus.OK;
        if (moments != null && SwagBatchNorm.has(net)) {
          batchNormStatistics();
        } else if (moments != null) {
          float[] swa = moments.meanAsFloats();
          net.setParams(Nd4j.createFromArray(swa).reshape(1, swa.length));
        }
        sha = MemberModels.paramsSha256(net);
        out = net;
      }
      MemberReport report = new MemberReport(
          member,
          status,
          seeds(seed, member),
          history.size(),
          start,
          bestEpoch,
          history,
          stream != null ? stream.trainRows() : train.numRows(),
          validation() == null ? 0 : validation().numRows(),
          sha,
          divergence,
          Provenance.current(specSha256),
          compute);
      return new MemberResult(out, report, out == null ? null : moments);
    }

    /**
     * SWAG with batch norm ({@link SwagBatchNorm}): sets the network's trainable parameters to θ̄ and its batch-norm
     * statistics to those of θ̄, then computes set j of batch-norm statistics under the weights of SWAG draw j
     * ({@link SwagMoments#component}, the draw scoring makes), j = 0..S−1, and attaches the S sets to the
     * moments: S + 1 passes over at most {@link SwagBatchNorm#MAX_ROWS} of the member's training rows.
     */
    private void batchNormStatistics() {
      if (train == null) {
        throw new DeepensException("member " + member + ": SWAG with batch norm needs the member's training rows"
            + " (data.placement: copy)");
      }
      long t0 = System.nanoTime();
      int[] rows = SwagBatchNorm.rows(train.numRows(), Seeds.derive(seed, member, SeedPurpose.SWAG_BN_ROWS, 0));
      int bs = Math.min(t.batchSize(), rows.length);
      int[] idx = SwagBatchNorm.trainableIndices(net);
      float[] full = floats(net.params());
      SwagBatchNorm.scatter(moments.meanAsFloats(), idx, full);
      net.setParams(Nd4j.createFromArray(full).reshape(1, full.length));
      SwagBatchNorm.apply(net, SwagBatchNorm.compute(net, train, rows, bs));
      float[] base = floats(net.params());
      MemberNetwork draw = net.copy();
      float[][] sets = new float[swag.samples()][];
      for (int j = 0; j < sets.length; j++) {
        float[] theta = base.clone();
        SwagBatchNorm.scatter(moments.component(seed, member, j, swag.scale()), idx, theta);
        draw.setParams(Nd4j.createFromArray(theta).reshape(1, theta.length));
        sets[j] = SwagBatchNorm.compute(draw, train, rows, bs);
      }
      moments.withBatchNorm(sets);
      LOG.info("member {}: batch-norm statistics of the SWA weights and {} SWAG samples over {} training rows in"
          + " {} ms", member, sets.length, rows.length, (System.nanoTime() - t0) / 1_000_000);
    }

    private static float[] floats(INDArray a) {
      return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    /** The largest |w| over trainable parameters (batch-norm running statistics excluded: they follow the data). */
    private static double maxAbsWeight(MemberNetwork net) {
      double max = 0;
      for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
        String k = e.getKey();
        if (k.endsWith("_mean") || k.endsWith("_var") || k.endsWith("_log10stdev")) {
          continue;
        }
        max = Math.max(max, e.getValue().amaxNumber().doubleValue());
      }
      return max;
    }

    private static boolean finite(INDArray a) {
      return !BooleanIndexing.or(a, Conditions.isNan()) && !BooleanIndexing.or(a, Conditions.isInfinite());
    }

    /** {@link LeanPath}'s choice for this member: a lean step, or none to train with {@code net.fit}. */
    private LeanPath.Choice<LeanStep> leanStep(int bs) {
      return LeanPath.choose(leanKind(spec), () -> net.multiLayerNetwork().flatMap(
          mln -> leanKind(spec) == LeanPath.Kind.MLP
              ? MlpTrainingStep.create(mln, bs).map(LeanStep.class::cast)
              : CnnTrainingStep.create(mln, bs, true).map(LeanStep.class::cast)),
          () -> LeanPath.rejected(leanKind(spec) == LeanPath.Kind.MLP
              ? MlpTrainingStep.lastRejection() : CnnTrainingStep.lastRejection()));
    }

    /** Metrics over the validation rows in chunks of {@link #EVAL_BATCH}. */
    private Evaluation evaluate() {
      TrainingSet validation = validation();
      if (validation == null) {
        return null;
      }
      int rows = validation.numRows();
      int chunk = Math.min(EVAL_BATCH, rows);
      INDArray x = Nd4j.create(DataType.FLOAT, chunk, numFeatures);
      FloatBuffer xb = x.data().asNioFloat();
      double nll = 0;
      double se = 0;
      long correct = 0;
      for (int r0 = 0; r0 < rows; r0 += chunk) {
        int m = Math.min(chunk, rows - r0);
        INDArray in = x;
        FloatBuffer buf = xb;
        if (m != chunk) {
          in = Nd4j.create(DataType.FLOAT, m, numFeatures);
          buf = in.data().asNioFloat();
        }
        for (int i = 0; i < m; i++) {
          validation.copyFeatures(r0 + i, buf, i * numFeatures);
        }
        Nd4j.getAffinityManager().tagLocation(in, org.nd4j.linalg.api.concurrency.AffinityManager.Location.HOST);
        float[] o = net.output(in).castTo(DataType.FLOAT).dup('c').data().asFloat();
        int k = spec.outputs();
        for (int i = 0; i < m; i++) {
          float y = validation.label(r0 + i);
          if (classification) {
            int c = classIndex(y, r0 + i, "validation");
            nll -= io.deepens.core.metrics.LogScore.of(o[i * k + c]);
            int arg = 0;
            for (int j = 1; j < k; j++) {
              if (o[i * k + j] > o[i * k + arg]) {
                arg = j;
              }
            }
            if (arg == c) {
              correct++;
            }
          } else {
            double mu = gaussian.meanInTargetUnits(o[i * 2]);
            double var = gaussian.varianceInTargetUnits(o[i * 2 + 1]);
            se += (y - mu) * (y - mu);
            nll += GaussianNllLoss.nll(y, mu, var);
          }
        }
      }
      return classification
          ? new Evaluation(nll / rows, (double) correct / rows, null)
          : new Evaluation(nll / rows, null, Math.sqrt(se / rows));
    }

    private int classIndex(float y, int row, String what) {
      int c = (int) y;
      if (c != y || c < 0 || c >= classes) {
        throw new InvalidInputException(String.format(java.util.Locale.ROOT,
            "%s row %d of member %d: label %s is not a class index in 0..%d", what, row, member, y, classes - 1));
      }
      return c;
    }

    /** Preallocated minibatch arrays; rows are copied straight into the arrays' native buffers. */
    private final class Batch {
      final int size;
      final INDArray features;
      final INDArray labels;
      final FloatBuffer featureBuf;
      final float[] labelStage;
      final DataSet dataSet;

      Batch(int size) {
        this.size = size;
        int cols = classification ? classes : 1;
        features = Nd4j.create(DataType.FLOAT, size, numFeatures);
        labels = Nd4j.create(DataType.FLOAT, size, cols);
        featureBuf = features.data().asNioFloat();
        labelStage = new float[size * cols];
        dataSet = new DataSet(features, labels);
      }

      void fill(int[] perm, int from) {
        if (classification) {
          Arrays.fill(labelStage, 0f);
        }
        for (int i = 0; i < size; i++) {
          int row = perm[from + i];
          train.copyFeatures(row, featureBuf, i * numFeatures);
          float y = train.label(row);
          if (classification) {
            labelStage[i * classes + classIndex(y, row, "training")] = 1f;
          } else {
            labelStage[i] = y;
          }
        }
        labels.data().setData(labelStage);
        // The features were written through the host buffer: on a GPU backend, mark the host copy as current.
        Nd4j.getAffinityManager().tagLocation(features, org.nd4j.linalg.api.concurrency.AffinityManager.Location.HOST);
      }

      /** Fills the batch with the stream's next rows (at most {@link #size}); returns how many. */
      int fill(EpochRows in) {
        if (classification) {
          Arrays.fill(labelStage, 0f);
        }
        int i = 0;
        while (i < size && in.next()) {
          in.copyFeatures(featureBuf, i * numFeatures);
          float y = in.label();
          if (classification) {
            labelStage[i * classes + classIndex(y, (int) Math.min(Integer.MAX_VALUE, in.position() - 1),
                "training")] = 1f;
          } else {
            labelStage[i] = y;
          }
          i++;
        }
        labels.data().setData(labelStage);
        Nd4j.getAffinityManager().tagLocation(features, org.nd4j.linalg.api.concurrency.AffinityManager.Location.HOST);
        return i;
      }

      /** A batch of exactly this batch's first {@code rows} rows (an epoch's last, partial minibatch). */
      Batch head(int rows) {
        if (tail == null || tail.size != rows) {
          tail = new Batch(rows);
        }
        int cols = classification ? classes : 1;
        FloatBuffer src = featureBuf.duplicate();
        src.position(0).limit(rows * numFeatures);
        FloatBuffer dst = tail.featureBuf.duplicate();
        dst.position(0);
        dst.put(src);
        System.arraycopy(labelStage, 0, tail.labelStage, 0, rows * cols);
        tail.labels.data().setData(tail.labelStage);
        Nd4j.getAffinityManager().tagLocation(tail.features,
            org.nd4j.linalg.api.concurrency.AffinityManager.Location.HOST);
        return tail;
      }
    }
  }

  private record Evaluation(double nll, Double accuracy, Double rmse) {}
}
