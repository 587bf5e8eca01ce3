package io.deepens.core.train;

import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.lean.CnnTrainingStep;
import java.util.Locale;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training-throughput benchmark of one member of {@code conf/fashion-mnist-cnn.yaml}'s CNN (1×28×28 → conv 5×5×20
 * → max pool 2 → conv 5×5×50 → max pool 2 → dense 500 → softmax 10, dropout 0.25, Adam, batch 128) on random
 * in-memory data. Not a test: run by {@code scripts/bench/cnn-throughput.sh}.
 *
 * <p>Usage: {@code CnnThroughputBench MODE THREADS [WARMUP_ITERS] [ITERS]}, MODE {@code lean}
 * ({@link CnnTrainingStep}) or {@code fit} (DL4J's {@code net.fit(DataSet)}). Prints
 * {@code RESULT cnn-mode threads samples_per_second samples_per_cpu_second} as {@link TrainThroughputBench} does.
 */
public final class CnnThroughputBench {
  static final int BATCH = TrainThroughputBench.BATCH;
  static final int IN = 784;
  static final int BATCHES = 20;
  /** Multiply-adds ×2 per sample, forward: conv1 784·20·25, conv2 196·50·500, dense 2450·500 + 500·10. */
  static final double FORWARD_FLOP = 2.0 * (784 * 20 * 25 + 196 * 50 * 500 + 2450 * 500 + 500 * 10);

  private CnnThroughputBench() {}

  static EnsembleSpec spec(int threads) {
    return SpecLoader.parse("""
        name: bench-cnn
        task: classification
        data: {features: f, label: l, classes: 10, inputShape: [1, 28, 28]}
        network:
          type: cnn
          conv:
            - {filters: 20, kernel: 5, stride: 1, pool: 2}
            - {filters: 50, kernel: 5, stride: 1, pool: 2}
          hidden: [500]
          activation: relu
          dropout: 0.25
        training: {optimizer: adam, learningRate: 0.001, weightDecay: 0.0001, batchSize: 128, epochs: 1}
        ensemble: {members: 1, seed: 42}
        resources: {threadsPerMember: %d}
        """.formatted(threads), "bench-cnn");
  }

  public static void main(String[] args) {
    String mode = args[0];
    int threads = Integer.parseInt(args[1]);
    int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    int iters = args.length > 3 ? Integer.parseInt(args[3]) : 60;
    MemberTrainer.setThreads(threads);
    MultiLayerNetwork net = NetworkFactory.build(spec(threads), IN, 42L).multiLayerNetwork().orElseThrow();
    DataSet[] batches = TrainThroughputBench.randomBatches(new SplittableRandom(1), IN, BATCHES);
    float[][] labels = new float[BATCHES][];
    for (int k = 0; k < BATCHES; k++) {
      labels[k] = batches[k].getLabels().dup('c').data().asFloat();
    }
    CnnTrainingStep lean = mode.equals("lean") ? CnnTrainingStep.create(net, BATCH, true).orElseThrow() : null;
    if (lean != null) {
      lean.begin();
    }
    long t0 = 0;
    long c0 = 0;
    for (int i = 0; i < warmup + iters; i++) {
      if (i == warmup) {
        t0 = System.nanoTime();
        c0 = TrainThroughputBench.cpuNanos();
      }
      DataSet d = batches[i % BATCHES];
      if (lean != null) {
        lean.step(d.getFeatures(), labels[i % BATCHES], BATCH);
      } else {
        net.fit(d);
      }
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    double cpu = (TrainThroughputBench.cpuNanos() - c0) / 1e9;
    double sps = iters * (double) BATCH / secs;
    System.out.printf(Locale.ROOT, "RESULT cnn-%s %d %.1f %.1f   (%.1f GFLOP/s at 3x forward FLOPs)%n", mode,
        threads, sps, iters * (double) BATCH / cpu, sps * 3 * FORWARD_FLOP / 1e9);
  }
}
