package io.deepens.core.mixture;

/**
 * Per-row output of {@link PosteriorMixture#regress}: the first two moments of a mixture of Gaussians
 * {@code Σ_c v_c N(μ_c, σ²_c)} (Lakshminarayanan et al. 2017, section 2.4):
 * <ul>
 *   <li>{@code mean = μ̄ = Σ_c v_c μ_c};</li>
 *   <li>{@code aleatoricVariance = Σ_c v_c σ²_c} (the weighted mean of the member variances);</li>
 *   <li>{@code epistemicVariance = Σ_c v_c (μ_c - μ̄)²} (the weighted variance of the member means);</li>
 *   <li>{@code variance = aleatoricVariance + epistemicVariance}, the variance of the mixture.</li>
 * </ul>
 * The arrays are returned as is, without copying; the caller owns them.
 */
public final class RegressionUncertainty {
  private final int rows;
  private final double[] mean;
  private final double[] variance;
  private final double[] aleatoricVariance;
  private final double[] epistemicVariance;

  RegressionUncertainty(int rows) {
    this.rows = rows;
    this.mean = new double[rows];
    this.variance = new double[rows];
    this.aleatoricVariance = new double[rows];
    this.epistemicVariance = new double[rows];
  }

  public int rows() {
    return rows;
  }

  public double[] mean() {
    return mean;
  }

  /** Total variance: aleatoric + epistemic. */
  public double[] variance() {
    return variance;
  }

  public double[] aleatoricVariance() {
    return aleatoricVariance;
  }

  public double[] epistemicVariance() {
    return epistemicVariance;
  }
}
