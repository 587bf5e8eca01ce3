/**
 * The posterior mixture of a deep ensemble and the uncertainty read off it.
 *
 * <p>A deep ensemble (Lakshminarayanan, Pritzel &amp; Blundell, <i>Simple and Scalable Predictive Uncertainty
 * Estimation using Deep Ensembles</i>, NeurIPS 2017) approximates the Bayesian posterior predictive by a weighted
 * mixture of its members, {@code p(y|x) = Σ_m w_m p(y|x, θ_m)}. {@link io.deepens.core.mixture.PosteriorMixture}
 * holds the weights {@code w} (uniform, or fitted by {@code io.deepens.core.weighting}) and an optional temperature,
 * and turns the members' per-batch outputs into
 * <ul>
 *   <li>{@link io.deepens.core.mixture.ClassificationUncertainty}: the mixture probabilities and the entropy
 *       decomposition total = aleatoric + epistemic (Depeweg et al. 2018);</li>
 *   <li>{@link io.deepens.core.mixture.RegressionUncertainty}: the moments of a mixture of Gaussians, total variance =
 *       aleatoric (mean of member variances) + epistemic (variance of member means).</li>
 * </ul>
 * Everything here is plain {@code double} arithmetic on arrays; nothing depends on Spark or ND4J.
 */
package io.deepens.core.mixture;
