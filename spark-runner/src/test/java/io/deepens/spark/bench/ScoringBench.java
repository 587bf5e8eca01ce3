package io.deepens.spark.bench;

import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.store.EnsembleStore;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import io.deepens.spark.score.LoadedEnsemble;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Drivers for the scoring benchmarks of {@code scripts/bench/} (not tests: they time things). Subcommands:
 *
 * <ul>
 *   <li>{@code table OUT ROWS FEATURES PARTITIONS}: a Parquet table {@code id: bigint, features: array<float>}
 *       with pseudo-random features k/16 (k = 0..16, drawn from a generator seeded by id), written by Spark.
 *   <li>{@code store DIR}: a 5-member 784-200-200-200-10 ensemble trained one epoch on 2,048 random rows (speed
 *       does not depend on the weights' values).
 *   <li>{@code count PATH}: what a Parquet reader sees at PATH (row count or Spark's error).
 *   <li>{@code gemm}: ND4J sgemm 2048^3 on one thread; prints {@code gemm_gflops=} (median of 5).
 *   <li>{@code forward STORE BATCH ROWS RUNS}: the members' forward passes and the mixture alone, no Spark (where
 *       the time goes); prints {@code forward_rows_per_s=} (median).
 *   <li>{@code score STORE IN OUT BATCH RUNS}: Parquet in, {@link EnsembleScorer}, Parquet out on
 *       {@code local[1]}; prints {@code score_rows_per_s=} (median) and every run's figure.
 * </ul>
 *
 * Run with one ND4J/OpenMP thread ({@code OMP_NUM_THREADS=1}); {@code scripts/bench/scoring.sh} does.
 */
public final class ScoringBench {
  private ScoringBench() {}

  public static void main(String[] args) throws Exception {
    Nd4j.getEnvironment().setMaxThreads(1);
    Nd4j.getEnvironment().setMaxMasterThreads(1);
    switch (args[0]) {
      case "table" -> table(args[1], Long.parseLong(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "store" -> store(args[1]);
      case "gemm" -> gemm();
      case "forward" -> forward(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]),
          Integer.parseInt(args[4]));
      case "count" -> count(args[1]);
      case "score" -> score(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
      default -> throw new IllegalArgumentException("unknown subcommand " + args[0]);
    }
  }

  private static SparkSession spark(String master) {
    return SparkSessions.getOrCreate(master, "deepens scoring bench", Map.of("spark.kryo.registrationRequired",
        "false", "spark.sql.shuffle.partitions", "4"));
  }

  static void table(String out, long rows, int features, int partitions) {
    SparkSession spark = spark("local[2]");
    // values k/16 (k = 0..16) drawn from a generator seeded by the row id: like the digits, compressible like
    // real images, and the same table on every run. A UDF, because 784 generated expressions outgrow codegen.
    spark.udf().register("bench_features", (org.apache.spark.sql.api.java.UDF1<Long, float[]>) id -> {
      SplittableRandom r = new SplittableRandom(id * 0x9E3779B97F4A7C15L);
      float[] x = new float[features];
      for (int j = 0; j < features; j++) {
        x[j] = r.nextInt(17) / 16f;
      }
      return x;
    }, DataTypes.createArrayType(DataTypes.FloatType, false));
    Dataset<Row> t = spark.range(0, rows, 1, partitions)
        .select(functions.col("id"), functions.callUDF("bench_features", functions.col("id")).as("features"));
    long t0 = System.nanoTime();
    t.write().mode("overwrite").parquet(out);
    System.out.printf(Locale.ROOT, "wrote %,d rows x %d features to %s in %.1f s%n", rows, features, out,
        (System.nanoTime() - t0) / 1e9);
    spark.stop();
  }

  /** What a reader of {@code path} sees: its row count, or the error Spark gives. */
  static void count(String path) {
    SparkSession spark = spark("local[1]");
    try {
      System.out.printf(Locale.ROOT, "reader sees %,d rows in %s%n", spark.read().parquet(path).count(), path);
    } catch (Exception e) {
      System.out.println("reader sees no table in " + path + ": " + e.getMessage().lines().findFirst().orElse(""));
    }
    spark.stop();
  }

  static void store(String dir) {
    SparkSession spark = spark("local[2]");
    String yaml = """
        name: bench-mlp-784
        task: classification
        data:
          features: features
          label: label
          classes: 10
          key: id
          validation:
            fraction: 0.1
        network:
          type: mlp
          hidden: [200, 200, 200]
          activation: relu
        training:
          optimizer: adam
          learningRate: 0.001
          batchSize: 128
          epochs: 1
        ensemble:
          members: 5
          seed: 1
        resources:
          threadsPerMember: 1
        """;
    EnsembleSpec spec = SpecLoader.parse(yaml, "ScoringBench.store");
    SplittableRandom r = new SplittableRandom(1);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 2048; i++) {
      Float[] x = new Float[784];
      for (int j = 0; j < 784; j++) {
        x[j] = (float) r.nextDouble();
      }
      rows.add(org.apache.spark.sql.RowFactory.create((long) i, x, r.nextInt(10)));
    }
    Dataset<Row> train = spark.createDataFrame(rows, new org.apache.spark.sql.types.StructType()
        .add("id", DataTypes.LongType).add("features", DataTypes.createArrayType(DataTypes.FloatType, false))
        .add("label", DataTypes.IntegerType));
    SparkEnsembleTrainer.Result res = new SparkEnsembleTrainer(spark).train(train, null, spec,
        new SparkEnsembleTrainer.Options(dir, "bench", "random-2048", Map.of()));
    System.out.println("published " + dir + "#" + res.version() + " with " + res.manifest().usableMembers().size()
        + " members");
    spark.stop();
  }

  static void gemm() {
    gemmOnce(); // warm-up
    double[] rates = new double[5];
    for (int i = 0; i < rates.length; i++) {
      rates[i] = gemmOnce();
    }
    System.out.printf(Locale.ROOT, "gemm runs GFLOP/s: %s%n", fmt(rates));
    System.out.printf(Locale.ROOT, "gemm_gflops=%.1f%n", median(rates));
  }

  static void forward(String storeUri, int batch, int rows, int runs) {
    SparkSession spark = spark("local[1]");
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, storeUri, null);
    LoadedEnsemble ens = scorer.load();
    int nf = scorer.manifest().numFeatures();
    int classes = scorer.manifest().outputs();
    float[] x = new float[batch * nf];
    SplittableRandom r = new SplittableRandom(2);
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextInt(17) / 16f;
    }
    double[] fwd = new double[runs];
    double[] dl4j = new double[runs];
    double[] mix = new double[runs];
    for (int run = -1; run < runs; run++) {
      // A/B in every run: the stacked forward pass, then DL4J's output() per member (the property turns it off)
      for (boolean fast : new boolean[] {true, false}) {
        System.setProperty(io.deepens.core.train.MemberTrainer.FAST_MLP_PROPERTY, Boolean.toString(fast));
        long compute = 0;
        long mixing = 0;
        for (int done = 0; done < rows; done += batch) {
          long t0 = System.nanoTime();
          float[][] out = scorer.predictMembers(ens, x, batch);
          long t1 = System.nanoTime();
          ens.mixture().classify(out, batch, classes);
          compute += t1 - t0;
          mixing += System.nanoTime() - t1;
        }
        if (run >= 0) {
          (fast ? fwd : dl4j)[run] = rows / (compute / 1e9);
          if (fast) {
            mix[run] = rows / (mixing / 1e9);
          }
        }
      }
    }
    System.clearProperty(io.deepens.core.train.MemberTrainer.FAST_MLP_PROPERTY);
    System.out.printf(Locale.ROOT, "forward runs rows/s: %s; DL4J output() runs rows/s: %s; mixture alone rows/s: %s%n",
        fmt(fwd), fmt(dl4j), fmt(mix));
    System.out.printf(Locale.ROOT, "forward_rows_per_s=%.0f%nforward_dl4j_rows_per_s=%.0f%nmixture_rows_per_s=%.0f%n",
        median(fwd), median(dl4j), median(mix));
    spark.stop();
  }

  static void score(String storeUri, String in, String out, int batch, int runs) throws Exception {
    SparkSession spark = spark("local[1]");
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, storeUri, null);
    long rows = spark.read().parquet(in).count();
    double flopPerRow = 2.0 * 5 * (784 * 200 + 200 * 200 + 200 * 200 + 200 * 10);
    double[] copy = new double[runs];
    double[] full = new double[runs];
    double[] narrow = new double[runs];
    double[] narrowDl4j = new double[runs];
    double[] floor = new double[runs];
    double[] fullRatio = new double[runs];
    double[] narrowRatio = new double[runs];
    double[] narrowDl4jRatio = new double[runs];
    for (int run = -1; run < runs; run++) { // run -1 warms up (loads members, JIT)
      // the compute floor of this run, measured right before it (the machine's load drifts between runs)
      double g = gemmOnce();
      // (1) Spark's I/O alone: the same table read and written back unchanged
      double c = timed(() -> spark.read().parquet(in).write().mode("overwrite").parquet(out + "-copy"));
      // (2) the score job's path: input columns kept, outputs appended
      double f = timed(() -> scorer.score(spark, spark.read().parquet(in), null, null, InvalidPolicy.FAIL, batch,
          null).write().mode("overwrite").parquet(out));
      // (3) the same, writing only id + outputs (the 784-float input column is not written back)
      double n = timed(() -> scorer.score(spark, spark.read().parquet(in), null, null, InvalidPolicy.FAIL, batch,
          null).drop("features").write().mode("overwrite").parquet(out + "-narrow"));
      // (4) as (3), members through DL4J's output() instead of the stacked forward pass
      System.setProperty(io.deepens.core.train.MemberTrainer.FAST_MLP_PROPERTY, "false");
      double d;
      try {
        d = timed(() -> scorer.score(spark, spark.read().parquet(in), null, null, InvalidPolicy.FAIL, batch,
            null).drop("features").write().mode("overwrite").parquet(out + "-narrow-dl4j"));
      } finally {
        System.clearProperty(io.deepens.core.train.MemberTrainer.FAST_MLP_PROPERTY);
      }
      double fl = g * 1e9 / flopPerRow;
      System.out.printf(Locale.ROOT, "run %d: %,d rows; gemm %.1f GFLOP/s (floor %,.0f rows/s); copy %.2f s, "
          + "score %.2f s, score without features %.2f s (DL4J output(): %.2f s)%n", run, rows, g, fl, c, f, n, d);
      if (run >= 0) {
        copy[run] = rows / c;
        full[run] = rows / f;
        narrow[run] = rows / n;
        narrowDl4j[run] = rows / d;
        floor[run] = fl;
        fullRatio[run] = full[run] / fl;
        narrowRatio[run] = narrow[run] / fl;
        narrowDl4jRatio[run] = narrowDl4j[run] / fl;
      }
    }
    FileSystem fs = new Path(out).getFileSystem(new Configuration());
    if (!fs.exists(new Path(out, "_SUCCESS"))) {
      throw new IllegalStateException("no _SUCCESS in " + out);
    }
    System.out.printf(Locale.ROOT, "copy runs rows/s: %s%nscore runs rows/s: %s%nscore (id + outputs) runs rows/s: %s%n"
        + "score (id + outputs, DL4J output()) runs rows/s: %s%nfloor runs rows/s: %s%n",
        fmt(copy), fmt(full), fmt(narrow), fmt(narrowDl4j), fmt(floor));
    System.out.printf(Locale.ROOT, "per-run ratio to that run's floor: score %s; id + outputs %s; id + outputs via "
        + "DL4J %s%n", fmtPct(fullRatio), fmtPct(narrowRatio), fmtPct(narrowDl4jRatio));
    System.out.printf(Locale.ROOT, "copy_rows_per_s=%.0f%nscore_rows_per_s=%.0f%nscore_narrow_rows_per_s=%.0f%n"
        + "score_narrow_dl4j_rows_per_s=%.0f%nscore_floor_ratio=%.3f%nscore_narrow_floor_ratio=%.3f%n"
        + "score_narrow_dl4j_floor_ratio=%.3f%n", median(copy), median(full), median(narrow), median(narrowDl4j),
        median(fullRatio), median(narrowRatio), median(narrowDl4jRatio));
    spark.stop();
  }

  /** One ND4J sgemm 2048³ in GFLOP/s (the first call also allocates the operands and warms up once). */
  private static double gemmOnce() {
    if (gemmA == null) {
      Nd4j.getRandom().setSeed(1);
      gemmA = Nd4j.rand(DataType.FLOAT, 2048, 2048);
      gemmB = Nd4j.rand(DataType.FLOAT, 2048, 2048);
      gemmC = Nd4j.create(DataType.FLOAT, 2048, 2048);
      gemmA.mmuli(gemmB, gemmC);
    }
    long t0 = System.nanoTime();
    gemmA.mmuli(gemmB, gemmC);
    return 2.0 * 2048 * 2048 * 2048 / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  private static INDArray gemmA;
  private static INDArray gemmB;
  private static INDArray gemmC;

  private static String fmtPct(double[] v) {
    StringBuilder sb = new StringBuilder();
    for (double d : v) {
      sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.0f%%", 100 * d));
    }
    return sb.toString();
  }

  private static double timed(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static String fmt(double[] v) {
    StringBuilder sb = new StringBuilder();
    for (double d : v) {
      sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.0f", d));
    }
    return sb.toString();
  }

  static EnsembleStore open(String uri) {
    return EnsembleStore.open(uri, new Configuration());
  }
}
