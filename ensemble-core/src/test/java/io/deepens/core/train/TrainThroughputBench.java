package io.deepens.core.train;

import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.lean.MlpTrainingStep;
import java.util.Locale;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training-throughput benchmark of one reference-MLP member (784-200-200-200-10, ReLU, softmax + cross-entropy,
 * Adam 1e-3, batch 128) on random in-memory data. Not a test: run by {@code scripts/bench/train-throughput.sh}.
 *
 * <p>Usage: {@code TrainThroughputBench MODE THREADS [WARMUP_ITERS] [ITERS]} with MODE one of
 * <ul>
 *   <li>{@code fit}: the plain DL4J loop, {@code net.fit(DataSet)} on preallocated minibatches;
 *   <li>{@code lean}: {@link MlpTrainingStep} on the same minibatches;
 *   <li>{@code member}: {@link MemberTrainer#train} end to end (shuffle, batch copies, per-epoch checkpoint bytes),
 *       ITERS rounded to whole epochs of 50 minibatches; the first epoch(s) covering WARMUP_ITERS are not timed;
 *   <li>{@code member-dropout}: as {@code member} with {@code network.dropout: 0.1}, which the lean step does not
 *       take, so the member trains with DL4J's {@code fit} (what a hyper-deep candidate with dropout > 0 costs).
 * </ul>
 * Prints one line {@code RESULT mode threads samples_per_second samples_per_cpu_second}: the second figure divides
 * by the process's CPU time over the timed iterations (all its threads, JIT and GC included; NaN for member mode),
 * which a busy shared machine distorts far less than wall time.
 */
public final class TrainThroughputBench {
  static final int BATCH = 128;
  static final int IN = 784;
  static final int CLASSES = 10;
  static final int BATCHES = 50;

  private TrainThroughputBench() {}

  static EnsembleSpec spec(int threads, int epochs) {
    return spec(threads, epochs, 0.0);
  }

  static EnsembleSpec spec(int threads, int epochs, double dropout) {
    return SpecLoader.parse("""
        name: bench
        task: classification
        data: {features: f, label: l, classes: 10}
        network: {type: mlp, hidden: [200, 200, 200], activation: relu, dropout: %s}
        training: {optimizer: adam, learningRate: 0.001, batchSize: 128, epochs: %d}
        ensemble: {members: 1, seed: 42}
        resources: {threadsPerMember: %d}
        """.formatted(dropout, epochs, threads), "bench");
  }

  /** {@code n} minibatches of BATCH rows: features uniform in [0, 1), one-hot labels of CLASSES classes. */
  static DataSet[] randomBatches(SplittableRandom rnd, int features, int n) {
    DataSet[] batches = new DataSet[n];
    for (int k = 0; k < n; k++) {
      float[] x = new float[BATCH * features];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) rnd.nextDouble();
      }
      float[] y = new float[BATCH * CLASSES];
      for (int i = 0; i < BATCH; i++) {
        y[i * CLASSES + rnd.nextInt(CLASSES)] = 1f;
      }
      batches[k] = new DataSet(Nd4j.createFromArray(x).reshape('c', BATCH, features),
          Nd4j.createFromArray(y).reshape('c', BATCH, CLASSES));
    }
    return batches;
  }

  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  public static void main(String[] args) {
    String mode = args[0];
    int threads = Integer.parseInt(args[1]);
    int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 200;
    int iters = args.length > 3 ? Integer.parseInt(args[3]) : 800;
    MemberTrainer.setThreads(threads);
    SplittableRandom rnd = new SplittableRandom(42);
    double sps;
    double cpuSps = Double.NaN;
    if (mode.equals("member") || mode.equals("member-dropout")) {
      int warmEpochs = Math.max(1, (warmup + BATCHES - 1) / BATCHES);
      int epochs = warmEpochs + Math.max(1, iters / BATCHES);
      TrainingSetBuilder b = new TrainingSetBuilder(IN, null);
      float[] row = new float[IN];
      for (int i = 0; i < BATCH * BATCHES; i++) {
        for (int j = 0; j < IN; j++) {
          row[j] = (float) rnd.nextDouble();
        }
        b.add(row, rnd.nextInt(CLASSES));
      }
      TrainingSet train = b.build();
      MemberResult r = MemberTrainer.train(spec(threads, epochs, mode.equals("member") ? 0.0 : 0.1), 0, train, null,
          null, null);
      long ms = 0;
      for (int e = warmEpochs; e < epochs; e++) {
        ms += r.report().epochs().get(e).millis();
      }
      sps = (double) (epochs - warmEpochs) * BATCH * BATCHES / (ms / 1000.0);
    } else {
      DataSet[] batches = randomBatches(rnd, IN, BATCHES);
      float[][] labels = new float[BATCHES][];
      for (int k = 0; k < BATCHES; k++) {
        labels[k] = batches[k].getLabels().dup('c').data().asFloat();
      }
      MultiLayerNetwork net =
          NetworkFactory.build(spec(threads, 1), IN, 7L).multiLayerNetwork().orElseThrow();
      MlpTrainingStep step = null;
      if (mode.equals("lean")) {
        step = MlpTrainingStep.create(net, BATCH).orElseThrow(
            () -> new IllegalStateException("not eligible, check " + MlpTrainingStep.lastRejection()));
        step.begin();
      } else if (!mode.equals("fit")) {
        throw new IllegalArgumentException("mode must be fit, lean or member: " + mode);
      }
      double sink = 0;
      long t0 = 0;
      long c0 = 0;
      for (int it = 0; it < warmup + iters; it++) {
        if (it == warmup) {
          t0 = System.nanoTime();
          c0 = cpuNanos();
        }
        DataSet d = batches[it % BATCHES];
        if (step != null) {
          sink += step.step(d.getFeatures(), labels[it % BATCHES], BATCH);
        } else {
          net.fit(d);
          sink += net.score();
        }
      }
      double s = (System.nanoTime() - t0) / 1e9;
      double cpu = (cpuNanos() - c0) / 1e9;
      cpuSps = iters * (double) BATCH / cpu;
      if (step != null) {
        step.end();
      }
      sps = iters * (double) BATCH / s;
      if (!Double.isFinite(sink)) {
        throw new IllegalStateException("loss not finite");
      }
    }
    System.out.printf(Locale.ROOT, "RESULT %s %d %.0f %.0f%n", mode, threads, sps, cpuSps);
    System.exit(0);
  }
}
