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
import io.deepens.core.spec.Placement;
import io.deepens.core.spec.Task;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.hyper.HyperDeepReport;
import io.deepens.core.hyper.HyperDeepSelection;
import io.deepens.core.hyper.HyperSearch;
import io.deepens.core.spec.HyperDeepSpec;
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
 *       members checkpoint every epoch and resume when retried. A hyper-deep ensemble ({@code ensemble.hyperDeep})
 *       runs two such stages on one shuffle: its pool of K candidates, then, after greedy selection on their
 *       validation outputs, the M retrained members ({@link #memberSlots}).</li>
 *   <li>Fit weights and temperature on the validation predictions, drop diverged members, publish.</li>
 * </ol>
 *
 * <p>With {@code data.placement: stream} step 1 only profiles the table(s) (the same pass with no copies: nothing is
 * shuffled), step 2 is the same check, and in step 3 each member's task reads the table's partitions itself every
 * epoch ({@link MemberStreamRDD}, {@link TableSplits}, ensemble-core's {@code MemberStream}). Both placements record
 * Spark's shuffle write bytes of the run in {@code provenance.timing} ({@link ShuffleWrites}).
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
    InvalidInputException.check(spec.ensemble().hyperDeep() == null || options.warmStartVersion() == null,
        "train: --warm-start does not apply to a hyper-deep ensemble (ensemble.hyperDeep): its members train with "
            + "hyperparameters chosen during the run; train without --warm-start");
    warnIfStoreIsNotShared(store, spark.sparkContext().master());
    boolean stream = spec.data().placement() == Placement.STREAM;
    ShuffleWrites shuffleWrites = ShuffleWrites.start(spark);
    List<MemberOutcome> outcomes;
    List<MemberOutcome> tasks; // every task's outcome, for the timing
    HyperDeepReport hyperDeep = null;
    TablePass pass;
    CheckedTables checked;
    long tMapped;
    long tMembers;
    try {
      pass = copyTables(table, validationTable, spec, options, stream); // 1
      tMapped = System.currentTimeMillis();
      checked = check(pass, spec, options); // 2
      tMembers = System.currentTimeMillis();
      StreamScans scans = stream ? streamScans(pass, checked, spec) : null;
      if (spec.ensemble().hyperDeep() == null) {
        int members = spec.ensemble().members();
        outcomes = runMembers(pass, scans, checked, spec, store, options, null,
            java.util.stream.IntStream.range(0, members).toArray(), members + " members", "member"); // 3
        tasks = outcomes;
      } else {
        HyperDeepRun h = trainHyperDeep(pass, scans, checked, spec, store, options); // 3: pool, selection, retraining
        outcomes = h.members();
        tasks = new ArrayList<>(h.pool());
        tasks.addAll(h.members());
        hyperDeep = h.report();
      }
    } finally {
      shuffleWrites.stop();
    }
    long tTrained = System.currentTimeMillis();
    RunTiming timing = RunTiming.of(tBegin, pass.startMillis, tMapped, tMembers, tTrained, tasks,
        pass.readNanos(checked), pass.passNanos(checked), spec.data().placement().name().toLowerCase(Locale.ROOT),
        shuffleWrites.bytesWritten());
    Result result = publish(store, spec, options, table, checked, outcomes, timing, hyperDeep); // 4
    LOG.info("timing: {}; publish {} s (where the time went; also in the manifest's provenance.timing)",
        timing.describe(), RunTiming.seconds(System.currentTimeMillis() - tTrained));
    return result;
  }

  /** Step 1's product: the member-keyed shuffle (map side written) and the profiles its pass filled. */
  private record TablePass(JavaPairRDD<MemberRowKey, LabeledRow> perMember, FeatureDecoder decoder,
      PartitionProfiles trainProfiles, int trainPartitions, org.apache.spark.sql.types.StructType valSchema,
      PartitionProfiles valProfiles, int valPartitions, long startMillis, JavaRDD<InternalRow> trainRdd,
      JavaRDD<InternalRow> valRdd, double fraction, long splitSeed, Dataset<Row> trainTable,
      Dataset<Row> valTable) {
    long readNanos(CheckedTables c) {
      return c.profile.readNanos + (c.valProfile == null ? 0 : c.valProfile.readNanos);
    }

    long passNanos(CheckedTables c) {
      return c.profile.passNanos + (c.valProfile == null ? 0 : c.valProfile.passNanos);
    }
  }

  /** Step 2's product: the tables' merged profiles, checked, and the split's sizes. */
  private record CheckedTables(TableProfile profile, TableProfile valProfile, int numFeatures, long trainRows,
      long valRows) {}

  /**
   * Step 1: one pass over the table(s), the shuffle's map side, which profiles every row while it copies it for every
   * member. Only the map stage runs; the member stage (step 3) reads its output.
   */
  private TablePass copyTables(Dataset<Row> table, Dataset<Row> validationTable, EnsembleSpec spec,
      Options options, boolean profileOnly) {
    table = trainingColumns(table, spec);
    validationTable = validationTable == null ? null : trainingColumns(validationTable, spec);
    int classes = spec.task() == Task.CLASSIFICATION ? spec.data().classes() : 0;
    FeatureDecoder decoder0 = FeatureDecoder.of(table.schema(), spec.data().features(), spec.data().label(), classes,
        spec.data().key(), -1); // the feature length of array and vector columns is learnt from the data
    long splitSeed = Seeds.derive(spec.ensemble().seed(), 0, SeedPurpose.VALIDATION_SPLIT, 0);
    double fraction = validationTable == null ? spec.data().validation().fraction() : 0.0;
    int members = memberSlots(spec);
    int copiesPerRow = profileOnly ? 0 : members; // the streaming placement's pass profiles and copies nothing
    long seed = spec.ensemble().seed();
    boolean bootstrap = spec.ensemble().bootstrap();
    PartitionProfiles trainProfiles = register(new PartitionProfiles(classes));
    JavaRDD<InternalRow> trainRdd = table.queryExecution().toRdd().toJavaRDD();
    MemberCopies trainCopies =
        new MemberCopies(decoder0, classes, copiesPerRow, seed, bootstrap, fraction, splitSeed, false, trainProfiles);
    JavaPairRDD<MemberRowKey, LabeledRow> copies =
        JavaPairRDD.fromJavaRDD(trainRdd.mapPartitionsWithIndex(trainCopies::apply, true));
    PartitionProfiles valProfiles = null;
    int valPartitions = 0;
    JavaRDD<InternalRow> valRdd = null;
    if (validationTable != null) {
      // the feature length is checked after the pass (step 2); columns that cannot match fail here already
      FeatureDecoder vd0 = FeatureDecoder.of(validationTable.schema(), spec.data().features(), spec.data().label(),
          classes, spec.data().key(), decoder0.numFeatures());
      valProfiles = register(new PartitionProfiles(classes));
      valRdd = validationTable.queryExecution().toRdd().toJavaRDD();
      valPartitions = valRdd.getNumPartitions();
      MemberCopies valCopies =
          new MemberCopies(vd0, classes, copiesPerRow, seed, false, 1.0, splitSeed, true, valProfiles);
      copies = copies.union(JavaPairRDD.fromJavaRDD(valRdd.mapPartitionsWithIndex(valCopies::apply, true)));
    }
    String tables = validationTable == null ? "table" : "tables";
    if (profileOnly) {
      spark.sparkContext().setJobDescription("deepens train " + options.runId() + ": read and check the " + tables
          + " (streaming placement: no copies)");
      long tMap = System.currentTimeMillis();
      long none = copies.count(); // runs the profiling pass; nothing is copied or shuffled
      if (none != 0) {
        throw new IllegalStateException("the profile pass produced " + none + " copies");
      }
      return new TablePass(null, decoder0, trainProfiles, trainRdd.getNumPartitions(),
          validationTable == null ? null : validationTable.schema(), valProfiles, valPartitions, tMap, trainRdd,
          valRdd, fraction, splitSeed, table, validationTable);
    }
    JavaPairRDD<MemberRowKey, LabeledRow> perMember =
        copies.partitionBy(new MemberRowKey.ByMember(members)); // each member's task orders its rows itself
    spark.sparkContext().setJobDescription("deepens train " + options.runId() + ": read, check and shuffle the "
        + tables + " for " + members + " members");
    long tMap = System.currentTimeMillis();
    runMapStage(perMember);
    return new TablePass(perMember, decoder0, trainProfiles, trainRdd.getNumPartitions(),
        validationTable == null ? null : validationTable.schema(), valProfiles, valPartitions, tMap, trainRdd,
        valRdd, fraction, splitSeed, table, validationTable);
  }

  /**
   * The table with only the columns training decodes (the features, the label, the key), so its scan reads nothing
   * else: Parquet and ORC then skip the other columns' bytes, which matters for a wide table in a lake, and most of
   * all to the streaming placement, which reads the table every epoch. A table that lacks one of them is returned
   * as it is, for the decoder to say which column is missing and what the table has.
   */
  static Dataset<Row> trainingColumns(Dataset<Row> table, EnsembleSpec spec) {
    java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>(spec.data().features());
    if (spec.data().label() != null) {
      names.add(spec.data().label());
    }
    if (spec.data().key() != null) {
      names.add(spec.data().key());
    }
    List<String> columns = Arrays.asList(table.columns());
    if (!columns.containsAll(names) || names.size() == columns.size()) {
      return table;
    }
    org.apache.spark.sql.Column[] select = names.stream()
        .map(n -> org.apache.spark.sql.functions.col("`" + n.replace("`", "``") + "`"))
        .toArray(org.apache.spark.sql.Column[]::new);
    return table.select(select);
  }

  /**
   * Member indices the shuffle holds copies for: M, or for a hyper-deep ensemble K + M (the pool's candidates
   * 0..K-1, then the retrained members K..K+M-1, each with its own seeds, order and checkpoints).
   */
  static int memberSlots(EnsembleSpec spec) {
    HyperDeepSpec h = spec.ensemble().hyperDeep();
    return h == null ? spec.ensemble().members() : h.pool() + spec.ensemble().members();
  }

  /** Step 2: check the profiles before any member trains; fails with every problem found. */
  private static CheckedTables check(TablePass pass, EnsembleSpec spec, Options options) {
    TableProfile profile = pass.trainProfiles().merged(pass.trainPartitions());
    int numFeatures = checkProfile(profile, pass.decoder(), "training table " + options.dataUri());
    NetworkFactory.validate(spec, numFeatures); // the network fits the rows (errors name network.config etc.)
    TableProfile valProfile = null;
    if (pass.valProfiles() != null) {
      int classes = spec.task() == Task.CLASSIFICATION ? spec.data().classes() : 0;
      FeatureDecoder vd = FeatureDecoder.of(pass.valSchema(), spec.data().features(), spec.data().label(),
          classes, spec.data().key(), numFeatures);
      valProfile = pass.valProfiles().merged(pass.valPartitions());
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
        profile.rows, spec.data().validation().fraction());
    InvalidInputException.check(trainRows > 0, "no training rows remain after the validation split");
    LOG.info("training table: {} rows ({} train, {} validation), {} features, content hash {}", profile.rows,
        trainRows, valRows, numFeatures, profile.contentHashHex());
    return new CheckedTables(profile, valProfile, numFeatures, trainRows, valRows);
  }

  /** Spark's settings for the rows its vectorized Parquet and ORC readers decode per batch. */
  private static final String[] READER_BATCH_KEYS = {
    "spark.sql.parquet.columnarReaderBatchSize", "spark.sql.orc.columnarReaderBatchSize"};

  /**
   * The scan the streaming members read: {@code table}'s, planned again with Spark's vectorized readers decoding
   * batches of at most {@link MemberStreamRDD#READER_BATCH_KIB} KiB of feature values (83 rows of 784 floats at the
   * default 256 KiB) instead of 4096 rows. Every member opens every split again each epoch, and each opening
   * allocates the reader's column vectors anew: at 4096 rows of 784 floats these are 12.8 MB arrays, which the JVM's
   * G1 collector allocates outside its young generation, grown by doubling, for every split of every epoch (at
   * 256 KiB the first epoch of two members on Fashion-MNIST ran about 30 % faster here, the later ones about 5 %:
   * scripts/bench/README.md, "Not waiting on the source"). Never more rows than Spark's own setting; the same
   * partitions as the profile pass, or that pass's scan is used unchanged.
   */
  private JavaRDD<InternalRow> memberScan(Dataset<Row> table, JavaRDD<InternalRow> profiled, int numFeatures) {
    long kib = spark.sparkContext().getConf().getLong(MemberStreamRDD.READER_BATCH_KIB,
        MemberStreamRDD.DEFAULT_READER_BATCH_KIB);
    if (kib <= 0 || table == null) {
      return profiled;
    }
    int rows = (int) Math.max(16, Math.min(4096, (kib << 10) / (4L * Math.max(1, numFeatures))));
    Map<String, String> previous = new LinkedHashMap<>();
    for (String key : READER_BATCH_KEYS) {
      String set = spark.conf().getOption(key).getOrElse(() -> null);
      previous.put(key, set);
      int configured = set == null ? 4096 : Integer.parseInt(set.trim());
      spark.conf().set(key, Integer.toString(Math.min(rows, configured)));
    }
    JavaRDD<InternalRow> scan;
    try {
      // a fresh plan of the same query: the profile pass's plan has built its readers already
      scan = Dataset.ofRows(spark, table.logicalPlan()).queryExecution().toRdd().toJavaRDD();
    } finally {
      previous.forEach((key, value) -> {
        if (value == null) {
          spark.conf().unset(key);
        } else {
          spark.conf().set(key, value);
        }
      });
    }
    if (scan.getNumPartitions() != profiled.getNumPartitions()) {
      LOG.warn("the streaming members' scan has {} partitions, the profile pass's {}: the members read the profile "
          + "pass's scan, with Spark's own reader batches", scan.getNumPartitions(), profiled.getNumPartitions());
      return profiled;
    }
    LOG.info("streaming members decode the table in batches of {} rows", rows);
    return scan;
  }

  /** The scans and decoders a run's streaming members read, planned once per run ({@link #memberScan}). */
  private record StreamScans(JavaRDD<InternalRow> train, JavaRDD<InternalRow> validation, FeatureDecoder trainDecoder,
      FeatureDecoder validationDecoder, double fraction, long splitSeed) {}

  private StreamScans streamScans(TablePass pass, CheckedTables checked, EnsembleSpec spec) {
    int classes = spec.task() == Task.CLASSIFICATION ? spec.data().classes() : 0;
    FeatureDecoder trainDecoder = pass.decoder().withNumFeatures(checked.numFeatures());
    FeatureDecoder valDecoder = pass.valSchema() == null ? null : FeatureDecoder.of(pass.valSchema(),
        spec.data().features(), spec.data().label(), classes, spec.data().key(), checked.numFeatures());
    JavaRDD<InternalRow> trainScan = memberScan(pass.trainTable(), pass.trainRdd(), checked.numFeatures());
    JavaRDD<InternalRow> valScan = pass.valRdd() == null ? null
        : memberScan(pass.valTable(), pass.valRdd(), checked.numFeatures());
    return new StreamScans(trainScan, valScan, trainDecoder, valDecoder, pass.fraction(), pass.splitSeed());
  }

  /**
   * Step 3: member tasks for the member indices {@code ids}, member i training {@code specs[i]} (the run's spec when
   * {@code specs} is null). With {@code scans} null each task reads its partition of the member-keyed shuffle written
   * in step 1 ({@link MemberTask#run}); otherwise each reads the table's splits itself every epoch, in its own order,
   * with no shuffle ({@link MemberStreamRDD}, the streaming placement). Returns their outcomes by member index.
   */
  private List<MemberOutcome> runMembers(TablePass pass, StreamScans scans, CheckedTables checked, EnsembleSpec spec,
      EnsembleStore store, Options options, String[] specs, int[] ids, String what, String label) {
    String kill = spark.sparkContext().getConf().get(MemberTask.KILL_AFTER_EPOCH, "");
    MemberTask task = new MemberTask(spec.toJson(), store.uri(), options.runId(), checked.numFeatures(),
        new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()), kill, options.warmStartVersion(),
        specs);
    int slots = ids[ids.length - 1] + 1;
    JavaRDD<MemberOutcome> stage;
    if (scans == null) {
      stage = pass.perMember().mapPartitionsWithIndex(
          (Integer i, Iterator<Tuple2<MemberRowKey, LabeledRow>> rows) -> task.run(i, rows), true);
    } else {
      task.killMidEpoch = spark.sparkContext().getConf().get(MemberTask.KILL_MID_EPOCH, "");
      task.expectedValidationRows = (int) Math.min(Integer.MAX_VALUE - 8, checked.valRows());
      stage = new MemberStreamRDD(scans.train().rdd(), scans.validation() == null ? null : scans.validation().rdd(),
          slots, task, scans.trainDecoder(), scans.validationDecoder(), scans.fraction(), scans.splitSeed())
          .toJavaRDD();
    }
    spark.sparkContext().setJobDescription("deepens train " + options.runId() + ": " + what
        + (scans == null ? "" : " streaming the table"));
    List<MemberOutcome> outcomes = new ArrayList<>();
    try (ProgressMonitor monitor =
        new ProgressMonitor(store, options.runId(), ids[0], slots, spec.totalEpochs(), 2000)) {
      for (List<MemberOutcome> part : stage.collectPartitions(ids)) {
        outcomes.addAll(part);
      }
    }
    outcomes.sort(Comparator.comparingInt(o -> o.member));
    for (MemberOutcome o : outcomes) {
      LOG.info("{} {}: {} ({} train rows{}, executor {} on {}, attempt {}{})", label, o.member, o.status, o.trainRows,
          scans == null ? "" : " streamed", o.executorId, o.host, o.attempt,
          o.gpuAddresses.length > 0 ? ", GPU " + String.join(",", o.gpuAddresses) : "");
    }
    return outcomes;
  }

  /** Step 3 of a hyper-deep ensemble: the pool's and the retrained members' outcomes, and the manifest's record. */
  private record HyperDeepRun(List<MemberOutcome> pool, List<MemberOutcome> members, HyperDeepReport report) {}

  /**
   * Step 3 of a hyper-deep ensemble (Wenzel et al. 2020): the K candidates train as K parallel tasks on partitions
   * 0..K-1 of the member-keyed shuffle, each with its own hyperparameters ({@link HyperSearch}) and its own seeds;
   * greedy selection on their validation outputs picks settings ({@link HyperDeepSelection}); then the M published
   * members train as M parallel tasks on partitions K..K+M-1 of the same shuffle (the table is not read again),
   * member K + j with the setting allocated to it and fresh seeds derived from its own index. With
   * {@code data.placement: stream} both stages are streaming member tasks instead ({@link #runMembers}), candidate c
   * and member K + j each reading the table in the order of its own index. Checkpoints are per member index and carry
   * the member's own spec hash, so a rerun of the run id resumes every candidate and member from its own checkpoints,
   * and the selection, a function of the pool's outputs, comes out the same.
   */
  private HyperDeepRun trainHyperDeep(TablePass pass, StreamScans scans, CheckedTables checked, EnsembleSpec spec,
      EnsembleStore store, Options options) {
    HyperDeepSpec h = spec.ensemble().hyperDeep();
    int k = h.pool();
    int m = spec.ensemble().members();
    List<HyperSearch.Candidate> candidates = HyperSearch.pool(spec);
    String[] specs = new String[k + m];
    int[] poolIds = new int[k];
    for (int c = 0; c < k; c++) {
      EnsembleSpec cs = candidates.get(c).apply(spec);
      NetworkFactory.validate(cs, checked.numFeatures());
      specs[c] = cs.toJson();
      poolIds[c] = c;
      LOG.info("hyper-deep candidate {}: learningRate {}, weightDecay {}, dropout {}, hidden {}", c,
          candidates.get(c).learningRate(), candidates.get(c).weightDecay(), candidates.get(c).dropout(),
          candidates.get(c).hidden());
    }
    List<MemberOutcome> pool = runMembers(pass, scans, checked, spec, store, options, specs, poolIds,
        k + " hyper-deep candidates", "candidate");
    float[] labels = null;
    long[] keys = null;
    List<HyperDeepSelection.PoolOutcome> poolOutcomes = new ArrayList<>();
    for (MemberOutcome o : pool) {
      MemberPredictions p = null;
      if (o.usable()) {
        if (keys == null) {
          keys = o.validationKeys;
          labels = o.validationLabels;
        } else if (!Arrays.equals(keys, o.validationKeys)) {
          throw new DeepensException("candidates saw different validation rows (candidate " + o.member
              + "): the shuffle did not deliver the same validation set to every candidate, or the table changed while "
              + "the candidates read it");
        }
        p = new MemberPredictions(o.member, o.validationOutputs, o.outputs, o.samples);
      }
      poolOutcomes.add(new HyperDeepSelection.PoolOutcome(o.member, o.status, p, epochsRun(o.reportJson),
          reportInt(o.reportJson, "resumedFromEpoch"),
          EnsembleSpec.fromJson(specs[o.member]).withResources(
              new io.deepens.core.spec.ResourcesSpec(o.threads, spec.resources().gpusPerMember())).sha256()));
    }
    if (labels == null) {
      labels = pool.get(0).validationLabels; // every candidate diverged: select reports it
    }
    HyperDeepSelection.Plan plan = HyperDeepSelection.select(spec, candidates, poolOutcomes, labels);
    LOG.info("hyper-deep selection: {} ({}); members {} retrain candidates {}",
        io.deepens.core.hyper.GreedySelection.describe(plan.selection().path()), plan.selection().stoppedBecause(),
        m, plan.allocation());
    int[] memberIds = new int[m];
    List<Integer> retrained = new ArrayList<>();
    for (int j = 0; j < m; j++) {
      memberIds[j] = k + j;
      retrained.add(k + j);
      specs[k + j] = candidates.get(plan.allocation().get(j)).apply(spec).toJson();
    }
    List<MemberOutcome> members = runMembers(pass, scans, checked, spec, store, options, specs, memberIds,
        m + " hyper-deep members (retrained)", "member");
    long retrainEpochs = members.stream().mapToLong(o -> epochsRun(o.reportJson)).sum();
    return new HyperDeepRun(pool, members,
        HyperDeepSelection.report(spec, plan, retrained, retrainEpochs));
  }

  /** {@code report.epochsRun} of a member task's report JSON (0 when absent). */
  static int epochsRun(String reportJson) {
    return reportInt(reportJson, "epochsRun");
  }

  /** {@code report.<key>} of a member task's report JSON (0 when absent). */
  static int reportInt(String reportJson, String key) {
    if (reportJson == null) {
      return 0;
    }
    try {
      return EnsembleStore.json().readTree(reportJson).path("report").path(key).asInt(0);
    } catch (java.io.IOException e) {
      throw new DeepensException("invalid member report JSON: " + e.getMessage(), e);
    }
  }

  /** Step 4: fit weights and temperature, drop diverged members, check the members' files, publish. */
  private Result publish(EnsembleStore store, EnsembleSpec spec, Options options, Dataset<Row> table,
      CheckedTables checked, List<MemberOutcome> outcomes, RunTiming timing, HyperDeepReport hyperDeep) {
    boolean classification = spec.task() == Task.CLASSIFICATION;
    TableProfile profile = checked.profile();
    Manifest.DataFingerprint fingerprint = new Manifest.DataFingerprint(options.dataUri(), profile.rows
        + (checked.valProfile() == null ? 0 : checked.valProfile().rows), checked.trainRows(), checked.valRows(),
        profile.contentHashHex(), table.schema().simpleString());
    EnsembleAggregator.Fit fit = aggregate(spec, outcomes);
    checkMemberFilesVisible(store, outcomes, fit.usedMembers());
    EnsembleStore.Staging staging = store.beginVersion(options.runId());
    List<Manifest.MemberEntry> entries = new ArrayList<>();
    for (MemberOutcome o : outcomes) {
      String file = null;
      String sha = null;
      if (fit.usedMembers().contains(o.member)) {
        file = "members/" + EnsembleStore.memberName(o.member) + ".zip";
        sha = o.modelSha256; // checkMemberFilesVisible read the file and found this SHA-256
        staging.moveIn(new org.apache.hadoop.fs.Path(o.modelPath), file, sha);
      }
      entries.add(new Manifest.MemberEntry(o.member, file, sha, o.status, readTree(o.reportJson)));
    }
    Map<String, Object> provenance = new LinkedHashMap<>(options.provenance());
    provenance.put("sparkVersion", spark.version());
    provenance.put("master", spark.sparkContext().master());
    provenance.put("applicationId", spark.sparkContext().applicationId());
    provenance.put("timing", timing);
    provenance.put("scoringCost", scoringCost(spec, fit.usedMembers().size()));
    int classes = classification ? spec.data().classes() : 1;
    int format = spec.ensemble().swag() == null ? 1 : Manifest.FORMAT_VERSION;
    String version = store.publish(staging, v -> new Manifest(format, v, options.runId(),
        java.time.Instant.now().toString(), classification ? "classification" : "regression",
        checked.numFeatures(), classes, readTree(spec.toJson()), spec.sha256(), entries, fit.weights(),
        fit.temperature(), fit.validationMetrics(), fingerprint, staging.files(), provenance, hyperDeep));
    store.deleteRecursively(store.runDir(options.runId()));
    LOG.info("published {} version {} ({} of {} members, weights {}, temperature {})", store.uri(), version,
        fit.usedMembers().size(), spec.ensemble().members(), Arrays.toString(fit.weights()), fit.temperature());
    return new Result(version, store.readManifest(version), outcomes);
  }

  /**
   * What scoring a row costs: {@code componentsPerMember} (SWAG samples or MC dropout passes, else 1) and
   * {@code forwardPassesPerRow} = published members × components per member.
   */
  static Map<String, Object> scoringCost(EnsembleSpec spec, int publishedMembers) {
    int perMember = spec.ensemble().componentsPerMember();
    Map<String, Object> cost = new LinkedHashMap<>();
    cost.put("componentsPerMember", perMember);
    cost.put("forwardPassesPerRow", (long) publishedMembers * perMember);
    return cost;
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

  static final String SHARED_STORE_HINT = "the store must be a file system that the driver and every executor host "
      + "share: hdfs://, s3a:// (or another object store), or a shared mount (NFS) at the same path on every host";

  /**
   * A {@code file:} store on a master whose executors may run on other hosts: members write their files where their
   * executor runs, which the driver sees only through a shared mount. Warned at start, checked before publishing.
   */
  static void warnIfStoreIsNotShared(EnsembleStore store, String master) {
    if ("file".equals(store.root().toUri().getScheme()) && !SparkSessions.isSingleHostMaster(master)) {
      LOG.warn("the store {} is on a local file system and the master {} can run executors on other hosts: {}. A "
          + "local path works only when it is such a shared mount; otherwise the run trains and then publishes "
          + "nothing.", store.uri(), master, SHARED_STORE_HINT);
    }
  }

  /**
   * Before anything is published: every member file the manifest will list exists where the driver reads it and
   * has the SHA-256 its task reported. When a task wrote its file to a disk the driver does not see (a {@code file:}
   * store whose path is local to each host), or the file changed since, nothing is staged or published and the
   * previous version stays the one {@code LATEST} names.
   */
  static void checkMemberFilesVisible(EnsembleStore store, List<MemberOutcome> outcomes, java.util.Collection<Integer> used) {
    List<String> problems = new ArrayList<>();
    org.apache.hadoop.fs.FileSystem fs = store.fileSystem();
    for (MemberOutcome o : outcomes) {
      if (!used.contains(o.member)) {
        continue;
      }
      org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(o.modelPath);
      String where = String.format(Locale.ROOT, "member %d's file %s (written by executor %s on %s)", o.member,
          o.modelPath, o.executorId, o.host);
      try (java.io.InputStream in = fs.open(file)) {
        String sha = io.deepens.core.store.Sha256.of(in);
        if (!sha.equals(o.modelSha256)) {
          problems.add(where + " has SHA-256 " + sha + " where the driver reads it, but its task wrote "
              + o.modelSha256);
        }
      } catch (java.io.FileNotFoundException e) {
        problems.add(where + " does not exist where the driver reads it");
      } catch (java.io.IOException e) {
        throw new DeepensException("cannot read " + where + ": " + e.getMessage(), e);
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidInputException("nothing was published: " + String.join("; ", problems) + ". The executors "
          + "and the driver do not see the same files in " + store.uri() + ": " + SHARED_STORE_HINT + ". Rerun "
          + "with such a --store.");
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
