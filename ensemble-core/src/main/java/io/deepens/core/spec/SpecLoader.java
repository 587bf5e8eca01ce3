package io.deepens.core.spec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads ensemble specs from YAML (or JSON) into validated records. The document is read into a Jackson tree and
 * checked by hand, so that every error names the source, the key path, the value found and the rule, e.g.
 * {@code conf/x.yaml: training.learningRate must be > 0, found -1.0}. Unknown keys are errors that list the
 * allowed keys; duplicate keys are errors.
 *
 * <p>Keys and defaults (see {@code conf/digits-mlp.yaml}):
 *
 * <pre>
 * name (required), task: classification | regression (required)
 * data: features (a column name or a list, required), label (required), classes (classification, >= 2),
 *       key (optional), validation: {fraction (default 0.1, or 0 with table), table (optional)},
 *       inputShape: [channels, height, width] (required by cnn)
 * network: type: mlp | cnn | dl4j-json (required), hidden: [] , activation: relu, dropout: 0, batchNorm: false,
 *          conv: [{filters, kernel, stride: 1, pool: 0}] (cnn), config: inline JSON or configPath: file (dl4j-json,
 *          relative to the spec file)
 * training: optimizer: adam, learningRate: 0.001, schedule: {type: constant | step (decay: 0.1, every) |
 *           exponential (decay) | cosine (minLearningRate: 0)}, weightDecay: 0, batchSize: 128, epochs: 10,
 *           earlyStopping: {patience: 0}
 * ensemble: members: 5, seed: 0, bootstrap: false, weighting: uniform | stacking | pseudo-bma,
 *           temperature: false, mcDropoutSamples: 0
 * resources: threadsPerMember: 1, gpusPerMember: 0
 * </pre>
 */
public final class SpecLoader {
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private SpecLoader() {}

  /** Reads a YAML (or JSON) spec file; {@code network.configPath} is resolved against the file's folder. */
  public static EnsembleSpec load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new InvalidInputException("cannot read spec file " + file + ": " + e.getMessage(), e);
    }
    Path base = file.toAbsolutePath().getParent();
    return fromTree(readTree(YAML, text, file.toString()), file.toString(), base);
  }

  /** Parses YAML text; {@code sourceName} prefixes every message; relative config paths use the working folder. */
  public static EnsembleSpec parse(String yaml, String sourceName) {
    return fromTree(readTree(YAML, yaml, sourceName), sourceName, Path.of(""));
  }

  static EnsembleSpec parseJson(String json, String sourceName) {
    return fromTree(readTree(JSON, json, sourceName), sourceName, Path.of(""));
  }

  private static JsonNode readTree(ObjectMapper mapper, String text, String source) {
    try {
      JsonNode tree = mapper.readTree(text);
      if (tree == null || tree.isMissingNode() || tree.isNull()) {
        throw new InvalidInputException(source + ": the spec is empty");
      }
      return tree;
    } catch (JsonProcessingException e) {
      throw new InvalidInputException(source + ": not a valid spec document: " + e.getOriginalMessage(), e);
    }
  }

  private static EnsembleSpec fromTree(JsonNode root, String source, Path base) {
    try {
      return read(root, base);
    } catch (InvalidInputException e) {
      throw new InvalidInputException(source + ": " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- reading

  private static EnsembleSpec read(JsonNode rootNode, Path base) {
    Obj root = new Obj(rootNode, "", "name", "task", "data", "network", "training", "ensemble", "resources");
    String name = root.string("name", null, true);
    Task task = root.choice("task", Task.class, null, true);
    root.require("data");
    root.require("network");
    root.require("training");
    root.require("ensemble");

    Obj d = root.obj("data", "features", "label", "classes", "key", "validation", "inputShape");
    List<String> features = d.stringOrStringList("features");
    String label = d.string("label", null, true);
    int classes = d.integer("classes", 0, task == Task.CLASSIFICATION);
    String key = d.string("key", null, false);
    Obj v = d.obj("validation", "fraction", "table");
    String table = v.string("table", null, false);
    double fraction = v.dbl("fraction", table == null ? 0.1 : 0.0, false);
    List<Integer> inputShape = d.has("inputShape") ? d.intList("inputShape") : null;
    DataSpec data =
        new DataSpec(features, label, classes, key, new ValidationSpec(fraction, table), inputShape);

    Obj n = root.obj("network", "type", "hidden", "activation", "dropout", "batchNorm", "conv", "config", "configPath");
    NetworkType type = n.choice("type", NetworkType.class, null, true);
    List<Integer> hidden = n.has("hidden") ? n.intList("hidden") : List.of();
    String activation = n.string("activation", "relu", false).toLowerCase(Locale.ROOT);
    double dropout = n.dbl("dropout", 0.0, false);
    boolean batchNorm = n.bool("batchNorm", false);
    List<ConvLayerSpec> conv = new ArrayList<>();
    if (n.has("conv")) {
      JsonNode arr = n.get("conv");
      if (!arr.isArray()) {
        throw n.typeError("conv", "a list of {filters, kernel, stride, pool}", arr);
      }
      for (int i = 0; i < arr.size(); i++) {
        Obj c = new Obj(arr.get(i), n.child("conv") + "[" + i + "]", "filters", "kernel", "stride", "pool");
        int filters = c.integer("filters", 0, true);
        int kernel = c.integer("kernel", 0, true);
        int stride = c.integer("stride", 1, false);
        int pool = c.integer("pool", 0, false);
        conv.add(new ConvLayerSpec(filters, kernel, stride, pool));
      }
    }
    String config = n.string("config", null, false);
    String configPath = n.string("configPath", null, false);
    if (configPath != null) {
      InvalidInputException.check(config == null, "network: give either config or configPath, not both");
      Path p = base.resolve(configPath);
      try {
        config = Files.readString(p, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new InvalidInputException(
            "network.configPath: cannot read " + p + " (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")",
            e);
      }
    }
    NetworkSpec network = new NetworkSpec(type, hidden, activation, dropout, batchNorm, conv, config);

    Obj t = root.obj("training", "optimizer", "learningRate", "schedule", "weightDecay", "batchSize", "epochs",
        "earlyStopping");
    Optimizer optimizer = t.choice("optimizer", Optimizer.class, Optimizer.ADAM, false);
    double learningRate = t.dbl("learningRate", 1e-3, false);
    ScheduleSpec schedule = readSchedule(t);
    double weightDecay = t.dbl("weightDecay", 0.0, false);
    int batchSize = t.integer("batchSize", 128, false);
    int epochs = t.integer("epochs", 10, false);
    Obj es = t.obj("earlyStopping", "patience");
    int patience = es.integer("patience", 0, false);
    TrainingSpec training =
        new TrainingSpec(optimizer, learningRate, schedule, weightDecay, batchSize, epochs, patience);

    Obj e = root.obj("ensemble", "members", "seed", "bootstrap", "weighting", "temperature", "mcDropoutSamples");
    int members = e.integer("members", 5, false);
    long seed = e.lng("seed", 0L);
    boolean bootstrap = e.bool("bootstrap", false);
    Weighting weighting = e.choice("weighting", Weighting.class, Weighting.UNIFORM, false);
    boolean temperature = e.bool("temperature", false);
    int mc = e.integer("mcDropoutSamples", 0, false);
    EnsembleSection ensemble =
        new EnsembleSection(members, seed, bootstrap, weighting, temperature, mc);

    Obj r = root.obj("resources", "threadsPerMember", "gpusPerMember");
    int threads = r.integer("threadsPerMember", 1, false);
    double gpus = r.dbl("gpusPerMember", 0.0, false);
    ResourcesSpec resources = new ResourcesSpec(threads, gpus);

    return new EnsembleSpec(name, task, data, network, training, ensemble, resources);
  }

  private static ScheduleSpec readSchedule(Obj training) {
    if (!training.has("schedule")) {
      return ScheduleSpec.CONSTANT;
    }
    Obj probe = training.obj("schedule", "type", "decay", "every", "minLearningRate");
    ScheduleSpec.Type type = probe.choice("type", ScheduleSpec.Type.class, null, true);
    Obj s = switch (type) {
      case CONSTANT -> training.obj("schedule", "type");
      case STEP -> training.obj("schedule", "type", "decay", "every");
      case EXPONENTIAL -> training.obj("schedule", "type", "decay");
      case COSINE -> training.obj("schedule", "type", "minLearningRate");
    };
    double decay = s.dbl("decay", type == ScheduleSpec.Type.STEP ? 0.1 : 1.0, type == ScheduleSpec.Type.EXPONENTIAL);
    int every = s.integer("every", 0, type == ScheduleSpec.Type.STEP);
    double min = s.dbl("minLearningRate", 0.0, false);
    return new ScheduleSpec(type, decay, every, min);
  }

  /** A JSON object at a key path, with its allowed keys. */
  private static final class Obj {
    private final JsonNode node;
    private final String path;
    private final Set<String> allowed;

    Obj(JsonNode node, String path, String... allowed) {
      this.path = path;
      this.allowed = new LinkedHashSet<>(List.of(allowed));
      if (node == null || node.isNull() || node.isMissingNode()) {
        node = JsonNodeFactory.instance.objectNode();
      }
      if (!node.isObject()) {
        throw new InvalidInputException(
            (path.isEmpty() ? "the document" : path) + " must be a mapping of keys " + new TreeSet<>(this.allowed)
                + ", found " + show(node));
      }
      this.node = node;
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (!this.allowed.contains(k)) {
          throw new InvalidInputException(
              child(k) + " is not a known key; allowed keys " + (path.isEmpty() ? "at the top level" : "under " + path)
                  + ": " + String.join(", ", new TreeSet<>(this.allowed)));
        }
      }
    }

    String child(String key) {
      return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
      JsonNode v = node.get(key);
      return v != null && !v.isNull();
    }

    JsonNode get(String key) {
      return node.get(key);
    }

    void require(String key) {
      if (!has(key)) {
        throw new InvalidInputException(child(key) + " must be given");
      }
    }

    Obj obj(String key, String... allowedKeys) {
      JsonNode v = node.get(key);
      if (v != null && !v.isNull() && !v.isObject()) {
        throw typeError(key, "a mapping of keys " + new TreeSet<>(List.of(allowedKeys)), v);
      }
      return new Obj(v, child(key), allowedKeys);
    }

    InvalidInputException typeError(String key, String expected, JsonNode found) {
      return new InvalidInputException(child(key) + " must be " + expected + ", found " + show(found));
    }

    String string(String key, String def, boolean required) {
      if (!has(key)) {
        if (required) {
          require(key);
        }
        return def;
      }
      JsonNode v = node.get(key);
      if (!v.isTextual()) {
        throw typeError(key, "a string", v);
      }
      return v.textValue();
    }

    int integer(String key, int def, boolean required) {
      long l = integral(key, def, required);
      if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
        throw typeError(key, "an integer of at most 10 digits", node.get(key));
      }
      return (int) l;
    }

    long lng(String key, long def) {
      return integral(key, def, false);
    }

    private long integral(String key, long def, boolean required) {
      if (!has(key)) {
        if (required) {
          require(key);
        }
        return def;
      }
      JsonNode v = node.get(key);
      if (!v.isIntegralNumber() || !v.canConvertToLong()) {
        throw typeError(key, "an integer", v);
      }
      return v.longValue();
    }

    double dbl(String key, double def, boolean required) {
      if (!has(key)) {
        if (required) {
          require(key);
        }
        return def;
      }
      JsonNode v = node.get(key);
      if (!v.isNumber()) {
        throw typeError(key, "a number", v);
      }
      return v.doubleValue();
    }

    boolean bool(String key, boolean def) {
      if (!has(key)) {
        return def;
      }
      JsonNode v = node.get(key);
      if (!v.isBoolean()) {
        throw typeError(key, "true or false", v);
      }
      return v.booleanValue();
    }

    <E extends Enum<E>> E choice(String key, Class<E> type, E def, boolean required) {
      List<String> words = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        words.add(word(e));
      }
      if (!has(key)) {
        if (required) {
          throw new InvalidInputException(child(key) + " must be given: one of " + String.join(" | ", words));
        }
        return def;
      }
      JsonNode v = node.get(key);
      if (v.isTextual()) {
        String s = v.textValue().trim().toLowerCase(Locale.ROOT);
        for (E e : type.getEnumConstants()) {
          if (word(e).equals(s)) {
            return e;
          }
        }
      }
      throw typeError(key, "one of " + String.join(" | ", words), v);
    }

    List<Integer> intList(String key) {
      JsonNode v = node.get(key);
      if (!v.isArray()) {
        throw typeError(key, "a list of integers", v);
      }
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < v.size(); i++) {
        JsonNode x = v.get(i);
        if (!x.isIntegralNumber() || !x.canConvertToInt()) {
          throw new InvalidInputException(child(key) + "[" + i + "] must be an integer, found " + show(x));
        }
        out.add(x.intValue());
      }
      return out;
    }

    List<String> stringOrStringList(String key) {
      require(key);
      JsonNode v = node.get(key);
      if (v.isTextual()) {
        return List.of(v.textValue());
      }
      if (!v.isArray()) {
        throw typeError(key, "a column name or a list of column names", v);
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < v.size(); i++) {
        if (!v.get(i).isTextual()) {
          throw new InvalidInputException(child(key) + "[" + i + "] must be a string, found " + show(v.get(i)));
        }
        out.add(v.get(i).textValue());
      }
      return out;
    }
  }

  private static String word(Enum<?> e) {
    if (e instanceof Weighting w) {
      return w.key();
    }
    if (e instanceof NetworkType t) {
      return t.key();
    }
    return e.name().toLowerCase(Locale.ROOT);
  }

  private static String show(JsonNode v) {
    String s = v.isTextual() ? "\"" + v.textValue() + "\"" : v.toString();
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }

  // ---------------------------------------------------------------- writing

  static String toCanonicalJson(EnsembleSpec s) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    ObjectNode root = f.objectNode();
    root.put("name", s.name());
    root.put("task", s.task().key());

    DataSpec d = s.data();
    ObjectNode data = root.putObject("data");
    ArrayNode feats = data.putArray("features");
    d.features().forEach(feats::add);
    data.put("label", d.label());
    if (s.task() == Task.CLASSIFICATION) {
      data.put("classes", d.classes());
    }
    if (d.key() != null) {
      data.put("key", d.key());
    }
    ObjectNode val = data.putObject("validation");
    val.put("fraction", d.validation().fraction());
    if (d.validation().table() != null) {
      val.put("table", d.validation().table());
    }
    if (d.inputShape() != null) {
      ArrayNode shape = data.putArray("inputShape");
      d.inputShape().forEach(shape::add);
    }

    NetworkSpec n = s.network();
    ObjectNode net = root.putObject("network");
    net.put("type", n.type().key());
    ArrayNode hidden = net.putArray("hidden");
    n.hidden().forEach(hidden::add);
    net.put("activation", n.activation());
    net.put("dropout", n.dropout());
    net.put("batchNorm", n.batchNorm());
    if (n.type() == NetworkType.CNN) {
      ArrayNode conv = net.putArray("conv");
      for (ConvLayerSpec c : n.conv()) {
        ObjectNode o = conv.addObject();
        o.put("filters", c.filters());
        o.put("kernel", c.kernel());
        o.put("stride", c.stride());
        o.put("pool", c.pool());
      }
    }
    if (n.config() != null) {
      net.put("config", n.config());
    }

    TrainingSpec t = s.training();
    ObjectNode tr = root.putObject("training");
    tr.put("optimizer", t.optimizer().key());
    tr.put("learningRate", t.learningRate());
    ObjectNode sch = tr.putObject("schedule");
    ScheduleSpec sc = t.schedule();
    sch.put("type", sc.type().key());
    switch (sc.type()) {
      case STEP -> {
        sch.put("decay", sc.decay());
        sch.put("every", sc.every());
      }
      case EXPONENTIAL -> sch.put("decay", sc.decay());
      case COSINE -> sch.put("minLearningRate", sc.minLearningRate());
      case CONSTANT -> { }
    }
    tr.put("weightDecay", t.weightDecay());
    tr.put("batchSize", t.batchSize());
    tr.put("epochs", t.epochs());
    tr.putObject("earlyStopping").put("patience", t.earlyStoppingPatience());

    EnsembleSection e = s.ensemble();
    ObjectNode en = root.putObject("ensemble");
    en.put("members", e.members());
    en.put("seed", e.seed());
    en.put("bootstrap", e.bootstrap());
    en.put("weighting", e.weighting().key());
    en.put("temperature", e.temperature());
    en.put("mcDropoutSamples", e.mcDropoutSamples());

    ObjectNode res = root.putObject("resources");
    res.put("threadsPerMember", s.resources().threadsPerMember());
    res.put("gpusPerMember", s.resources().gpusPerMember());
    try {
      return JSON.writeValueAsString(root);
    } catch (JsonProcessingException ex) {
      throw new DeepensException("cannot write spec JSON: " + ex.getMessage(), ex);
    }
  }
}
