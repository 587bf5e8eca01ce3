package io.deepens.core.spec;

/** The gradient updater of each member (DL4J's Adam, Sgd, Nesterovs with momentum 0.9). */
public enum Optimizer {
  ADAM,
  SGD,
  NESTEROVS;

  /** The word used in spec files. */
  public String key() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
