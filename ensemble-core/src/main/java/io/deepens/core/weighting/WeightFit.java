package io.deepens.core.weighting;

/**
 * The result of {@link Stacking#fit}: the weights (on the simplex), their objective (mean log score
 * {@code (1/n) Σ_i log Σ_m w_m p_m(y_i|x_i)}), the number of EM updates applied, and the objective before the first
 * update and after each one ({@code objectiveTrace.length == iterations + 1}, non-decreasing).
 */
public record WeightFit(double[] weights, double objective, int iterations, double[] objectiveTrace) {}
