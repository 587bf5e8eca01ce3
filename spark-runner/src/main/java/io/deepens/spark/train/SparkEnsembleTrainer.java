package io.deepens.spark.train;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.aggregate.EnsembleAggregator;
import io.deepens.core.aggregate.MemberPredictions;
import io.deepens.core.network.NativeWarmUp;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.Task;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.data.FeatureDecoder;
import io.deepens.spark.data.LabeledRow;
import io.deepens.spark.data.PartitionProfiles;
import io.deepens.spark.data.TableProfile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.MapOutputStatistics;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.SimpleFutureAction;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import scala.concurrent.Await;
import scala.concurrent.duration.Duration;
import scala.util.Try;

/**
 * Trains an ensemble on Spark: one task per member, every member's copy of the data delivered through Spark's
 * shuffle (never through the driver), then driver-side aggregation and atomic publication to the store.
 *
 * <ol>
 *   <li>Check the schema, then read the table once ({@link MemberCopies}, the map side of the shuffle): copy every
 *       row once per member with a shuffle key (member, validation?, order key, row key), so that member m's
 *       partition will receive its training rows in an order drawn from m's seed (bootstrap copies when enabled)
 *       and the shared validation rows in row-key order; in the same pass profile the table (feature lengths,
 *       invalid rows with an example each, label counts, split counts, content hash). Only this map stage runs.</li>
 *   <li>Check the profile and fail before any training if anything is wrong.</li>
 *   <li>Run {@link MemberTask} on each partition of the shuffle written in step 1 (the table is not read again);
 *       members checkpoint every epoch and resume when retried.</li>
 *   <li>Fit weights and temperature on the validation predictions, drop diverged members, publish.</li>
 * </ol>
 */
public final class SparkEnsembleTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(SparkEnsembleTrainer.class);

  /**
   * Options that are not part of the spec.
   *
   * @param warmStartVersion a version of the same store whose members initialise the new members, or null
   */
  public record Options(String storeUri, String runId, String dataUri, Map<String, Object> provenance,
      String warmStartVersion) {
    public Options(String storeUri, String runId, String dataUri, Map<String, Object> provenance) {
      this(storeUri, runId, dataUri, provenance, null);
    }
  }

  /** What a finished run published. */
  public record Result(String version, Manifest manifest, List<MemberOutcome> outcomes) {}

  private final SparkSession spark;

  public SparkEnsembleTrainer(SparkSession spark) {
    this.spark = spark;
  }

  public Result train(Dataset<Row> table, Dataset<Row> validationTable, EnsembleSpec spec, Options options) {
    long tBegin = System.currentTimeMillis();
    NativeWarmUp.inBackground(); // the check after the table pass builds a network; the driver loads ND4J meanwhile
    EnsembleStore store = EnsembleStore.open(options.storeUri(), spark.sparkContext().hadoopConfiguration());
    EnsembleStore.checkRunId(options.runId());
    checkGpuRequest(spec);
    boolean classification = spec.task() == Task.CLASSIFICATION;
    int classes = classification ? spec.data().classes() : 0;
    FeatureDecoder decoder0 = FeatureDecoder.of(table.schema(), spec.data().features(), spec.data().label(), classes,
        spec.data().key(), -1); // the feature length of array and vector columns is learnt from the data
    long splitSeed = Seeds.derive(spec.ensemble().seed(), 0, SeedPurpose.VALIDATION_SPLIT, 0);
    double fraction = validationTable == null ? spec.data().validation().fraction() : 0.0;

    // 1. one pass over the table(s): the shuffle's map side profiles every row while it copies it for every member
    int members = spec.ensemble().members();
    long seed = spec.ensemble().seed();
    boolean bootstrap = spec.ensemble().bootstrap();
    PartitionProfiles trainProfiles = register(new PartitionProfiles(classes));
    JavaRDD<InternalRow> trainRdd = table.queryExecution().toRdd().toJavaRDD();
    MemberCopies trainCopies =
        new MemberCopies(decoder0, classes, members, seed, bootstrap, fraction, splitSeed, false, trainProfiles);
    JavaPairRDD<MemberRowKey, LabeledRow> copies =
        JavaPairRDD.fromJavaRDD(trainRdd.mapPartitionsWithIndex(trainCopies::apply, true));
    PartitionProfiles valProfiles = null;
    JavaRDD<InternalRow> valRdd = null;
    if (validationTable != null) {
      // the feature length is checked after the pass (below); columns that cannot match fail here already
      FeatureDecoder vd0 = FeatureDecoder.of(validationTable.schema(), spec.data().features(), spec.data().label(),
          classes, spec.data().key(), decoder0.numFeatures());
      valProfiles = register(new PartitionProfiles(classes));
      valRdd = validationTable.queryExecution().toRdd().toJavaRDD();
      MemberCopies valCopies = new MemberCopies(vd0, classes, members, seed, false, 1.0, splitSeed, true, valProfiles);
      copies = copies.union(JavaPairRDD.fromJavaRDD(valRdd.mapPartitionsWithIndex(valCopies::apply, true)));
    }
    JavaPairRDD<MemberRowKey, LabeledRow> perMember =
        copies.partitionBy(new MemberRowKey.ByMember(members)); // each member's task orders its rows itself
    spark.sparkContext().setJobDescription("deepens train " + options.runId() + ": read, check and shuffle the "
        + (validationTable == null ? "table" : "tables") + " for " + members + " members");
    long tMap = System.currentTimeMillis();
    runMapStage(perMember);
    long tMapped = System.currentTimeMillis();

    // 2. check, before any member trains (the member stage below reads the shuffle written above)
    TableProfile profile = trainProfiles.merged(trainRdd.getNumPartitions());
    int numFeatures = checkProfile(profile, decoder0, "training table " + options.dataUri());
    NetworkFactory.validate(spec, numFeatures); // the network fits the rows (errors name network.config etc.)
    TableProfile valProfile = null;
    if (validationTable != null) {
      FeatureDecoder vd = FeatureDecoder.of(validationTable.schema(), spec.data().features(), spec.data().label(),
          classes, spec.data().key(), numFeatures);
      valProfile = valProfiles.merged(valRdd.getNumPartitions());
      checkProfile(valProfile, vd, "validation table " + spec.data().validation().table());
    }
    if (profile.invalidRows() > 0 || (valProfile != null && valProfile.invalidRows() > 0)) {
      // checkProfile does not list rows whose reason is a length mismatch (it reports lengths itself); decoded at
      // their own length rows have no such reason, so a table that passed has no invalid rows and every row was
      // copied to the members
      throw new IllegalStateException("rows that do not decode passed the check: training " + profile.invalid
          + (valProfile == null ? "" : ", validation " + valProfile.invalid));
    }
    long valRows = valProfile != null ? valProfile.rows : profile.validationRows;
    long trainRows = profile.rows - profile.validationRows;
    InvalidInputException.check(valRows > 0,
        "the validation split is empty (%d rows, fraction %s): raise data.validation.fraction or give a table",
        profile.rows, fraction);
    InvalidInputException.check(trainRows > 0, "no training rows remain after the validation split");
    LOG.info("training table: {} rows ({} train, {} validation), {} features, content hash {}", profile.rows,
        trainRows, valRows, numFeatures, profile.contentHashHex());

    // 3. one task per member, reading the shuffle written in step 1
    String kill = spark.sparkContext().getConf().get(MemberTask.KILL_AFTER_EPOCH, "");
    MemberTask task = new MemberTask(spec.toJson(), store.uri(), options.runId(), numFeatures,
        new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()), kill, options.warmStartVersion());
    spark.sparkContext().setJobDescription("deepens train " + options.runId() + ": " + members + " members");
    List<MemberOutcome> outcomes;
    long tMembers = System.currentTimeMillis();
    try (ProgressMonitor monitor =
        new ProgressMonitor(store, options.runId(), members, spec.training().epochs(), 2000)) {
      outcomes = new ArrayList<>(perMember.mapPartitionsWithIndex(
          (Integer m, Iterator<Tuple2<MemberRowKey, LabeledRow>> rows) -> task.run(m, rows), true).collect());
    }
    long tTrained = System.currentTimeMillis();
    outcomes.sort(Comparator.comparingInt(o -> o.member));
    for (MemberOutcome o : outcomes) {
      LOG.info("member {}: {} ({} train rows, executor {}, attempt {}{})", o.member, o.status, o.trainRows,
          o.executorId, o.attempt, o.gpuAddresses.length > 0 ? ", GPU " + String.join(",", o.gpuAddresses) : "");
    }

    // 4. aggregate and publish
    Manifest.DataFingerprint fingerprint = new Manifest.DataFingerprint(options.dataUri(), profile.rows
        + (valProfile == null ? 0 : valProfile.rows), trainRows, valRows, profile.contentHashHex(),
        table.schema().simpleString());
    EnsembleAggregator.Fit fit = aggregate(spec, outcomes);
    EnsembleStore.Staging staging = store.beginVersion(options.runId());
    List<Manifest.MemberEntry> entries = new ArrayList<>();
    for (MemberOutcome o : outcomes) {
      String file = null;
      String sha = null;
      if (fit.usedMembers().contains(o.member)) {
        file = "members/" + EnsembleStore.memberName(o.member) + ".zip";
        sha = staging.moveIn(new org.apache.hadoop.fs.Path(o.modelPath), file);
        if (!sha.equals(o.modelSha256)) {
          throw new DeepensException("member " + o.member + " model " + o.modelPath + " changed after its task "
              + "wrote it (SHA-256 " + sha + ", task reported " + o.modelSha256 + ")");
        }
      }
      entries.add(new Manifest.MemberEntry(o.member, file, sha, o.status, readTree(o.reportJson)));
    }
    Map<String, Object> provenance = new LinkedHashMap<>(options.provenance());
    provenance.put("sparkVersion", spark.version());
    provenance.put("master", spark.sparkContext().master());
    provenance.put("applicationId", spark.sparkContext().applicationId());
    Map<String, Object> timing = timing(tBegin, tMap, tMapped, tMembers, tTrained, outcomes,
        profile.readNanos + (valProfile == null ? 0 : valProfile.readNanos),
        profile.passNanos + (valProfile == null ? 0 : valProfile.passNanos));
    provenance.put("timing", timing);
    String version = store.publish(staging, v -> new Manifest(Manifest.FORMAT_VERSION, v, options.runId(),
        java.time.Instant.now().toString(), classification ? "classification" : "regression", numFeatures,
        classification ? classes : 1, readTree(spec.toJson()), spec.sha256(), entries, fit.weights(),
        fit.temperature(), fit.validationMetrics(), fingerprint, staging.files(), provenance));
    store.deleteRecursively(store.runDir(options.runId()));
    LOG.info("published {} version {} ({} of {} members, weights {}, temperature {})", store.uri(), version,
        fit.usedMembers().size(), members, Arrays.toString(fit.weights()), fit.temperature());
    LOG.info("timing: {}; publish {} s (where the time went; also in the manifest's provenance.timing)",
        describe(timing), seconds(System.currentTimeMillis() - tTrained));
    return new Result(version, store.readManifest(version), outcomes);
  }

  /**
   * Where a run's time went, in milliseconds: the driver JVM's start until training began (JVM, Spark session,
   * reading the schema), the table pass (the shuffle's map side: read, check, copy per member), the check, the
   * member stage, and per member: the time from the stage's submission until the member's code ran (scheduling and
   * task launch; both clocks are wall clocks, on a cluster they can differ by the hosts' skew), receiving its rows
   * ({@code receiveMillis}: Spark's shuffle read fetches and deserialises them as the task takes them, the task stores
   * them and orders them by their keys), training (network set-up, the
   * epochs with checkpoints and validation; {@code epochsMillis} is the sum of the epochs alone), writing the final
   * model and its validation outputs, and its end until the driver had every member's result.
   *
   * <p>The table pass's tasks time themselves ({@code tableTasksMillis}, summed over tasks, which run side by side)
   * and the part of that spent waiting for the next input row ({@code tableTasksReadMillis}: Spark's reader opening,
   * decompressing and decoding the files, which any trainer of this table pays); {@code tableReadMillis} is the
   * table pass's wall time in that proportion, the rest of it being the profile, the copies and Spark's shuffle
   * writer.
   */
  static Map<String, Object> timing(long tBegin, long tMap, long tMapped, long tMembers, long tTrained,
      List<MemberOutcome> outcomes, long tableReadNanos, long tablePassNanos) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("startMillis", tBegin - java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime());
    t.put("prepareMillis", tMap - tBegin);
    t.put("tablePassMillis", tMapped - tMap);
    t.put("tableTasksMillis", tablePassNanos / 1_000_000);
    t.put("tableTasksReadMillis", tableReadNanos / 1_000_000);
    t.put("tableReadMillis", tablePassNanos <= 0 ? 0L
        : Math.round((tMapped - tMap) * Math.min(1.0, (double) tableReadNanos / tablePassNanos)));
    t.put("checkMillis", tMembers - tMapped);
    t.put("memberStageMillis", tTrained - tMembers);
    List<Map<String, Object>> ms = new ArrayList<>();
    for (MemberOutcome o : outcomes) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("member", o.member);
      m.put("executorId", o.executorId);
      m.put("host", o.host);
      m.put("taskStartMillis", o.taskStartMillis - tMembers);
      m.put("receiveMillis", o.receiveMillis);
      m.put("trainMillis", o.trainMillis);
      m.put("epochsMillis", epochsMillis(o.reportJson));
      m.put("finishMillis", o.finishMillis);
      m.put("collectMillis",
          tTrained - (o.taskStartMillis + o.receiveMillis + o.trainMillis + o.finishMillis));
      ms.add(m);
    }
    t.put("members", ms);
    return t;
  }

  private static long epochsMillis(String reportJson) {
    long sum = 0;
    if (reportJson != null) {
      for (var e : readTree(reportJson).path("report").path("epochs")) {
        sum += e.path("millis").asLong();
      }
    }
    return sum;
  }

  @SuppressWarnings("unchecked")
  private static String describe(Map<String, Object> t) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "JVM and Spark start %s s, prepare %s s, table pass %s s (reading the input ~%s s of it), check %s s, "
            + "member stage %s s",
        seconds((long) t.get("startMillis")), seconds((long) t.get("prepareMillis")),
        seconds((long) t.get("tablePassMillis")), seconds((long) t.get("tableReadMillis")),
        seconds((long) t.get("checkMillis")),
        seconds((long) t.get("memberStageMillis"))));
    for (Map<String, Object> m : (List<Map<String, Object>>) t.get("members")) {
      sb.append(String.format(Locale.ROOT, " [member %s on executor %s: task start +%s s, rows received (shuffle "
              + "read) and stored %s s, training %s s (epochs %s s), model written %s s, result collected %s s later]", m.get("member"),
          m.get("executorId"), seconds((long) m.get("taskStartMillis")), seconds((long) m.get("receiveMillis")),
          seconds((long) m.get("trainMillis")), seconds((long) m.get("epochsMillis")),
          seconds((long) m.get("finishMillis")), seconds((long) m.get("collectMillis"))));
    }
    return sb.toString();
  }

  private static String seconds(long millis) {
    return String.format(Locale.ROOT, "%.1f", millis / 1000.0);
  }

  static EnsembleAggregator.Fit aggregate(EnsembleSpec spec, List<MemberOutcome> outcomes) {
    List<MemberPredictions> preds = new ArrayList<>();
    long[] keys = null;
    for (MemberOutcome o : outcomes) {
      if (!o.usable()) {
        LOG.warn("member {} dropped: {}", o.member, o.status);
        continue;
      }
      if (keys == null) {
        keys = o.validationKeys;
      } else if (!Arrays.equals(keys, o.validationKeys)) {
        throw new DeepensException("members saw different validation rows (member " + o.member
            + "): the shuffle did not deliver the same validation set to every member");
      }
      preds.add(new MemberPredictions(o.member, o.validationOutputs, o.outputs, o.samples));
    }
    if (preds.isEmpty()) {
      throw new DeepensException("every member diverged: nothing to publish. Lower training.learningRate "
          + "or check the data scale; member reports: " + outcomes.stream().map(o -> o.member + ":" + o.status)
          .toList());
    }
    return EnsembleAggregator.fit(spec, preds, outcomes.get(0).validationLabels);
  }

  private static com.fasterxml.jackson.databind.JsonNode readTree(String json) {
    try {
      return EnsembleStore.json().readTree(json);
    } catch (java.io.IOException e) {
      throw new DeepensException("invalid JSON: " + e.getMessage(), e);
    }
  }

  private void checkGpuRequest(EnsembleSpec spec) {
    double gpus = spec.resources().gpusPerMember();
    if (gpus <= 0) {
      return;
    }
    String master = spark.sparkContext().master();
    if (SparkSessions.isLocalMaster(master)) {
      throw new InvalidInputException(String.format(Locale.ROOT,
          "resources.gpusPerMember is %s but the master is %s: Spark's local mode schedules no GPUs and the tasks "
              + "would wait forever. Use a cluster master (standalone, YARN, Kubernetes or local-cluster) with GPU "
              + "resources, or set gpusPerMember to 0", gpus, master));
    }
    String amount = spark.sparkContext().getConf().get("spark.task.resource.gpu.amount", null);
    if (amount == null) {
      throw new InvalidInputException("resources.gpusPerMember is " + gpus + " but spark.task.resource.gpu.amount is"
          + " not set: start the job through deepens' train command (which sets it) or set it to " + gpus);
    }
  }

  /** Fails with one message listing every problem found; returns the feature length. */
  static int checkProfile(TableProfile p, FeatureDecoder decoder, String what) {
    InvalidInputException.check(p.rows > 0, "%s has no rows", what);
    List<String> problems = new ArrayList<>();
    int expected = decoder.numFeatures() > 0 ? decoder.numFeatures() : p.dominantLength();
    if (p.lengths.size() > 1 || (p.lengths.size() == 1 && p.dominantLength() != expected)) {
      StringBuilder sb = new StringBuilder("features " + decoder.featureDescription()
          + " do not all have the same length (expected " + expected + "):");
      p.lengths.forEach((len, count) -> {
        if (len != expected) {
          sb.append(String.format(Locale.ROOT, " %d %s %d values (e.g. %s);", count, count == 1 ? "row has"
              : "rows have", len, p.lengthExamples.get(len)));
        }
      });
      problems.add(sb.toString().replaceAll(";$", "."));
    }
    p.invalid.forEach((reason, count) -> {
      if (!reason.contains(" values, expected ")) {
        problems.add(String.format(Locale.ROOT, "%d %s, e.g. %s.", count, count == 1 ? "invalid row" : "invalid rows",
            p.invalidExamples.get(reason)));
      }
    });
    if (!problems.isEmpty()) {
      throw new InvalidInputException(what + " has invalid rows; nothing was trained. " + String.join(" ", problems)
          + " Fix or filter these rows (e.g. drop nulls and NaN, pad or cut vectors to one length).");
    }
    return expected;
  }

  private PartitionProfiles register(PartitionProfiles profiles) {
    spark.sparkContext().register(profiles);
    return profiles;
  }

  /**
   * Runs only the map side of {@code perMember}'s shuffle and waits for it; the member stage that follows finds
   * the map output registered and does not recompute it (Spark skips a map stage whose output is available).
   *
   * <p>{@code SparkContext.submitMapStage} is internal to Spark ({@code private[spark]} in Scala, public in the
   * bytecode); it is what adaptive query execution uses to run shuffle map stages and look at them before planning
   * what reads them, which is what we do with the profile. {@code TableReadOnceTest} fails if a Spark upgrade
   * changes this behaviour. A failed stage throws what {@code runJob} would throw (the job's own exception).
   */
  private void runMapStage(JavaPairRDD<MemberRowKey, LabeledRow> perMember) {
    ShuffleDependency<?, ?, ?> shuffle = (ShuffleDependency<?, ?, ?>) perMember.rdd().dependencies().head();
    if (shuffle.rdd().partitions().length == 0) {
      return; // nothing to read (Spark refuses a map stage without partitions); the check reports the empty table
    }
    SimpleFutureAction<MapOutputStatistics> stage = spark.sparkContext().submitMapStage(shuffle);
    try {
      Await.ready(stage, Duration.Inf());
    } catch (InterruptedException e) {
      stage.cancel();
      Thread.currentThread().interrupt();
      throw new DeepensException("interrupted while reading the training table", e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("an unbounded wait timed out", e);
    }
    Try<MapOutputStatistics> result = stage.value().get();
    if (result.isFailure()) {
      throw SparkEnsembleTrainer.<RuntimeException>rethrow(result.failed().get());
    }
  }

  /** Throws {@code t} as it is (a SparkException is checked in Java's eyes, not in Scala's). */
  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E rethrow(Throwable t) throws E {
    throw (E) t;
  }
}
