package io.deepens.core.spec;

/** The kind of network: a preset multilayer perceptron, a preset CNN, or a user's DL4J configuration JSON. */
public enum NetworkType {
  MLP("mlp"),
  CNN("cnn"),
  DL4J_JSON("dl4j-json");

  private final String key;

  NetworkType(String key) {
    this.key = key;
  }

  /** The word used in spec files. */
  public String key() {
    return key;
  }
}
