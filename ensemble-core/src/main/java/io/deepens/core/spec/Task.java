package io.deepens.core.spec;

/** What the members predict: class probabilities (softmax) or a heteroscedastic Gaussian (mean, variance). */
public enum Task {
  CLASSIFICATION,
  REGRESSION;

  /** The word used in spec files. */
  public String key() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
