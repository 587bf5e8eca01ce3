import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.*;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.*;

import static org.apache.spark.sql.functions.*;

/**
 * One member trained data-parallel with Deeplearning4j's Spark training masters (issue 18, point 2): the network
 * deepens builds for CONFIG (member 0's initialisation, {@link NetworkFactory}), trained on the TRAIN table with
 * {@code SparkDl4jMultiLayer} and a {@code ParameterAveragingTrainingMaster} ("pa") or a
 * {@code SharedTrainingMaster} ("shared", gradient sharing over Aeron), and evaluated after every epoch on the
 * driver: mean −log p(label | x) (nats, p clamped at 1e-12 as nowhere else needed) and accuracy on the EVAL table.
 * The TRAIN rows are spread over 8 partitions per worker by id and put in a seeded order within each (a hash of
 * id), then cut into DataSets of the spec's batch size, saved to files once (set-up) and trained on with
 * {@code fitPaths} every epoch; the training master splits and reshuffles those files per epoch. Run by
 * dl4j-spark-data-parallel.sh.
 *
 * <p>Prints one line per epoch: {@code epoch E: train S s (cumulative C s), eval NLL N, accuracy A, samples/s R}.
 *
 * <p>Args: CONFIG TRAIN EVAL MASTER MODE(pa|shared) EPOCHS WORKERS AVERAGING_FREQUENCY
 */
public class Dl4jSparkDataParallel {

  public static void main(String[] a) throws Exception {
    String config = a[0], train = a[1], eval = a[2], master = a[3], mode = a[4];
    int epochs = Integer.parseInt(a[5]), workers = Integer.parseInt(a[6]), avgFreq = Integer.parseInt(a[7]);
    long t0 = System.currentTimeMillis();
    EnsembleSpec spec = SpecLoader.load(Path.of(config));
    int batch = spec.training().batchSize();
    int classes = spec.data().classes();
    long seed = spec.ensemble().seed();
    MultiLayerNetwork net = NetworkFactory.build(spec, 784,
        io.deepens.core.random.Seeds.derive(seed, 0, io.deepens.core.random.SeedPurpose.INIT, 0)).multiLayerNetwork().orElseThrow();
    MultiLayerConfiguration conf = net.getLayerWiseConfigurations();

    SparkSession spark = SparkSession.builder().master(master).appName("deepens dl4j-spark data-parallel bench")
        .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .config("spark.kryo.registrator", "org.nd4j.kryo.Nd4jRegistrator")
        .config("spark.executor.cores", "1").config("spark.task.cpus", "1")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").getOrCreate();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());

    // the evaluation rows on the driver
    List<Row> evalRows = spark.read().parquet(eval).select("features", "label").collectAsList();
    INDArray evalX = Nd4j.create(DataType.FLOAT, evalRows.size(), 784);
    int[] evalY = new int[evalRows.size()];
    for (int i = 0; i < evalRows.size(); i++) {
      List<Float> f = evalRows.get(i).getList(0);
      float[] x = new float[f.size()];
      for (int j = 0; j < x.length; j++) x[j] = f.get(j);
      evalX.putRow(i, Nd4j.createFromArray(x));
      evalY[i] = ((Number) evalRows.get(i).get(1)).intValue();
    }

    // training DataSets of `batch` rows, in a seeded order, cached in memory and on disk on the executors
    Dataset<Row> df = spark.read().parquet(train).repartition(workers * 8, col("id"))
        .sortWithinPartitions(xxhash64(col("id"), lit(seed))).select("features", "label");
    final int b = batch, k = classes;
    JavaRDD<DataSet> data = df.javaRDD().mapPartitions(rows -> {
      List<DataSet> out = new ArrayList<>();
      List<Row> buf = new ArrayList<>(b);
      while (rows.hasNext()) {
        buf.add(rows.next());
        if (buf.size() == b || !rows.hasNext()) {
          float[][] x = new float[buf.size()][];
          float[][] y = new float[buf.size()][k];
          for (int i = 0; i < buf.size(); i++) {
            List<Float> f = buf.get(i).getList(0);
            x[i] = new float[f.size()];
            for (int j = 0; j < f.size(); j++) x[i][j] = f.get(j);
            y[i][((Number) buf.get(i).get(1)).intValue()] = 1f;
          }
          out.add(new DataSet(Nd4j.createFromArray(x), Nd4j.createFromArray(y)));
          buf.clear();
        }
      }
      return out.iterator();
    });
    // Saved once to files, as the training masters' Export approach does on its first fit: each averaging round then
    // loads only its own DataSets. (The Direct approach runs every round as a random split of the whole RDD: with
    // 1.5 GB of floats on two 2 GB executors every round re-read every partition from disk; it had done ~55 rounds
    // of 375 after 11 minutes.) Every process is on this host, so a local directory serves all of them.
    String exportDir = java.nio.file.Files.createTempDirectory(Path.of(System.getProperty("user.dir")), "export")
        .toAbsolutePath().toString();
    List<String> files = data.mapPartitionsWithIndex((idx, it) -> {
      List<String> out = new ArrayList<>();
      for (int j = 0; it.hasNext(); j++) {
        java.io.File f = new java.io.File(exportDir, "ds-" + idx + "-" + j + ".bin");
        it.next().save(f);
        out.add(f.toURI().toString());
      }
      return out.iterator();
    }, false).collect();
    JavaRDD<String> paths = jsc.parallelize(files, workers * 8).cache();
    long rows = spark.read().parquet(train).count();
    long t1 = System.currentTimeMillis();
    System.out.printf(Locale.ROOT, "%s: %d training rows in %d DataSets of <= %d; %d eval rows; set-up %.1f s%n",
        mode, rows, paths.count(), batch, evalRows.size(), (t1 - t0) / 1e3);

    TrainingMaster<?, ?> tm;
    if (mode.equals("pa")) {
      tm = new ParameterAveragingTrainingMaster.Builder(workers, batch)
          .batchSizePerWorker(batch).averagingFrequency(avgFreq).workerPrefetchNumBatches(2)
          .saveUpdater(true).rngSeed(seed).build();
    } else if (mode.equals("shared")) {
      var voidConf = org.nd4j.parameterserver.distributed.conf.VoidConfiguration.builder()
          .unicastPort(40123).controllerAddress("127.0.0.1").networkMask("127.0.0.0/8").build();
      tm = new org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster.Builder(voidConf, batch)
          .batchSizePerWorker(batch).workersPerNode(1).rngSeed(seed).build();
    } else {
      throw new IllegalArgumentException("MODE must be pa or shared, found " + mode);
    }
    SparkDl4jMultiLayer sparkNet = new SparkDl4jMultiLayer(jsc, conf, tm);
    sparkNet.getNetwork().setParams(net.params().dup()); // deepens' own initialisation of member 0
    System.out.printf(Locale.ROOT, "epoch 0: eval NLL %.4f%n", nll(sparkNet.getNetwork(), evalX, evalY)[0]);
    double cumulative = 0;
    for (int e = 1; e <= epochs; e++) {
      long s = System.currentTimeMillis();
      sparkNet.fitPaths(paths);
      double secs = (System.currentTimeMillis() - s) / 1e3;
      cumulative += secs;
      double[] m = nll(sparkNet.getNetwork(), evalX, evalY);
      System.out.printf(Locale.ROOT,
          "epoch %d: train %.1f s (cumulative %.1f s), eval NLL %.4f, accuracy %.4f, samples/s %.0f%n",
          e, secs, cumulative, m[0], m[1], rows / secs);
    }
    System.out.printf(Locale.ROOT, "wall %.1f s%n", (System.currentTimeMillis() - t0) / 1e3);
    tm.deleteTempFiles(jsc);
    for (String f : files) java.nio.file.Files.deleteIfExists(Path.of(java.net.URI.create(f)));
    java.nio.file.Files.deleteIfExists(Path.of(exportDir));
    spark.stop();
  }

  /** Mean −log p(label) (p clamped at 1e-12) and accuracy of {@code net} on the rows. */
  static double[] nll(MultiLayerNetwork net, INDArray x, int[] y) {
    INDArray p = net.output(x, false);
    double sum = 0;
    int right = 0;
    for (int i = 0; i < y.length; i++) {
      sum -= Math.log(Math.max(p.getDouble(i, y[i]), 1e-12));
      if (p.getRow(i).argMax().getInt(0) == y[i]) right++;
    }
    return new double[] {sum / y.length, right / (double) y.length};
  }
}
