package io.deepens.spark.score;

import io.deepens.core.InvalidInputException;
import io.deepens.core.mixture.ClassificationUncertainty;
import io.deepens.core.mixture.PosteriorMixture;
import io.deepens.core.mixture.RegressionUncertainty;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.lean.MlpEnsembleForward;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.store.Sha256;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.train.McDropout;
import io.deepens.core.train.MemberModels;
import io.deepens.spark.data.FeatureDecoder;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Applies one resolved ensemble version to a table, partition by partition, in batches of a fixed number of rows:
 * a partition's memory use does not grow with its row count. Input columns are kept and the output columns of
 * {@link OutputColumns} appended. The version is resolved once, on the driver, and its manifest shipped to the
 * executors, so a scorer keeps reading the version it started with while newer ones are published.
 */
public final class EnsembleScorer implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final int DEFAULT_BATCH = 2048;

  private final String storeUri;
  private final String manifestJson;
  private final String manifestSha;
  private final boolean classification;
  private final int outputs;
  private final int numFeatures;
  private final int mcSamples;
  /** Components per member: SWAG samples, MC dropout passes, else 1. */
  private final int perMember;
  private final long seed;
  private final SerializableConfiguration hadoopConf;

  /**
   * Resolves {@code version} (null = LATEST) in the store once, recording the resolution as a lease that keeps
   * retention from removing the version for an hour ({@link io.deepens.core.store.Retention}).
   */
  public static EnsembleScorer resolve(SparkSession spark, String storeUri, String version) {
    EnsembleStore store = EnsembleStore.open(storeUri, spark.sparkContext().hadoopConfiguration());
    Manifest m = store.resolveAndLease(version);
    return new EnsembleScorer(store.uri(), m, new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
  }

  EnsembleScorer(String storeUri, Manifest m, SerializableConfiguration conf) {
    this.storeUri = storeUri;
    this.manifestJson = new String(EnsembleStore.toJson(m), StandardCharsets.UTF_8);
    this.manifestSha = Sha256.of(manifestJson.getBytes(StandardCharsets.UTF_8));
    this.classification = "classification".equals(m.task());
    this.outputs = m.outputs();
    this.numFeatures = m.numFeatures();
    EnsembleSpec spec = EnsembleSpec.fromJson(m.spec().toString());
    this.mcSamples = spec.ensemble().mcDropoutSamples();
    this.perMember = spec.ensemble().componentsPerMember();
    this.seed = spec.ensemble().seed();
    this.hadoopConf = conf;
  }

  public Manifest manifest() {
    try {
      return EnsembleStore.json().readValue(manifestJson, Manifest.class);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public boolean classification() {
    return classification;
  }

  /**
   * Scores {@code input}.
   *
   * @param features the feature column(s); null for the spec's
   * @param key a key column for error messages (null for the spec's key when the input has it)
   * @param skipped counts skipped rows under {@link InvalidPolicy#SKIP}; may be null
   */
  public Dataset<Row> score(SparkSession spark, Dataset<Row> input, List<String> features, String key,
      InvalidPolicy policy, int batchSize, LongAccumulator skipped) {
    return score(spark, input, features, key, policy, batchSize, skipped, null);
  }

  /**
   * Scores {@code input}, counting every row read and every invalid row (skipped or kept) by reason in
   * {@code invalid} (may be null).
   */
  public Dataset<Row> score(SparkSession spark, Dataset<Row> input, List<String> features, String key,
      InvalidPolicy policy, int batchSize, LongAccumulator skipped, InvalidRows invalid) {
    InvalidInputException.check(batchSize > 0, "batch size must be > 0, found %d", batchSize);
    FeatureDecoder decoder = decoder(input.schema(), features, key);
    StructType inSchema = input.schema();
    StructType outSchema = OutputColumns.outputSchema(inSchema, classification, policy);
    JavaRDD<InternalRow> rows = input.queryExecution().toRdd().toJavaRDD();
    JavaRDD<InternalRow> scored = rows.mapPartitionsWithIndex(
        (Integer part, Iterator<InternalRow> it) -> new Batches(part, it, decoder, inSchema, policy, batchSize,
            skipped, invalid), true);
    return spark.internalCreateDataFrame(scored.rdd(), outSchema, false);
  }

  /**
   * The schema {@link #score} produces for {@code input}, checked without touching data: the feature columns
   * exist and have a usable type and width, the key column is an integer or string, and no input column has the
   * name of an output column. Throws {@link InvalidInputException} saying what to change.
   */
  public StructType outputSchema(StructType input, List<String> features, String key, InvalidPolicy policy) {
    decoder(input, features, key);
    return OutputColumns.outputSchema(input, classification, policy);
  }

  /** The decoder for {@code schema}: the given feature columns (the spec's when null) and key (or the spec's). */
  private FeatureDecoder decoder(StructType schema, List<String> features, String key) {
    EnsembleSpec spec = EnsembleSpec.fromJson(manifest().spec().toString());
    List<String> cols = features != null ? features : spec.data().features();
    String keyCol = key;
    if (keyCol == null && spec.data().key() != null
        && java.util.Arrays.asList(schema.fieldNames()).contains(spec.data().key())) {
      keyCol = spec.data().key();
    }
    return FeatureDecoder.of(schema, cols, null, 0, keyCol, numFeatures);
  }

  /** Streams one partition: fills a batch, runs every member, mixes, emits the rows, repeats. */
  private final class Batches implements Iterator<InternalRow> {
    private final int partition;
    private final Iterator<InternalRow> in;
    private final FeatureDecoder decoder;
    private final org.apache.spark.sql.types.DataType[] inTypes;
    private final InvalidPolicy policy;
    private final int batchSize;
    private final LongAccumulator skipped;
    private final InvalidRows invalid;
    private final LoadedEnsemble ensemble;
    private final float[] x;
    private final InternalRow[] held;
    private final String[] reasons;
    private final int[] validIndex;
    private final ArrayList<InternalRow> ready = new ArrayList<>();
    private int readyPos;
    private long seen;
    private long batchNo;

    Batches(int partition, Iterator<InternalRow> in, FeatureDecoder decoder, StructType inSchema,
        InvalidPolicy policy, int batchSize, LongAccumulator skipped, InvalidRows invalid) {
      this.partition = partition;
      this.invalid = invalid;
      this.in = in;
      this.decoder = decoder;
      this.inTypes = new org.apache.spark.sql.types.DataType[inSchema.size()];
      for (int i = 0; i < inTypes.length; i++) {
        inTypes[i] = inSchema.fields()[i].dataType();
      }
      this.policy = policy;
      this.batchSize = batchSize;
      this.skipped = skipped;
      this.ensemble = load();
      this.x = new float[batchSize * numFeatures];
      this.held = new InternalRow[batchSize];
      this.reasons = new String[batchSize];
      this.validIndex = new int[batchSize];
    }

    @Override
    public boolean hasNext() {
      while (readyPos >= ready.size()) {
        if (!in.hasNext()) {
          return false;
        }
        fill();
      }
      return true;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      InternalRow r = ready.get(readyPos);
      ready.set(readyPos++, null);
      return r;
    }

    private void fill() {
      ready.clear();
      readyPos = 0;
      int n = 0;
      int valid = 0;
      InvalidRows.Tally tally = invalid == null ? null : new InvalidRows.Tally();
      while (n < batchSize && in.hasNext()) {
        InternalRow r = in.next();
        long ordinal = seen++;
        if (tally != null) {
          tally.row();
        }
        String reason = decoder.decodeFeatures(r, x, valid * numFeatures);
        if (reason != null) {
          String where = decoder.describe(r, ordinal, partition);
          if (tally != null) {
            tally.invalid(reason, where + ": " + reason);
          }
          if (policy == InvalidPolicy.FAIL) {
            throw new InvalidInputException("cannot score " + where + ": " + reason
                + ". Fix the row, or rerun with --invalid skip (drop such rows) or --invalid keep (null outputs)");
          }
          if (policy == InvalidPolicy.SKIP) {
            if (skipped != null) {
              skipped.add(1);
            }
            continue;
          }
          reasons[n] = reason;
        } else {
          reasons[n] = null;
          validIndex[valid++] = n;
        }
        held[n++] = r.copy();
      }
      if (tally != null) {
        invalid.add(tally); // Spark merges a task's updates only when the task succeeds
      }
      Object[][] outValues = new Object[n][];
      if (valid > 0) {
        mixBatch(valid, outValues);
      }
      TaskContext tc = TaskContext.get();
      for (int i = 0; i < n; i++) {
        Object[] values = outValues[i];
        int width = (classification ? 6 : 4) + (policy == InvalidPolicy.KEEP ? 1 : 0);
        if (values == null) {
          values = new Object[width];
        } else if (values.length < width) {
          values = java.util.Arrays.copyOf(values, width);
        }
        if (policy == InvalidPolicy.KEEP && reasons[i] != null) {
          values[width - 1] = UTF8String.fromString(reasons[i]);
        }
        ready.add(new JoinedRow(held[i], new GenericInternalRow(values)));
        held[i] = null;
      }
      batchNo++;
      if (tc != null && tc.isInterrupted()) {
        throw new org.apache.spark.TaskKilledException("scoring interrupted");
      }
    }

    private void mixBatch(int valid, Object[][] outValues) {
      float[][] comp = components(ensemble, x, valid, partition, batchNo);
      int samples = samplesPerMember(); // 1 without MC dropout: the components are the members
      PosteriorMixture mixture = ensemble.mixture();
      if (classification) {
        ClassificationUncertainty u = mixture.classify(comp, samples, valid, outputs);
        double[] p = u.probability();
        float[] probs = new float[outputs]; // staging only: fromPrimitiveArray copies it into the row's array
        for (int v = 0; v < valid; v++) {
          for (int c = 0; c < outputs; c++) {
            probs[c] = (float) p[v * outputs + c];
          }
          outValues[validIndex[v]] = new Object[] {u.prediction()[v], UnsafeArrayData.fromPrimitiveArray(probs),
              u.maxProbability()[v], u.predictiveEntropy()[v], u.expectedEntropy()[v], u.mutualInformation()[v]};
        }
      } else {
        RegressionUncertainty u = mixture.regressInterleaved(comp, samples, valid);
        for (int v = 0; v < valid; v++) {
          outValues[validIndex[v]] = new Object[] {u.mean()[v], u.variance()[v], u.aleatoricVariance()[v],
              u.epistemicVariance()[v]};
        }
      }
    }
  }

  /** This version's members in this JVM (loaded and verified on first use). */
  public LoadedEnsemble load() {
    return LoadedEnsemble.get(storeUri, manifestJson, manifestSha, hadoopConf.value());
  }

  /**
   * Components of the mixture per member: the spec's {@code ensemble.swag.samples} (MultiSWAG), or
   * {@code ensemble.mcDropoutSamples}, else 1.
   */
  public int samplesPerMember() {
    return perMember;
  }

  /**
   * The mixture's components for the first {@code rows} rows of {@code x}: {@link #predictMembers}, or with Monte
   * Carlo dropout S = {@link #samplesPerMember} stochastic passes per member (component k·S + s), their masks seeded
   * by (ensemble seed, member, partition, batch number) so that a rerun gives the same outputs. With SWAG the
   * loaded networks already are the members' S weight samples ({@link LoadedEnsemble}), member-major, so
   * {@link #predictMembers} returns the components.
   */
  public float[][] components(LoadedEnsemble ens, float[] x, int rows, int partition, long batchNo) {
    if (mcSamples == 0) {
      return predictMembers(ens, x, rows);
    }
    MemberNetwork[] nets = ens.borrow();
    try {
      float[] batch = rows * numFeatures == x.length ? x : java.util.Arrays.copyOf(x, rows * numFeatures);
      float[][] comp = new float[nets.length * mcSamples][];
      for (int k = 0; k < nets.length; k++) {
        float[][] s = McDropout.sample(nets[k], batch, rows, numFeatures, mcSamples,
            Seeds.derive(seed, k, SeedPurpose.MC_SCORING, stream(partition, batchNo)));
        System.arraycopy(s, 0, comp, k * mcSamples, mcSamples);
      }
      return comp;
    } finally {
      ens.release(nets);
    }
  }

  /** The dropout stream of a batch: partition · 1,000,003 + batch number, folded into 0 .. 2^31 − 1. */
  static int stream(int partition, long batchNo) {
    return (int) ((partition * 1_000_003L + batchNo) & Integer.MAX_VALUE);
  }

  /**
   * Every member's outputs for the first {@code rows} rows of {@code x} (row-major features): one row-major
   * [rows x outputs] array per member.
   */
  public float[][] predictMembers(LoadedEnsemble ens, float[] x, int rows) {
    // sized for the caller's whole buffer, so a short last batch reuses the same instance
    MlpEnsembleForward fast = ens.borrowForward(Math.max(rows, x.length / numFeatures));
    if (fast != null) {
      try {
        return fast.probabilities(x, rows);
      } finally {
        ens.releaseForward(fast);
      }
    }
    MemberNetwork[] nets = ens.borrow();
    try {
      float[] batch = rows * numFeatures == x.length ? x : java.util.Arrays.copyOf(x, rows * numFeatures);
      float[][] out = new float[nets.length][];
      INDArray shared = MemberModels.features(batch, rows, numFeatures);
      for (int k = 0; k < nets.length; k++) {
        out[k] = MemberModels.predict(nets[k], shared);
      }
      return out;
    } finally {
      ens.release(nets);
    }
  }
}
