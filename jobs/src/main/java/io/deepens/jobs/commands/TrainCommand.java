package io.deepens.jobs.commands;

import io.deepens.core.InvalidInputException;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.ResourcesSpec;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.Outcome;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.cli.Locations;
import io.deepens.jobs.cli.SpecFiles;
import io.deepens.jobs.cli.Tables;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.train.SparkEnsembleTrainer;
import io.deepens.spark.train.TrainingRun;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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

          --config FILE          ensemble spec (YAML), e.g. conf/digits-mlp.yaml, or a URI (hdfs://...): a driver
                                 in a YARN container (cluster deploy mode) reads it from there
          --data URI             training table (Parquet by default; any Spark source via --format)
          --store URI            ensemble store (file://, hdfs://, s3a://, or a local path)
          --format F             format of --data (parquet, csv, orc, json); default from the extension
          --validation URI       a separate validation table instead of the spec's hash split
          --members N            override ensemble.members
          --epochs N             override training.epochs
          --gpus-per-member G    override resources.gpusPerMember: a whole number, or 1/n <= 0.5 (0.25 packs four
                                 members on one GPU); needs a cluster master with GPU resources
          --run-id ID            name of this run (default: run-<UTC time>); checkpoints live under it.
                                 Idempotent: a run id already published trains and publishes nothing and exits 0
                                 ('nothing to do: ...'); a crashed one resumes from its checkpoints; one being
                                 trained elsewhere fails at once (exit 5)
          --warm-start V         initialise the members from version V of the same store (LATEST or vNNNNNN;
                                 same member count); recorded in the manifest's provenance
          --keep N               after publishing, remove all but the newest N versions (never LATEST nor one a
                                 scorer resolved in the last hour; see 'deepens gc --help')
          --master URL           Spark master (default: spark-submit's, else local[*])
          --conf K=V             extra Spark configuration (repeatable)

        example: scripts/deepens train --config conf/digits-mlp.yaml --data work/digits/train --store work/store""";
  }

  @Override
  public Set<String> options() {
    return Set.of("config", "data", "store", "format", "validation", "members", "epochs", "run-id", "master",
        "conf", "warm-start", "keep", "gpus-per-member");
  }

  @Override
  public ExitCode run(Args a) {
    EnsembleSpec spec = SpecFiles.load(a.require("config"), Locations.driverHadoopConfiguration());
    io.deepens.core.network.NativeWarmUp.inBackground(); // ND4J loads while Spark starts
    NetworkFactory.checkConfiguration(spec); // a dl4j-json network deepens cannot train fails before Spark starts
    String data = a.require("data");
    String store = a.require("store");
    if (a.getInt("members") != null) {
      spec = spec.withMembers(a.getInt("members"));
    }
    if (a.getInt("epochs") != null) {
      spec = spec.withEpochs(a.getInt("epochs"));
    }
    if (a.get("gpus-per-member") != null) {
      double g;
      try {
        g = Double.parseDouble(a.get("gpus-per-member").trim());
      } catch (NumberFormatException e) {
        throw new InvalidInputException("train: --gpus-per-member must be a number, found '"
            + a.get("gpus-per-member") + "'");
      }
      spec = spec.withResources(new ResourcesSpec(spec.resources().threadsPerMember(), g));
    }
    String runId = a.get("run-id", "run-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)
        .withZone(ZoneOffset.UTC).format(java.time.Instant.now()));
    String format = a.get("format");
    String valUri = a.get("validation", spec.data().validation().table());
    Map<String, Object> provenance = new LinkedHashMap<>(Provenance.of("train", a.argv()));
    TrainingRun.Request request = new TrainingRun.Request(spec, store, runId, data,
        () -> Tables.read(SparkSession.active(), data, format),
        valUri == null ? null : () -> Tables.read(SparkSession.active(), valUri, format), a.get("warm-start"),
        a.getInt("keep"), provenance);
    SparkSession spark = SparkSessions.getOrCreate(a.get("master"), "deepens train " + spec.name(),
        TrainingRun.sessionConf(spec, a.confs()));
    // the SparkSession is stopped by Main after the last command of a '+' pipeline
    TrainingRun.Outcome outcome = TrainingRun.run(spark, request);
    if (outcome instanceof TrainingRun.AlreadyPublished p) {
      // success (exit 0), because the run's result exists; the outcome line starts with 'nothing to do:' and names
      // the version, so a caller that cares can tell it from a fresh publication ('published STORE#vNNNNNN')
      String message = "nothing to do: run " + p.run().runId() + " was already published as " + store + "#"
          + p.run().version() + (p.run().exists() ? "" : " (since removed by retention)");
      Outcome.set("{}", message);
      System.out.println(message);
      return ExitCode.OK;
    }
    TrainingRun.Published p = (TrainingRun.Published) outcome;
    SparkEnsembleTrainer.Result r = p.result();
    TrainSummary.print(r.manifest(), System.out);
    Outcome.set("trained {} members, published {} version {} as run {} (validation {}){}",
        r.manifest().usableMembers().size(), store, r.version(), runId,
        rounded(r.manifest().validation().get("ensemble")), p.retention());
    System.out.println("published " + store + "#" + r.version());
    return ExitCode.OK;
  }

  /** The ensemble's validation metrics as {@code accuracy 0.9827, nll 0.1113, ...}: four decimals are what differ. */
  static String rounded(Object metrics) {
    if (!(metrics instanceof Map<?, ?> m)) {
      return String.valueOf(metrics);
    }
    java.util.StringJoiner j = new java.util.StringJoiner(", ");
    m.forEach((k, v) -> j.add(k + " " + (v instanceof Number n ? String.format(Locale.ROOT, "%.4f", n.doubleValue())
        : v)));
    return j.toString();
  }
}
