package io.deepens.core.spec;

/**
 * How the driver weights members in the mixture: equal weights (Lakshminarayanan et al. 2017), stacking of
 * predictive distributions on the validation log score, or pseudo-BMA weights (both Yao et al. 2018).
 */
public enum Weighting {
  UNIFORM("uniform"),
  STACKING("stacking"),
  PSEUDO_BMA("pseudo-bma");

  private final String key;

  Weighting(String key) {
    this.key = key;
  }

  /** The word used in spec files. */
  public String key() {
    return key;
  }
}
