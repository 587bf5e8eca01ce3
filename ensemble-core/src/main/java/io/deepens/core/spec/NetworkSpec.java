package io.deepens.core.spec;

import io.deepens.core.InvalidInputException;
import java.util.List;
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
}
