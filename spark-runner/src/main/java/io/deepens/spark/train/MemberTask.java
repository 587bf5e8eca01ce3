package io.deepens.spark.train;

import io.deepens.core.DeepensException;
import io.deepens.core.network.NativeWarmUp;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.ResourcesSpec;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.store.Sha256;
import io.deepens.core.store.StoreCheckpointer;
import io.deepens.core.train.Checkpointer;
import io.deepens.core.train.MemberCheckpoint;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.train.McDropout;
import io.deepens.core.train.MemberModels;
import io.deepens.core.train.MemberResult;
import io.deepens.core.train.MemberTrainer;
import io.deepens.core.train.TrainingSet;
import io.deepens.core.train.TrainingSetBuilder;
import io.deepens.core.train.WarmStartCheckpointer;
import io.deepens.core.lean.LeanPath;
import io.deepens.spark.data.LabeledRow;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.SerializableConfiguration;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The body of one member's Spark task: cache the member's rows locally, bind the assigned GPU (if any), set the
 * thread count from {@code spark.task.cpus}, train with ensemble-core's {@link MemberTrainer} (resuming from the
 * member's last checkpoint when this is a retry), write the final model to the store and return a small
 * {@link MemberOutcome}.
 */
public final class MemberTask implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(MemberTask.class);

  /** Spark conf key of the test-only fault hook: {@code member:epoch} kills the executor JVM after that epoch's checkpoint, first attempt only. */
  public static final String KILL_AFTER_EPOCH = "spark.deepens.test.killAfterEpoch";
  /**
   * Test fault: {@code hide:M} deletes member M's final file after its task reported it (as if the task had written
   * it to a disk the driver cannot see), {@code alter:M} rewrites it with other bytes.
   */
  public static final String MEMBER_FILE_FAULT = "spark.deepens.test.memberFileFault";
  /**
   * Spark conf key of the test-only fault hook of the streaming placement: {@code member:epoch:rows} kills the
   * executor JVM after the first checkpoint within that epoch at or past that many rows, first attempt only.
   */
  public static final String KILL_MID_EPOCH = "spark.deepens.test.killMidEpoch";
  /** Spark conf key: the heap a streaming member may give its validation rows, in MiB. */
  public static final String VALIDATION_BUDGET_MIB = "spark.deepens.stream.validationBudgetMiB";
  static final long DEFAULT_VALIDATION_BUDGET_MIB = 512;

  final String specJson;
  final String storeUri;
  final String runId;
  final int numFeatures;
  final SerializableConfiguration hadoopConf;
  final String killAfterEpoch;
  /** Version of the same store whose members initialise this run's members (warm start), or null. */
  final String warmStartVersion;
  /** Streaming placement: the validation rows the driver's profile counted (allocation hint), else 0. */
  int expectedValidationRows;
  /** Streaming placement: the {@link #KILL_MID_EPOCH} fault, or "". */
  String killMidEpoch = "";
  /**
   * Per member index, the spec JSON that member trains with (a hyper-deep candidate's or retrained member's own
   * hyperparameters); null, or a null entry, means {@link #specJson}.
   */
  final String[] memberSpecs;

  public MemberTask(String specJson, String storeUri, String runId, int numFeatures,
      SerializableConfiguration hadoopConf, String killAfterEpoch) {
    this(specJson, storeUri, runId, numFeatures, hadoopConf, killAfterEpoch, null);
  }

  public MemberTask(String specJson, String storeUri, String runId, int numFeatures,
      SerializableConfiguration hadoopConf, String killAfterEpoch, String warmStartVersion) {
    this(specJson, storeUri, runId, numFeatures, hadoopConf, killAfterEpoch, warmStartVersion, null);
  }

  /**
   * @param memberSpecs per member index, the spec JSON of that member (null entries: {@code specJson}); null for
   *     one spec for all
   */
  public MemberTask(String specJson, String storeUri, String runId, int numFeatures,
      SerializableConfiguration hadoopConf, String killAfterEpoch, String warmStartVersion, String[] memberSpecs) {
    this.memberSpecs = memberSpecs == null ? null : memberSpecs.clone();
    this.warmStartVersion = warmStartVersion;
    this.specJson = specJson;
    this.storeUri = storeUri;
    this.runId = runId;
    this.numFeatures = numFeatures;
    this.hadoopConf = hadoopConf;
    this.killAfterEpoch = killAfterEpoch;
  }

  /**
   * The host this task runs on, as the cluster knows it: the address the executor's block manager registered with
   * the driver (what Spark's UI and the YARN or standalone master show), or this JVM's host name outside Spark.
   */
  static String executorHost() {
    SparkEnv env = SparkEnv.get();
    if (env != null && env.blockManager() != null && env.blockManager().blockManagerId() != null) {
      return env.blockManager().blockManagerId().host();
    }
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "unknown";
    }
  }

  /** What both task bodies begin with: the member's spec, its outcome so far, and what became of its GPU. */
  private record Start(EnsembleSpec spec, MemberOutcome out, GpuBinding binding) {}

  /**
   * Reads the member's spec, records where and how its task runs (attempt, executor, host, threads, GPU addresses)
   * and binds the assigned GPU; threads follow {@code spark.task.cpus} (the member trainer applies them to ND4J,
   * OpenMP and BLAS), in local mode too.
   */
  private Start start(int member, long t0) {
    EnsembleSpec spec = EnsembleSpec.fromJson(specOf(member));
    TaskContext tc = TaskContext.get();
    MemberOutcome out = new MemberOutcome();
    out.taskStartMillis = t0;
    out.member = member;
    out.attempt = tc == null ? 0 : tc.attemptNumber();
    out.executorId = SparkEnv.get() == null ? "driver" : SparkEnv.get().executorId();
    out.host = executorHost();
    out.threads = tc == null ? 1 : Math.max(1, tc.cpus());
    out.gpuAddresses = gpuAddresses(tc);
    GpuBinding binding = bindDevice(member, out.gpuAddresses);
    spec = spec.withResources(new ResourcesSpec(out.threads, spec.resources().gpusPerMember()));
    return new Start(spec, out, binding);
  }

  public Iterator<MemberOutcome> run(int member, Iterator<Tuple2<MemberRowKey, LabeledRow>> rows) throws IOException {
    long t0 = System.currentTimeMillis();
    NativeWarmUp.inBackground(); // while the rows are stored (if the table pass did not start it here already)
    Start started = start(member, t0);
    EnsembleSpec spec = started.spec();
    MemberOutcome out = started.out();
    GpuBinding binding = started.binding();

    Path spill = Files.createTempDirectory(localDir(), "deepens-m" + member + "-");
    // Spark hands the rows over in the order it fetched them, which can differ from run to run. Each row is stored as
    // it comes (Spark does not sort them: that would hold every row as an object, or spill and merge them on disk
    // when they do not fit), and each set is then read in the order of its shuffle keys: training rows in the order
    // drawn from the member's seed, validation rows by row key, the same in every member.
    RowKeys trainKeys = new RowKeys();
    RowKeys valKeys = new RowKeys();
    TrainingSetBuilder train = new TrainingSetBuilder(numFeatures, spill.resolve("train"));
    TrainingSetBuilder val = new TrainingSetBuilder(numFeatures, spill.resolve("validation"));
    try {
      while (rows.hasNext()) {
        Tuple2<MemberRowKey, LabeledRow> t = rows.next();
        MemberRowKey k = t._1();
        if (k.member != member) {
          throw new IllegalStateException("row for member " + k.member + " reached member " + member);
        }
        checkRow(member, t._2());
        if (k.validation) {
          val.add(t._2().features, t._2().label);
          valKeys.add(k.sortKey, k.rowKey);
        } else {
          train.add(t._2().features, t._2().label);
          trainKeys.add(k.sortKey, k.rowKey);
        }
      }
      int[] valOrder = valKeys.order();
      EnsembleStore store = EnsembleStore.open(storeUri, hadoopConf.value());
      Checkpointer checkpointer = withFaultHook(warmStart(store, spec, new StoreCheckpointer(store, runId)), member,
          out.attempt);
      try (TrainingSet trainSet = train.build(trainKeys.order()); TrainingSet valSet = val.build(valOrder)) {
        long t1 = System.currentTimeMillis();
        out.receiveMillis = t1 - t0;
        out.trainRows = trainSet.numRows();
        out.validationKeys = new long[valOrder.length];
        for (int i = 0; i < valOrder.length; i++) {
          out.validationKeys[i] = valKeys.rowKeys[valOrder[i]];
        }
        out.validationLabels = new float[valSet.numRows()];
        for (int i = 0; i < out.validationLabels.length; i++) {
          out.validationLabels[i] = valSet.label(i);
        }
        LOG.info("member {}: {} training rows, {} validation rows, {} threads, attempt {}, executor {} on {}{}",
            member, trainSet.numRows(), valSet.numRows(), out.threads, out.attempt, out.executorId, out.host,
            out.gpuAddresses.length > 0 ? ", GPU " + String.join(",", out.gpuAddresses) : "");
        ProgressWriter progress = new ProgressWriter(store, runId, member, spec.totalEpochs());
        MemberResult result = MemberTrainer.train(spec, member, trainSet, valSet, checkpointer, progress);
        complete(out, spec, member, result, valSet, store, binding, t1);
      }
    } finally {
      train.close(); // deletes the file of a builder that was never built (rows refused, or a failure on the way)
      val.close();
      deleteQuietly(spill);
    }
    return List.of(out).iterator();
  }

  /**
   * After training: the member's report, its final model in the store, its outputs on the validation rows (whose
   * keys and labels the caller has set); {@code t1} is when training began.
   */
  private void complete(MemberOutcome out, EnsembleSpec spec, int member, MemberResult result, TrainingSet valSet,
      EnsembleStore store, GpuBinding binding, long t1) throws IOException {
    long t2 = System.currentTimeMillis();
    out.trainMillis = t2 - t1;
    out.status = result.report().status().name();
    Map<String, Object> report = new java.util.LinkedHashMap<>();
    report.put("report", result.report());
    report.put("executorId", out.executorId);
    report.put("host", out.host);
    report.put("attempt", out.attempt);
    report.put("threads", out.threads);
    report.put("gpuAddresses", List.of(out.gpuAddresses));
    report.put("gpuBinding", binding);
    out.reportJson = EnsembleStore.json().writeValueAsString(report);
    if (result.network() != null && !"DIVERGED".equals(out.status)) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      MemberModels.write(result.network(), result.swag(), bytes);
      org.apache.hadoop.fs.Path finalPath =
          new org.apache.hadoop.fs.Path(store.memberRunDir(runId, member), "final.zip");
      byte[] model = bytes.toByteArray();
      store.writeAtomically(finalPath, model);
      out.modelPath = finalPath.toString();
      out.modelSha256 = Sha256.of(model);
      memberFileFault(store, finalPath, member, model);
      int n = valSet.numRows();
      int mc = spec.ensemble().mcDropoutSamples();
      out.samples = spec.ensemble().componentsPerMember();
      if (result.swag() != null && n > 0) {
        // MultiSWAG: the member's components are its S SWAG samples, the same ones scoring draws
        float[] x = new float[n * numFeatures];
        for (int i = 0; i < n; i++) {
          valSet.copyFeatures(i, x, i * numFeatures);
        }
        io.deepens.core.network.MemberNetwork[] draws = MemberModels.swagSamples(result.network(), result.swag(),
            spec.ensemble().swag().samples(), spec.ensemble().swag().scale(), spec.ensemble().seed(), member);
        float[][] each = new float[draws.length][];
        for (int s = 0; s < draws.length; s++) {
          each[s] = MemberModels.predict(draws[s], x, n, numFeatures);
        }
        out.validationOutputs = concat(each);
      } else if (spec.data().placement() == io.deepens.core.spec.Placement.STREAM && mc == 0 && n > 0) {
        // streaming: the validation rows are already the member's largest allocation; predict them in chunks
        // instead of copying them whole once more
        out.validationOutputs = predictInChunks(result.network(), valSet, spec.outputs());
      } else {
        float[] x = new float[n * numFeatures];
        for (int i = 0; i < n; i++) {
          valSet.copyFeatures(i, x, i * numFeatures);
        }
        out.validationOutputs = mc == 0 || n == 0 ? MemberModels.predict(result.network(), x, n, numFeatures)
            : concat(McDropout.sample(result.network(), x, n, numFeatures, mc,
                Seeds.derive(spec.ensemble().seed(), member, SeedPurpose.MC_VALIDATION, 0)));
      }
      out.outputs = n == 0 ? 0 : out.validationOutputs.length / (n * out.samples);
    }
    out.finishMillis = System.currentTimeMillis() - t2;
  }

  /**
   * The body of a streaming member's task ({@code data.placement: stream}): no rows arrive; the member reads the
   * table's splits itself every epoch ({@link MemberStreamRDD}), through its shuffle buffer, and holds only the
   * validation rows (within {@link #VALIDATION_BUDGET_MIB}).
   */
  public Iterator<MemberOutcome> runStream(int member, io.deepens.core.stream.SplitTable train,
      io.deepens.core.stream.SplitTable validation) throws IOException {
    long t0 = System.currentTimeMillis();
    NativeWarmUp.inBackground();
    Start started = start(member, t0);
    EnsembleSpec spec = started.spec();
    MemberOutcome out = started.out();
    GpuBinding binding = started.binding();
    long budget = (SparkEnv.get() == null ? DEFAULT_VALIDATION_BUDGET_MIB
        : SparkEnv.get().conf().getLong(VALIDATION_BUDGET_MIB, DEFAULT_VALIDATION_BUDGET_MIB)) << 20;
    io.deepens.core.stream.MemberStream stream = new io.deepens.core.stream.MemberStream(train, validation,
        numFeatures, spec.ensemble().seed(), member, spec.ensemble().bootstrap(), spec.data().shuffleBuffer(), budget,
        expectedValidationRows);
    EnsembleStore store = EnsembleStore.open(storeUri, hadoopConf.value());
    Checkpointer checkpointer = withFaultHook(warmStart(store, spec, new StoreCheckpointer(store, runId)), member,
        out.attempt);
    long t1 = System.currentTimeMillis();
    out.receiveMillis = t1 - t0;
    LOG.info("member {}: streaming {} splits{} through a buffer of {} rows, {} threads, attempt {}, executor {} on "
        + "{}", member, train.numSplits(), validation == null ? "" : " (+ " + validation.numSplits()
        + " validation splits)", spec.data().shuffleBuffer(), out.threads, out.attempt, out.executorId, out.host);
    ProgressWriter progress = new ProgressWriter(store, runId, member, spec.totalEpochs());
    MemberResult result;
    TrainingSet valSet;
    try (stream) { // an epoch read ahead but not trained (early stopping) stops its readers here
      result = MemberTrainer.train(spec, member, stream, checkpointer, progress);
      out.trainRows = stream.trainRows();
      valSet = stream.validation();
      out.validationKeys = stream.validationKeys();
    }
    out.validationLabels = new float[valSet.numRows()];
    for (int i = 0; i < out.validationLabels.length; i++) {
      out.validationLabels[i] = valSet.label(i);
    }
    complete(out, spec, member, result, valSet, store, binding, t1);
    return List.of(out).iterator();
  }

  /** The spec JSON member {@code member} trains with. */
  String specOf(int member) {
    if (memberSpecs != null && member < memberSpecs.length && memberSpecs[member] != null) {
      return memberSpecs[member];
    }
    return specJson;
  }

  private static void memberFileFault(EnsembleStore store, org.apache.hadoop.fs.Path file, int member, byte[] model)
      throws IOException {
    String fault = SparkEnv.get() == null ? "" : SparkEnv.get().conf().get(MEMBER_FILE_FAULT, "");
    if (fault.equals("hide:" + member)) {
      LOG.warn("test fault {}: deleting {}", fault, file);
      store.fileSystem().delete(file, false);
    } else if (fault.equals("alter:" + member)) {
      LOG.warn("test fault {}: rewriting {}", fault, file);
      byte[] other = model.clone();
      other[other.length / 2] ^= 1;
      store.writeAtomically(file, other);
    }
  }

  /** The shuffle keys of a member's rows in the order the rows arrived; growable primitive arrays. */
  static final class RowKeys {
    long[] sortKeys = new long[1024];
    long[] rowKeys = new long[1024];
    int size;

    void add(long sortKey, long rowKey) {
      if (size == sortKeys.length) {
        int cap = (int) Math.min(Integer.MAX_VALUE - 8, 2L * size);
        sortKeys = java.util.Arrays.copyOf(sortKeys, cap);
        rowKeys = java.util.Arrays.copyOf(rowKeys, cap);
      }
      sortKeys[size] = sortKey;
      rowKeys[size] = rowKey;
      size++;
    }

    /**
     * The arrival numbers of the rows sorted by (sort key, row key), the order {@link MemberRowKey.Order} gives
     * within one member and one set. A stable merge sort on primitive arrays: 16 bytes per row besides the result.
     */
    int[] order() {
      int n = size;
      int[] idx = new int[n];
      for (int i = 0; i < n; i++) {
        idx[i] = i;
      }
      int[] tmp = new int[n];
      for (long width = 1; width < n; width *= 2) {
        for (long lo = 0; lo < n - width; lo += 2 * width) {
          merge(idx, tmp, (int) lo, (int) (lo + width), (int) Math.min(lo + 2 * width, n));
        }
      }
      return idx;
    }

    private void merge(int[] idx, int[] tmp, int lo, int mid, int hi) {
      int i = lo;
      int j = mid;
      int k = lo;
      while (i < mid && j < hi) {
        tmp[k++] = before(idx[j], idx[i]) ? idx[j++] : idx[i++];
      }
      while (i < mid) {
        tmp[k++] = idx[i++];
      }
      while (j < hi) {
        tmp[k++] = idx[j++];
      }
      System.arraycopy(tmp, lo, idx, lo, hi - lo);
    }

    private boolean before(int a, int b) {
      return sortKeys[a] < sortKeys[b] || (sortKeys[a] == sortKeys[b] && rowKeys[a] < rowKeys[b]);
    }
  }

  /** The network's outputs on every row of {@code rows}, {@value #PREDICT_CHUNK} rows at a time. */
  private float[] predictInChunks(io.deepens.core.network.MemberNetwork net, TrainingSet rows, int outputs) {
    int n = rows.numRows();
    float[] all = new float[Math.multiplyExact(n, outputs)];
    float[] x = new float[Math.min(n, PREDICT_CHUNK) * numFeatures];
    for (int r0 = 0; r0 < n; r0 += PREDICT_CHUNK) {
      int m = Math.min(PREDICT_CHUNK, n - r0);
      for (int i = 0; i < m; i++) {
        rows.copyFeatures(r0 + i, x, i * numFeatures);
      }
      float[] o = MemberModels.predict(net, m == PREDICT_CHUNK ? x : java.util.Arrays.copyOf(x, m * numFeatures), m,
          numFeatures);
      System.arraycopy(o, 0, all, r0 * outputs, m * outputs);
    }
    return all;
  }

  private static final int PREDICT_CHUNK = 4096;

  private static float[] concat(float[][] passes) {
    int n = passes[0].length;
    float[] all = new float[passes.length * n];
    for (int s = 0; s < passes.length; s++) {
      System.arraycopy(passes[s], 0, all, s * n, n);
    }
    return all;
  }

  /**
   * Refuses, before training, a row that does not match the table the driver checked: one that did not decode, or
   * one of another length. The driver never starts this stage for a table with such rows, so one can only arrive
   * when Spark re-read the table after the check (it recomputes shuffle output lost with an executor) and the table
   * had changed in the meantime.
   */
  void checkRow(int member, LabeledRow row) {
    if (MemberCopies.isRefused(row) || row.features.length != numFeatures) {
      throw new DeepensException("member " + member + " received a row that does not match the checked training "
          + "data (" + (MemberCopies.isRefused(row) ? "it no longer decodes" : "it has " + row.features.length
          + " features, expected " + numFeatures) + "): the input table changed while the ensemble trained and "
          + "Spark re-read it to replace shuffle output lost with an executor. The member stops before training and "
          + "nothing is published; train again on a table that does not change while it is read");
    }
  }

  /** With a warm-start version, members without a checkpoint start from that version's member parameters. */
  private Checkpointer warmStart(EnsembleStore store, EnsembleSpec spec, Checkpointer inner) {
    if (warmStartVersion == null) {
      return inner;
    }
    return new WarmStartCheckpointer(inner, spec, numFeatures, m -> {
      Manifest pm = store.readManifest(warmStartVersion);
      for (Manifest.MemberEntry e : pm.members()) {
        if (e.index() == m && e.usable()) {
          LOG.info("member {}: warm start from {} {}", m, warmStartVersion, e.file());
          return MemberModels.fromBytes(store.readVerified(warmStartVersion, e.file(), e.sha256()));
        }
      }
      LOG.warn("member {}: {} has no usable network for it; starting from its own seed", m, warmStartVersion);
      return null;
    }, warmStartVersion);
  }

  private Checkpointer withFaultHook(Checkpointer inner, int member, int attempt) {
    boolean afterEpoch = killAfterEpoch != null && !killAfterEpoch.isBlank();
    boolean midEpoch = killMidEpoch != null && !killMidEpoch.isBlank();
    if (!afterEpoch && !midEpoch) {
      return inner;
    }
    String[] parts = (afterEpoch ? killAfterEpoch : killMidEpoch).split(":");
    int killMember = Integer.parseInt(parts[0]);
    int killEpoch = Integer.parseInt(parts[1]);
    long killRows = midEpoch ? Long.parseLong(parts[2]) : 0;
    return new Checkpointer() {
      @Override
      public Optional<MemberCheckpoint> latest(int m) {
        return inner.latest(m);
      }

      @Override
      public void save(int m, MemberCheckpoint checkpoint) {
        inner.save(m, checkpoint);
        if (m == killMember && attempt == 0 && afterEpoch && checkpoint.epochsCompleted() == killEpoch
            && !checkpoint.withinEpoch()) {
          LOG.warn("test fault hook: killing executor {} after member {} epoch {}",
              SparkEnv.get().executorId(), m, killEpoch);
          Runtime.getRuntime().halt(137);
        }
        if (m == killMember && attempt == 0 && midEpoch && checkpoint.epochsCompleted() == killEpoch
            && checkpoint.rowsInEpoch() >= killRows) {
          LOG.warn("test fault hook: killing executor {} in member {} epoch {} after {} rows",
              SparkEnv.get().executorId(), m, killEpoch, checkpoint.rowsInEpoch());
          Runtime.getRuntime().halt(137);
        }
      }
    };
  }

  static String[] gpuAddresses(TaskContext tc) {
    if (tc == null) {
      return new String[0];
    }
    ResourceInformation gpu = tc.resourcesJMap().get("gpu");
    return gpu == null ? new String[0] : gpu.addresses();
  }

  /** What became of the GPU address Spark assigned to a member task (recorded in the member's manifest entry). */
  public enum GpuBinding {
    /** No GPU was assigned. */
    NONE,
    /** ND4J's CUDA backend runs this task's thread on the assigned device. */
    BOUND,
    /** ND4J's backend is the CPU one: the address was ignored and the member trained on the CPU. */
    IGNORED_CPU_BACKEND
  }

  /**
   * Binds this thread to the GPU Spark assigned (its first address when several), before the thread allocates
   * anything: ND4J's CUDA backend otherwise maps threads to devices round-robin, so with {@code gpusPerMember} 0.25
   * four tasks of one executor could land on any device. In ND4J 1.0.0-M2.1 {@code CudaAffinityManager.unsafeSetDevice}
   * sets the native current device of the calling thread and resets the allocator's cached context for it, and
   * {@code getDeviceForCurrentThread} reads that native device back (javap of nd4j-cuda-11.6 1.0.0-M2.1), which is what
   * the member report records as its device. Every ND4J allocation and kernel of the member happens on this thread
   * ({@link MemberTrainer} trains on the calling thread). On the CPU backend the address is ignored, with an
   * INFO line saying so.
   *
   * @throws DeepensException when the address is not a device ordinal or this process does not see that device
   */
  static GpuBinding bindDevice(int member, String[] addresses) {
    if (addresses.length == 0) {
      return GpuBinding.NONE;
    }
    int device;
    try {
      device = Integer.parseInt(addresses[0].trim());
    } catch (NumberFormatException e) {
      throw new DeepensException("GPU address '" + addresses[0] + "' given by Spark is not a device number; "
          + "the discovery script must print CUDA device ordinals (conf/gpu-discovery.sh does)");
    }
    LeanPath.Backend backend = LeanPath.Backend.current();
    if (backend == LeanPath.Backend.CPU) {
      LOG.info("member {}: ignored GPU address {} because ND4J's backend is the CPU one (build with -Pcuda for GPUs)",
          member, String.join(",", addresses));
      return GpuBinding.IGNORED_CPU_BACKEND;
    }
    int devices = Nd4j.getAffinityManager().getNumberOfDevices();
    if (device < 0 || device >= devices) {
      throw new DeepensException("member " + member + " was given GPU " + device + " but ND4J's " + backend
          + " backend sees " + devices + " device(s) in this executor (0.." + (devices - 1) + "); Spark's addresses are"
          + " CUDA ordinals of the node, so do not set CUDA_VISIBLE_DEVICES for executors");
    }
    Nd4j.getAffinityManager().unsafeSetDevice(device);
    LOG.info("member {}: bound to GPU {} on ND4J's {} backend", member, device, backend);
    return GpuBinding.BOUND;
  }

  private static Path localDir() throws IOException {
    String dir = null;
    if (SparkEnv.get() != null) {
      dir = org.apache.spark.util.Utils.getLocalDir(SparkEnv.get().conf());
    }
    Path p = Path.of(dir != null ? dir : System.getProperty("java.io.tmpdir"));
    Files.createDirectories(p);
    return p;
  }

  private static void deleteQuietly(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // temporary files in Spark's local dir are removed with the application anyway
    }
  }
}
