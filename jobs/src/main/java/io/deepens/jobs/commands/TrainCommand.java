package io.deepens.jobs.commands;

import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.cli.Tables;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code train}: trains the members of an ensemble on Spark and publishes a new version to the store. */
public final class TrainCommand implements Command {
  private static final Logger LOG = LoggerFactory.getLogger(TrainCommand.class);

  @Override
  public String name() {
    return "train";
  }

  @Override
  public String summary() {
    return "train an ensemble (one Spark task per member) and publish a new version to the store";
  }

  @Override
  public String usage() {
    return """
        usage: deepens train --config conf/X.yaml --data URI --store URI [options]

          --config FILE          ensemble spec (YAML), e.g. conf/digits-mlp.yaml
          --data URI             training table (Parquet by default; any Spark source via --format)
          --store URI            ensemble store (file://, hdfs://, s3a://, or a local path)
          --format F             format of --data (parquet, csv, orc, json); default from the extension
          --validation URI       a separate validation table instead of the spec's hash split
          --members N            override ensemble.members
          --epochs N             override training.epochs
          --run-id ID            name of this run (default: run-<UTC time>); checkpoints live under it
          --master URL           Spark master (default: spark-submit's, else local[*])
          --conf K=V             extra Spark configuration (repeatable)

        example: scripts/deepens train --config conf/digits-mlp.yaml --data work/digits/train --store work/store""";
  }

  @Override
  public Set<String> options() {
    return Set.of("config", "data", "store", "format", "validation", "members", "epochs", "run-id", "master",
        "conf");
  }

  /**
   * The value of {@code spark.task.resource.gpu.amount}: whole numbers as given; a fraction as exactly 1/n, because
   * Spark packs {@code floor(1 / amount)} tasks on a GPU and a rounded spec value such as 0.1429 would give 6,
   * not the 7 the spec means.
   */
  static String taskGpuAmount(io.deepens.core.spec.ResourcesSpec r) {
    double g = r.gpusPerMember();
    if (g >= 1) {
      return Long.toString(Math.round(g));
    }
    int n = r.membersPerGpu();
    double amount = 1.0 / n;
    if (Math.floor(1.0 / amount) < n) { // e.g. n = 93: 1 / (1.0 / 93) is just below 93 in double arithmetic
      amount = Math.nextDown(amount);
    }
    return Double.toString(amount);
  }

  @Override
  public ExitCode run(Args a) {
    EnsembleSpec spec = SpecLoader.load(Path.of(a.require("config")));
    String data = a.require("data");
    String store = a.require("store");
    if (a.getInt("members") != null) {
      spec = spec.withMembers(a.getInt("members"));
    }
    if (a.getInt("epochs") != null) {
      spec = spec.withEpochs(a.getInt("epochs"));
    }
    String runId = a.get("run-id", "run-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)
        .withZone(ZoneOffset.UTC).format(java.time.Instant.now()));
    Map<String, String> conf = new LinkedHashMap<>(a.confs());
    conf.putIfAbsent("spark.task.cpus", Integer.toString(spec.resources().threadsPerMember()));
    if (spec.resources().gpusPerMember() > 0) {
      conf.putIfAbsent("spark.task.resource.gpu.amount", taskGpuAmount(spec.resources()));
    }
    SparkSession spark = SparkSessions.getOrCreate(a.get("master"), "deepens train " + spec.name(), conf);
    try {
      Dataset<Row> table = Tables.read(spark, data, a.get("format"));
      Dataset<Row> validation = null;
      String valUri = a.get("validation", spec.data().validation().table());
      if (valUri != null) {
        validation = Tables.read(spark, valUri, a.get("format"));
      }
      SparkEnsembleTrainer.Result r = new SparkEnsembleTrainer(spark).train(table, validation, spec,
          new SparkEnsembleTrainer.Options(store, runId, data, Provenance.of("train", null)));
      Object ens = r.manifest().validation().get("ensemble");
      LOG.info("outcome: trained {} members, published {} version {} (validation metrics {})",
          r.manifest().usableMembers().size(), store, r.version(), ens);
      System.out.println("published " + store + "#" + r.version());
      return ExitCode.OK;
    } finally {
      spark.stop();
    }
  }
}
