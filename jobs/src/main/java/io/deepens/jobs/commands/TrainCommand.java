package io.deepens.jobs.commands;

import io.deepens.core.InvalidInputException;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.ResourcesSpec;
import io.deepens.core.spec.Task;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.store.Retention;
import io.deepens.core.store.RunLock;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.Outcome;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.cli.Locations;
import io.deepens.jobs.cli.SpecFiles;
import io.deepens.jobs.cli.Tables;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
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

  /**
   * The session for training. A spec that asks for GPUs needs executors that offer them; without
   * {@code spark.executor.resource.gpu.amount} (from --conf, or spark-submit's properties, which reach this JVM as
   * system properties) Spark would refuse the task resource with "No executor resource configs were specified for
   * the following task configs: gpu", so say what to change instead, before starting anything.
   */
  private static SparkSession session(String master, EnsembleSpec spec, Map<String, String> conf) {
    String key = "spark.executor.resource.gpu.amount";
    if (spec.resources().gpusPerMember() > 0 && !conf.containsKey(key)
        && !new org.apache.spark.SparkConf().contains(key)) {
      throw new InvalidInputException("train: the spec asks for " + spec.resources().gpusPerMember()
          + " GPU per member (resources.gpusPerMember) but this Spark application has no executor GPUs (" + key
          + " is not set). On a GPU cluster set it and a discovery script (see conf/spark-defaults-*.conf and "
          + "conf/gpu-discovery.sh); to train on CPUs, pass --gpus-per-member 0");
    }
    return SparkSessions.getOrCreate(master, "deepens train " + spec.name(), conf);
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
    Map<String, String> conf = new LinkedHashMap<>(a.confs());
    conf.putIfAbsent("spark.task.cpus", Integer.toString(spec.resources().threadsPerMember()));
    if (spec.resources().gpusPerMember() > 0) {
      conf.putIfAbsent("spark.task.resource.gpu.amount", taskGpuAmount(spec.resources()));
    }
    EnsembleStore.checkRunId(runId);
    Integer keep = a.getInt("keep");
    InvalidInputException.check(keep == null || keep >= 1, "train: --keep must be at least 1, found %s", keep);
    SparkSession spark = session(a.get("master"), spec, conf);
    // the SparkSession is stopped by Main after the last command of a '+' pipeline
    EnsembleStore st = EnsembleStore.open(store, spark.sparkContext().hadoopConfiguration());
    Optional<EnsembleStore.PublishedRun> done = st.publishedRun(runId);
    if (done.isPresent()) {
      return alreadyPublished(store, done.get());
    }
    try (RunLock lock = RunLock.acquire(st, runId, "deepens train")) {
      done = st.publishedRun(runId); // it may have finished while we looked
      if (done.isPresent()) {
        return alreadyPublished(store, done.get());
      }
      return train(a, spark, spec, data, store, st, runId, keep, lock);
    }
  }

  /**
   * A rerun of a finished run: success (exit 0), because the run's result exists. The outcome line starts with
   * {@code nothing to do:} and names the version, so a caller that cares can tell it from a fresh publication
   * ({@code published STORE#vNNNNNN} on stdout).
   */
  private static ExitCode alreadyPublished(String store, EnsembleStore.PublishedRun p) {
    String message = "nothing to do: run " + p.runId() + " was already published as " + store + "#" + p.version()
        + (p.exists() ? "" : " (since removed by retention)");
    Outcome.set("{}", message);
    System.out.println(message);
    return ExitCode.OK;
  }

  private ExitCode train(Args a, SparkSession spark, EnsembleSpec spec, String data, String store, EnsembleStore st,
      String runId, Integer keep, RunLock lock) {
    Map<String, Object> provenance = new LinkedHashMap<>(Provenance.of("train", null));
    provenance.put("runId", runId);
    String warm = null;
    if (a.get("warm-start") != null) {
      Manifest w = st.resolve(a.get("warm-start"));
      String task = spec.task() == Task.CLASSIFICATION ? "classification" : "regression";
      InvalidInputException.check(w.members().size() == spec.ensemble().members(),
          "train: --warm-start %s has %d members but this run trains %d: warm start needs the same member count "
              + "(pass --members %d or train without --warm-start)", w.version(), w.members().size(),
          spec.ensemble().members(), w.members().size());
      InvalidInputException.check(task.equals(w.task()),
          "train: --warm-start %s is a %s ensemble but the spec trains %s", w.version(), w.task(), task);
      warm = w.version();
      Map<String, Object> ws = new LinkedHashMap<>();
      ws.put("version", w.version());
      ws.put("runId", w.runId());
      ws.put("members", w.members().stream().map(e -> e.usable() ? e.file() + " sha256 " + e.sha256()
          : "none (" + e.status() + "): own seed").toList());
      provenance.put("warmStart", ws);
      LOG.info("warm start: members initialised from {} version {} (run {})", store, w.version(), w.runId());
    }
    Dataset<Row> table = Tables.read(spark, data, a.get("format"));
    Dataset<Row> validation = null;
    String valUri = a.get("validation", spec.data().validation().table());
    if (valUri != null) {
      validation = Tables.read(spark, valUri, a.get("format"));
    }
    SparkEnsembleTrainer.Result r = new SparkEnsembleTrainer(spark).train(table, validation, spec,
        new SparkEnsembleTrainer.Options(store, runId, data, provenance, warm));
    if (lock.lost()) {
      LOG.error("run {}: another process took over this run's lock while it trained; check {} for a second "
          + "version of the same run id", runId, store);
    }
    String retained = "";
    if (keep != null) {
      try {
        Retention.Result gc = Retention.apply(st, keep);
        retained = "; retention kept " + gc.kept().keySet() + ", removed " + gc.removed();
      } catch (io.deepens.core.DeepensException e) { // published all the same: report it, do not fail the run
        LOG.warn("retention after publishing failed: {}; run 'deepens gc --store {} --keep {}' later", e.getMessage(),
            store, keep);
        retained = "; retention failed (" + e.getMessage() + ")";
      }
    }
    Object ens = r.manifest().validation().get("ensemble");
    Outcome.set("trained {} members, published {} version {} as run {} (validation metrics {}){}",
        r.manifest().usableMembers().size(), store, r.version(), runId, ens, retained);
    System.out.println("published " + store + "#" + r.version());
    return ExitCode.OK;
  }
}
