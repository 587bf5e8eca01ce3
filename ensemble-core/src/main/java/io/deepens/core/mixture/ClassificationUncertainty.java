package io.deepens.core.mixture;

/**
 * Per-row output of {@link PosteriorMixture#classify}: the mixture's predictive distribution and its uncertainty
 * decomposition. All arrays have one entry per row except {@link #probability()} ({@code rows * classes},
 * row-major).
 *
 * <p>For a mixture {@code p̄ = Σ_c v_c p_c} of components {@code c} with weights {@code v_c} (members, or
 * member × MC-dropout sample), with entropies in nats and {@code 0 · log 0 = 0}:
 * <ul>
 *   <li>{@code predictiveEntropy = H[p̄]} — total uncertainty;</li>
 *   <li>{@code expectedEntropy = Σ_c v_c H[p_c]} — aleatoric uncertainty;</li>
 *   <li>{@code mutualInformation = max(0, H[p̄] - Σ_c v_c H[p_c])} — epistemic uncertainty, the mutual information
 *       between the label and the choice of component (Depeweg et al., <i>Decomposition of Uncertainty in Bayesian
 *       Deep Learning for Efficient and Risk-sensitive Learning</i>, ICML 2018). By concavity of entropy (Jensen) the
 *       difference is never negative in exact arithmetic; rounding can make it a few ulps below zero when all
 *       components agree, so it is clamped at 0;</li>
 *   <li>{@code prediction = argmax_k p̄_k} (the lowest index on ties), {@code maxProbability = p̄_prediction};</li>
 *   <li>{@code predictedClassVariance = Σ_c v_c (p_{c,k*} - p̄_{k*})²} with {@code k* = prediction}: the weighted
 *       (population) variance of the components' probabilities for the predicted class.</li>
 * </ul>
 *
 * <p>The arrays are returned as is, without copying (this sits on the scoring hot path); the caller owns them.
 */
public final class ClassificationUncertainty {
  private final int rows;
  private final int classes;
  private final double[] probability;
  private final int[] prediction;
  private final double[] maxProbability;
  private final double[] predictiveEntropy;
  private final double[] expectedEntropy;
  private final double[] mutualInformation;
  private final double[] predictedClassVariance;

  ClassificationUncertainty(int rows, int classes) {
    this.rows = rows;
    this.classes = classes;
    this.probability = new double[rows * classes];
    this.prediction = new int[rows];
    this.maxProbability = new double[rows];
    this.predictiveEntropy = new double[rows];
    this.expectedEntropy = new double[rows];
    this.mutualInformation = new double[rows];
    this.predictedClassVariance = new double[rows];
  }

  public int rows() {
    return rows;
  }

  public int classes() {
    return classes;
  }

  /** The mixture probabilities, {@code rows * classes} row-major; each row sums to 1. */
  public double[] probability() {
    return probability;
  }

  public int[] prediction() {
    return prediction;
  }

  public double[] maxProbability() {
    return maxProbability;
  }

  /** {@code H[p̄]} in nats (total uncertainty). */
  public double[] predictiveEntropy() {
    return predictiveEntropy;
  }

  /** {@code Σ_c v_c H[p_c]} in nats (aleatoric uncertainty). */
  public double[] expectedEntropy() {
    return expectedEntropy;
  }

  /** {@code max(0, predictiveEntropy - expectedEntropy)} in nats (epistemic uncertainty). */
  public double[] mutualInformation() {
    return mutualInformation;
  }

  public double[] predictedClassVariance() {
    return predictedClassVariance;
  }
}
