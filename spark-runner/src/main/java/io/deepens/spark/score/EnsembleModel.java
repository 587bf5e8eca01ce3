package io.deepens.spark.score;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.store.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

/**
 * A published deep ensemble as a Spark ML {@link org.apache.spark.ml.Transformer}: appends the mixture's
 * prediction, probability and uncertainty columns ({@link OutputColumns}) to a table, inside a
 * {@link org.apache.spark.ml.Pipeline} or alone. {@link #transform} runs exactly what the {@code score} job runs
 * ({@link EnsembleScorer}); this class only adds params and persistence.
 *
 * <p>The model references a store and one <em>pinned</em> version; it does not copy the members. The version is
 * resolved once (LATEST when the {@link #ensemble()} param names none), and its manifest's SHA-256 is recorded. A
 * saved model stores both, and loading (or scoring with) a model whose version's manifest no longer has that
 * SHA-256 fails: the version was altered after the model was made.
 *
 * <pre>{@code
 * EnsembleModel model = EnsembleModel.fromStore("hdfs:///models/digits#v000003").setInvalidPolicy("keep");
 * Dataset<Row> scored = model.transform(table);
 * model.write().overwrite().save("hdfs:///pipelines/digits-scorer");
 * EnsembleModel again = EnsembleModel.load("hdfs:///pipelines/digits-scorer");
 * }</pre>
 *
 * From spark-shell: {@code io.deepens.spark.score.EnsembleModel.load(path)}; from PySpark, a
 * {@code JavaModel} wrapper whose {@code _java_obj} is built from this class name.
 */
public final class EnsembleModel extends Model<EnsembleModel> implements MLWritable {
  private static final long serialVersionUID = 1L;
  /** Format of the metadata this class writes; readers refuse newer formats. */
  static final int FORMAT = 1;

  private final String uid;
  private final Param<String> ensemble;
  private final Param<String> featuresCol;
  private final StringArrayParam featuresCols;
  private final Param<String> keyCol;
  private final Param<String> invalidPolicy;
  private final IntParam batchSize;

  // the pinned version; null until resolved
  private String pinnedStore;
  private String pinnedVersion;
  private String pinnedManifestSha256;
  private transient EnsembleScorer scorer;

  public EnsembleModel() {
    this(Identifiable$.MODULE$.randomUID("deepensEnsemble"));
  }

  public EnsembleModel(String uid) {
    this.uid = uid;
    this.ensemble = new Param<>(this, "ensemble",
        "the ensemble store and version, STORE or STORE#vNNNNNN (any Hadoop FileSystem URI); without a version,"
            + " the version LATEST names is resolved once and pinned",
        EnsembleModel::validRef);
    this.featuresCol = new Param<>(this, "featuresCol",
        "one array<float>, array<double> or ML Vector column holding the features; unset (and featuresCols "
            + "unset): the columns the ensemble was trained on",
        s -> s != null && !s.isBlank());
    this.featuresCols = new StringArrayParam(this, "featuresCols",
        "several numeric columns holding the features, in the order the ensemble was trained on; excludes "
            + "featuresCol",
        a -> a != null && a.length > 0 && Arrays.stream(a).noneMatch(s -> s == null || s.isBlank()));
    this.keyCol = new Param<>(this, "keyCol",
        "an integer or string column naming rows in error messages; unset: the spec's key column when the table "
            + "has it",
        s -> s != null && !s.isBlank());
    this.invalidPolicy = new Param<>(this, "invalidPolicy",
        "what to do with a row whose features are null, of the wrong length, NaN or infinite: fail (stop, naming "
            + "the row), skip (drop it), keep (null outputs and an invalid_reason column)",
        ParamValidators.inArray(new String[] {"fail", "skip", "keep"}));
    this.batchSize = new IntParam(this, "batchSize",
        "rows per forward pass; memory per task grows with it, not with the partition's size",
        ParamValidators.gt(0));
    setDefault(invalidPolicy, "fail");
    setDefault(batchSize, EnsembleScorer.DEFAULT_BATCH);
  }

  /** A model of the ensemble {@code ref} ({@code STORE[#VERSION]}), resolved and pinned now. */
  public static EnsembleModel fromStore(String ref) {
    EnsembleModel m = new EnsembleModel().setEnsemble(ref);
    m.scorer();
    return m;
  }

  private static boolean validRef(String s) {
    return s != null && !s.isBlank() && !s.endsWith("#");
  }

  // ------------------------------------------------------------------ params

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> ensemble() {
    return ensemble;
  }

  public Param<String> featuresCol() {
    return featuresCol;
  }

  public StringArrayParam featuresCols() {
    return featuresCols;
  }

  public Param<String> keyCol() {
    return keyCol;
  }

  public Param<String> invalidPolicy() {
    return invalidPolicy;
  }

  public IntParam batchSize() {
    return batchSize;
  }

  public String getEnsemble() {
    return getOrDefault(ensemble);
  }

  public String getFeaturesCol() {
    return getOrDefault(featuresCol);
  }

  public String[] getFeaturesCols() {
    return getOrDefault(featuresCols);
  }

  public String getKeyCol() {
    return getOrDefault(keyCol);
  }

  public String getInvalidPolicy() {
    return getOrDefault(invalidPolicy);
  }

  public int getBatchSize() {
    return (Integer) getOrDefault(batchSize);
  }

  /** Points the model at another ensemble; the version is resolved again (and pinned) on next use. */
  public synchronized EnsembleModel setEnsemble(String value) {
    set(ensemble, value);
    pinnedStore = null;
    pinnedVersion = null;
    pinnedManifestSha256 = null;
    scorer = null;
    return this;
  }

  public EnsembleModel setFeaturesCol(String value) {
    set(featuresCol, value);
    return this;
  }

  public EnsembleModel setFeaturesCols(String[] value) {
    set(featuresCols, value);
    return this;
  }

  public EnsembleModel setKeyCol(String value) {
    set(keyCol, value);
    return this;
  }

  public EnsembleModel setInvalidPolicy(String value) {
    set(invalidPolicy, value == null ? null : value.toLowerCase(Locale.ROOT));
    return this;
  }

  public EnsembleModel setBatchSize(int value) {
    set(batchSize, value);
    return this;
  }

  /** The store the model reads, fully qualified (resolving the version first if needed). */
  public String storeUri() {
    scorer();
    return pinnedStore;
  }

  /** The pinned version, e.g. {@code v000003} (resolving it first if needed). */
  public String version() {
    scorer();
    return pinnedVersion;
  }

  /** SHA-256 of the pinned version's {@code manifest.json} as the model first read it. */
  public String manifestSha256() {
    scorer();
    return pinnedManifestSha256;
  }

  // ------------------------------------------------------------------ transforming

  /**
   * Checks the schema before any data is touched (feature columns present, of a usable type and the width the
   * ensemble expects; key column an integer or string; no input column named like an output column) and returns
   * the input schema followed by the output columns.
   */
  @Override
  public StructType transformSchema(StructType schema) {
    return scorer().outputSchema(schema, features(), keyColOrNull(), policy());
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    SparkSession spark = dataset.sparkSession();
    InvalidPolicy policy = policy();
    LongAccumulator skipped = policy == InvalidPolicy.SKIP
        ? spark.sparkContext().longAccumulator("deepens.skippedRows") : null;
    return scorer().score(spark, dataset.toDF(), features(), keyColOrNull(), policy, getBatchSize(), skipped);
  }

  private List<String> features() {
    boolean one = isSet(featuresCol);
    boolean many = isSet(featuresCols);
    InvalidInputException.check(!(one && many),
        "EnsembleModel %s: set featuresCol (one array/vector column) or featuresCols (numeric columns), not both; "
            + "found featuresCol=%s and featuresCols=%s", uid, one ? getFeaturesCol() : null,
        many ? Arrays.toString(getFeaturesCols()) : null);
    return one ? List.of(getFeaturesCol()) : many ? List.of(getFeaturesCols()) : null;
  }

  private String keyColOrNull() {
    return isSet(keyCol) ? getKeyCol() : null;
  }

  private InvalidPolicy policy() {
    return InvalidPolicy.parse(getInvalidPolicy());
  }

  /**
   * The scorer of the pinned version: resolves and pins on first use, and on every (re)load checks that the
   * version's manifest still has the SHA-256 recorded when the model was pinned.
   */
  synchronized EnsembleScorer scorer() {
    if (scorer != null) {
      return scorer;
    }
    InvalidInputException.check(isDefined(ensemble),
        "EnsembleModel %s: the ensemble param is not set; call setEnsemble(\"STORE[#VERSION]\")", uid);
    SparkSession spark = SparkSession.active();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    String store;
    String version;
    if (pinnedVersion != null) {
      store = pinnedStore;
      version = pinnedVersion;
    } else {
      String ref = getEnsemble();
      int hash = ref.lastIndexOf('#');
      store = hash < 0 ? ref : ref.substring(0, hash);
      version = hash < 0 ? null : ref.substring(hash + 1);
    }
    EnsembleStore es = EnsembleStore.open(store, conf);
    Manifest m = es.resolve(version);
    String sha = manifestSha(es, m.version());
    if (pinnedManifestSha256 != null && !pinnedManifestSha256.equalsIgnoreCase(sha)) {
      throw new DeepensException("EnsembleModel " + uid + " was made from " + es.uri() + " version " + m.version()
          + " whose manifest had SHA-256 " + pinnedManifestSha256 + ", but "
          + new Path(es.versionDir(m.version()), EnsembleStore.MANIFEST) + " now has SHA-256 " + sha
          + ": the published version was altered. Restore it, or make a new model from the store");
    }
    EnsembleScorer s = new EnsembleScorer(es.uri(), m, new SerializableConfiguration(conf));
    pinnedStore = es.uri();
    pinnedVersion = m.version();
    pinnedManifestSha256 = sha;
    scorer = s;
    return s;
  }

  private static String manifestSha(EnsembleStore es, String version) {
    Path p = new Path(es.versionDir(version), EnsembleStore.MANIFEST);
    try (InputStream in = es.fileSystem().open(p)) {
      return Sha256.of(in);
    } catch (IOException e) {
      throw new DeepensException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  @Override
  public EnsembleModel copy(ParamMap extra) {
    EnsembleModel copy = new EnsembleModel(uid);
    copyValues(copy, extra);
    synchronized (this) {
      boolean sameRef = !extra.contains(ensemble);
      if (sameRef) {
        copy.pinnedStore = pinnedStore;
        copy.pinnedVersion = pinnedVersion;
        copy.pinnedManifestSha256 = pinnedManifestSha256;
        copy.scorer = scorer;
      }
    }
    return copy.setParent(parent());
  }

  // ------------------------------------------------------------------ persistence

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<EnsembleModel> read() {
    return new Reader();
  }

  public static EnsembleModel load(String path) {
    return read().load(path);
  }

  /**
   * Writes Spark ML's metadata layout, {@code <path>/metadata/part-00000}: one JSON line with class, uid,
   * timestamp, sparkVersion, paramMap (set params), defaultParamMap, plus this model's data (store, pinned version,
   * manifest SHA-256, format). No member is copied.
   */
  static final class Writer extends MLWriter {
    private final EnsembleModel model;

    Writer(EnsembleModel model) {
      this.model = model;
    }

    @Override
    public void saveImpl(String path) {
      model.scorer(); // pin before writing
      ObjectMapper json = EnsembleStore.json();
      ObjectNode meta = json.createObjectNode();
      meta.put("class", EnsembleModel.class.getName());
      meta.put("timestamp", System.currentTimeMillis());
      meta.put("sparkVersion", sparkSession().version());
      meta.put("uid", model.uid());
      ObjectNode set = meta.putObject("paramMap");
      ObjectNode defaults = meta.putObject("defaultParamMap");
      for (Param<?> p : model.params()) {
        @SuppressWarnings("unchecked")
        Param<Object> po = (Param<Object>) p;
        try {
          if (model.isSet(po)) {
            set.set(p.name(), json.readTree(po.jsonEncode(model.getOrDefault(po))));
          } else if (model.hasDefault(po)) {
            defaults.set(p.name(), json.readTree(po.jsonEncode(model.getDefault(po).get())));
          }
        } catch (IOException e) {
          throw new DeepensException("cannot encode param " + p.name() + ": " + e.getMessage(), e);
        }
      }
      ObjectNode data = meta.putObject("deepens");
      data.put("format", FORMAT);
      data.put("store", model.pinnedStore);
      data.put("version", model.pinnedVersion);
      data.put("manifestSha256", model.pinnedManifestSha256);
      String line;
      try {
        line = json.copy().disable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
            .writeValueAsString(meta);
      } catch (IOException e) {
        throw new DeepensException("cannot write model metadata: " + e.getMessage(), e);
      }
      JavaSparkContext.fromSparkContext(sc()).parallelize(List.of(line), 1)
          .saveAsTextFile(new Path(path, "metadata").toString());
    }
  }

  /** Reads what {@link Writer} wrote and checks the pinned version's manifest against the recorded SHA-256. */
  static final class Reader extends MLReader<EnsembleModel> {
    @Override
    public EnsembleModel load(String path) {
      String line = sc().textFile(new Path(path, "metadata").toString(), 1).first();
      ObjectMapper json = EnsembleStore.json();
      JsonNode meta;
      try {
        meta = json.readTree(line);
      } catch (IOException e) {
        throw new DeepensException("cannot parse model metadata in " + path + ": " + e.getMessage(), e);
      }
      String cls = meta.path("class").asText();
      InvalidInputException.check(EnsembleModel.class.getName().equals(cls),
          "%s holds a %s, not an %s", path, cls, EnsembleModel.class.getName());
      JsonNode data = meta.path("deepens");
      InvalidInputException.check(data.path("format").asInt(-1) >= 1 && data.path("format").asInt() <= FORMAT,
          "%s has EnsembleModel format %s; this deepens reads formats 1..%d (upgrade deepens)", path,
          data.path("format"), FORMAT);
      EnsembleModel model = new EnsembleModel(meta.path("uid").asText());
      decodeParams(model, meta.path("paramMap"), false);
      decodeParams(model, meta.path("defaultParamMap"), true);
      model.pinnedStore = data.path("store").asText();
      model.pinnedVersion = data.path("version").asText();
      model.pinnedManifestSha256 = data.path("manifestSha256").asText();
      model.scorer(); // fails now if the version was altered or removed
      return model;
    }

    private static void decodeParams(EnsembleModel model, JsonNode values, boolean asDefault) {
      for (Iterator<String> it = values.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        @SuppressWarnings("unchecked")
        Param<Object> p = (Param<Object>) model.getParam(name);
        Object v = p.jsonDecode(values.get(name).toString());
        if (asDefault) {
          model.setDefault(p, v);
        } else {
          model.set(p, v);
        }
      }
    }
  }
}
