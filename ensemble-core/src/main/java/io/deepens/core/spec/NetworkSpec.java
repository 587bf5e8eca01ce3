package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The member network. Presets {@code mlp} (dense hidden layers) and {@code cnn} (convolution blocks, then dense
 * hidden layers) share {@code hidden}, {@code activation}, {@code dropout} and {@code batchNorm};
 * {@code dl4j-json} takes a user's DL4J {@code MultiLayerConfiguration} or {@code ComputationGraphConfiguration} JSON
 * (a graph with one input and one output layer; see {@code NetworkFactory}) (inline; a spec file may name a file
 * with {@code configPath}, which the loader reads and inlines so that the spec is self-contained).
 *
 * @param type preset or dl4j-json
 * @param hidden dense hidden layer widths, each >= 1 (may be empty)
 * @param activation hidden activation: relu, leakyrelu, elu, gelu, swish, tanh, sigmoid, identity
 * @param dropout probability of dropping a hidden unit (applied to the input of every layer after the first),
 *     in [0, 1)
 * @param batchNorm a batch normalisation layer after every hidden layer and convolution
 * @param conv convolution blocks of the cnn preset (empty for other types)
 * @param config the DL4J configuration JSON for dl4j-json, else null
 */
public record NetworkSpec(
    NetworkType type,
    List<Integer> hidden,
    String activation,
    double dropout,
    boolean batchNorm,
    List<ConvLayerSpec> conv,
    String config) {
  /** Activations the presets accept. */
  public static final Set<String> ACTIVATIONS =
      Set.of("relu", "leakyrelu", "elu", "gelu", "swish", "tanh", "sigmoid", "identity");

  public NetworkSpec {
    InvalidInputException.check(type != null, "network.type must be given");
    hidden = hidden == null ? List.of() : List.copyOf(hidden);
    for (int i = 0; i < hidden.size(); i++) {
      InvalidInputException.check(hidden.get(i) >= 1, "network.hidden[%d] must be >= 1, found %d", i, hidden.get(i));
    }
    InvalidInputException.check(
        activation != null && ACTIVATIONS.contains(activation),
        "network.activation must be one of %s, found %s", new java.util.TreeSet<>(ACTIVATIONS), activation);
    InvalidInputException.check(
        Double.isFinite(dropout) && dropout >= 0 && dropout < 1,
        "network.dropout must be in [0, 1), found %s", dropout);
    conv = conv == null ? List.of() : List.copyOf(conv);
    InvalidInputException.check(
        type == NetworkType.CNN || conv.isEmpty(), "network.conv applies only to type cnn, found type %s", type.key());
    InvalidInputException.check(
        type != NetworkType.CNN || !conv.isEmpty(), "network.conv must list at least one block for type cnn");
    if (type == NetworkType.DL4J_JSON) {
      InvalidInputException.check(
          config != null && !config.isBlank(),
          "network.config (or network.configPath) must be given for type dl4j-json");
    } else {
      InvalidInputException.check(
          config == null, "network.config applies only to type dl4j-json, found type %s", type.key());
    }
  }

  static final String TYPE = "type";
  static final String HIDDEN = "hidden";
  static final String ACTIVATION = "activation";
  static final String DROPOUT = "dropout";
  static final String BATCH_NORM = "batchNorm";
  static final String CONV = "conv";
  static final String CONFIG = "config";
  /** Read only: a file whose text becomes {@code config}, relative to the spec file's folder. */
  static final String CONFIG_PATH = "configPath";
  /** The keys under {@code network}, in canonical order. */
  static final List<String> KEYS = List.of(TYPE, HIDDEN, ACTIVATION, DROPOUT, BATCH_NORM, CONV, CONFIG, CONFIG_PATH);

  /** Reads {@code network}; {@code configPath} is resolved against {@code base} and inlined as {@code config}. */
  static NetworkSpec read(SpecNode n, Path base) {
    NetworkType type = n.choice(TYPE, NetworkType.class, null, true);
    List<Integer> hidden = n.has(HIDDEN) ? n.intList(HIDDEN) : List.of();
    String activation = n.string(ACTIVATION, "relu", false).toLowerCase(Locale.ROOT);
    double dropout = n.dbl(DROPOUT, 0.0, false);
    boolean batchNorm = n.bool(BATCH_NORM, false);
    List<ConvLayerSpec> conv = new ArrayList<>();
    if (n.has(CONV)) {
      n.forEachObject(CONV, "a list of {" + String.join(", ", ConvLayerSpec.KEYS) + "}", ConvLayerSpec.KEYS,
          c -> conv.add(ConvLayerSpec.read(c)));
    }
    String config = n.string(CONFIG, null, false);
    String configPath = n.string(CONFIG_PATH, null, false);
    if (configPath != null) {
      InvalidInputException.check(config == null, "network: give either config or configPath, not both");
      Path p = base.resolve(configPath);
      try {
        config = Files.readString(p, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new InvalidInputException(n.child(CONFIG_PATH) + ": cannot read " + p + " ("
            + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
      }
    }
    return new NetworkSpec(type, hidden, activation, dropout, batchNorm, conv, config);
  }

  /** Writes every key with its value; {@code conv} for the cnn preset, {@code config} for dl4j-json. */
  void write(ObjectNode o) {
    o.put(TYPE, type.key());
    ArrayNode h = o.putArray(HIDDEN);
    hidden.forEach(h::add);
    o.put(ACTIVATION, activation);
    o.put(DROPOUT, dropout);
    o.put(BATCH_NORM, batchNorm);
    if (type == NetworkType.CNN) {
      ArrayNode blocks = o.putArray(CONV);
      conv.forEach(c -> c.write(blocks.addObject()));
    }
    if (config != null) {
      o.put(CONFIG, config);
    }
  }
}
