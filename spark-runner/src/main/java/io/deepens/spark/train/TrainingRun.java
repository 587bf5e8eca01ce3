package io.deepens.spark.train;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.ResourcesSpec;
import io.deepens.core.spec.Task;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.store.Retention;
import io.deepens.core.store.RunLock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training run with the rules that make it safe to schedule: what {@code deepens train} does, for library
 * callers too. {@link SparkEnsembleTrainer} trains and publishes; this class decides whether it may.
 *
 * <ul>
 *   <li><b>A run id publishes at most once.</b> A run id already published trains nothing and returns {@link
 *       AlreadyPublished} (the command line exits 0). The check runs before the lock and again once it is held,
 *       because the holder may have published meanwhile.</li>
 *   <li><b>One process per run id.</b> The run holds {@link RunLock} on {@code STORE/checkpoints/<run-id>} while it
 *       trains; a second one fails at once with {@link RunLock.HeldException}. A crashed run's members resume from
 *       their checkpoints when the same run id runs again.</li>
 *   <li><b>Warm start</b> from a version of the same store with the same member count and task.</li>
 *   <li><b>Retention</b> after publishing ({@code keep}); a failure there is reported, the run stays published.</li>
 *   <li><b>Spark settings the spec implies</b>, set before the session starts ({@link #sessionConf}): one task per
 *       member with {@code threadsPerMember} cores, and its GPU share.</li>
 * </ul>
 */
public final class TrainingRun {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);

  private TrainingRun() {}

  /**
   * What to train.
   *
   * @param table reads the training table; called only when the run trains (a rerun of a published run id does
   *     not touch its input, which may be gone by then)
   * @param validation reads a separate validation table, or null for the spec's hash split
   * @param warmStart {@code LATEST} or a version of the same store whose members initialise this run's, or null
   * @param keep after publishing, keep the newest {@code keep} versions (and those retention protects), or null
   * @param provenance recorded in the manifest (command line, versions, ...); the run adds its id and warm start
   */
  public record Request(EnsembleSpec spec, String storeUri, String runId, String dataUri,
      Supplier<Dataset<Row>> table, Supplier<Dataset<Row>> validation, String warmStart, Integer keep,
      Map<String, Object> provenance) {
    public Request {
      EnsembleStore.checkRunId(runId);
      InvalidInputException.check(keep == null || keep >= 1, "train: --keep must be at least 1, found %s", keep);
      provenance = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(provenance));
    }
  }

  /** How a run ended. */
  public sealed interface Outcome permits Published, AlreadyPublished {}

  /** This run published a version; {@code retention} says what retention did, or is empty. */
  public record Published(SparkEnsembleTrainer.Result result, String retention) implements Outcome {}

  /** The run id had been published before: nothing was trained. */
  public record AlreadyPublished(EnsembleStore.PublishedRun run) implements Outcome {}

  /**
   * The Spark settings a run of {@code spec} needs, added to {@code userConf} where the user did not set them:
   * {@code spark.task.cpus} (the member's threads) and {@code spark.task.resource.gpu.amount} (its GPU share).
   * Fails before any Spark start when the spec asks for GPUs that the application's executors cannot offer.
   */
  public static Map<String, String> sessionConf(EnsembleSpec spec, Map<String, String> userConf) {
    Map<String, String> conf = new LinkedHashMap<>(userConf);
    conf.putIfAbsent("spark.task.cpus", Integer.toString(spec.resources().threadsPerMember()));
    if (spec.resources().gpusPerMember() > 0) {
      // Without executor GPUs Spark refuses the task resource with "No executor resource configs were specified
      // for the following task configs: gpu"; spark-submit's properties reach this JVM as system properties.
      String key = "spark.executor.resource.gpu.amount";
      if (!conf.containsKey(key) && !new SparkConf().contains(key)) {
        throw new InvalidInputException("train: the spec asks for " + spec.resources().gpusPerMember()
            + " GPU per member (resources.gpusPerMember) but this Spark application has no executor GPUs (" + key
            + " is not set). On a GPU cluster set it and a discovery script (see conf/spark-defaults-*.conf and "
            + "conf/gpu-discovery.sh); to train on CPUs, pass --gpus-per-member 0");
      }
      conf.putIfAbsent("spark.task.resource.gpu.amount", taskGpuAmount(spec.resources()));
    }
    return conf;
  }

  /**
   * The value of {@code spark.task.resource.gpu.amount}: whole numbers as given; a fraction as exactly 1/n, because
   * Spark packs {@code floor(1 / amount)} tasks on a GPU and a rounded spec value such as 0.1429 would give 6,
   * not the 7 the spec means.
   */
  static String taskGpuAmount(ResourcesSpec r) {
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

  /** Runs {@code r} on {@code spark} (a session made with {@link #sessionConf}). */
  public static Outcome run(SparkSession spark, Request r) {
    EnsembleStore store = EnsembleStore.open(r.storeUri(), spark.sparkContext().hadoopConfiguration());
    Optional<EnsembleStore.PublishedRun> done = store.publishedRun(r.runId());
    if (done.isPresent()) {
      return new AlreadyPublished(done.get());
    }
    try (RunLock lock = RunLock.acquire(store, r.runId(), "deepens train")) {
      done = store.publishedRun(r.runId()); // it may have finished while we looked
      if (done.isPresent()) {
        return new AlreadyPublished(done.get());
      }
      Map<String, Object> provenance = new LinkedHashMap<>(r.provenance());
      provenance.put("runId", r.runId());
      String warm = r.warmStart() == null ? null : warmStart(store, r.spec(), r.warmStart(), provenance);
      Dataset<Row> validation = r.validation() == null ? null : r.validation().get();
      SparkEnsembleTrainer.Result result = new SparkEnsembleTrainer(spark).train(r.table().get(), validation,
          r.spec(), new SparkEnsembleTrainer.Options(r.storeUri(), r.runId(), r.dataUri(), provenance, warm));
      if (lock.lost()) {
        LOG.error("run {}: another process took over this run's lock while it trained; check {} for a second "
            + "version of the same run id", r.runId(), r.storeUri());
      }
      return new Published(result, r.keep() == null ? "" : retain(store, r.keep()));
    }
  }

  /** Checks that version {@code ref} can initialise the members of {@code spec}; records it; returns its name. */
  static String warmStart(EnsembleStore store, EnsembleSpec spec, String ref, Map<String, Object> provenance) {
    Manifest w = store.resolve(ref);
    String task = spec.task() == Task.CLASSIFICATION ? "classification" : "regression";
    InvalidInputException.check(w.members().size() == spec.ensemble().members(),
        "train: --warm-start %s has %d members but this run trains %d: warm start needs the same member count "
            + "(pass --members %d or train without --warm-start)", w.version(), w.members().size(),
        spec.ensemble().members(), w.members().size());
    InvalidInputException.check(task.equals(w.task()),
        "train: --warm-start %s is a %s ensemble but the spec trains %s", w.version(), w.task(), task);
    Map<String, Object> ws = new LinkedHashMap<>();
    ws.put("version", w.version());
    ws.put("runId", w.runId());
    ws.put("members", w.members().stream().map(e -> e.usable() ? e.file() + " sha256 " + e.sha256()
        : "none (" + e.status() + "): own seed").toList());
    provenance.put("warmStart", ws);
    LOG.info("warm start: members initialised from {} version {} (run {})", store.uri(), w.version(), w.runId());
    return w.version();
  }

  private static String retain(EnsembleStore store, int keep) {
    try {
      Retention.Result gc = Retention.apply(store, keep);
      return "; retention kept " + gc.kept().keySet() + ", removed " + gc.removed();
    } catch (DeepensException e) { // published all the same: report it, do not fail the run
      LOG.warn("retention after publishing failed: {}; run 'deepens gc --store {} --keep {}' later", e.getMessage(),
          store.uri(), keep);
      return "; retention failed (" + e.getMessage() + ")";
    }
  }
}
