/**
 * Fitting the ensemble's combination on validation data, on the driver, after the members are trained.
 *
 * <ul>
 *   <li>{@link io.deepens.core.weighting.Stacking}: mixture weights maximising the validation log score (stacking of
 *       predictive distributions, Yao, Vehtari, Simpson &amp; Gelman, Bayesian Analysis 2018), by EM;</li>
 *   <li>{@link io.deepens.core.weighting.PseudoBma}: pseudo-BMA and pseudo-BMA+ (Bayesian bootstrap) weights from
 *       the same log-likelihoods (Yao et al. 2018, section 3.4);</li>
 *   <li>{@link io.deepens.core.weighting.TemperatureScaling}: one temperature for the whole mixture (Guo, Pleiss, Sun
 *       &amp; Weinberger, ICML 2017);</li>
 *   <li>{@link io.deepens.core.weighting.EnsembleDiagnostics}: effective number of members and prediction
 *       disagreement, for the report.</li>
 * </ul>
 * The results are stored in the manifest and applied by {@link io.deepens.core.mixture.PosteriorMixture}. Uniform
 * weights (Lakshminarayanan et al. 2017) remain the default.
 */
package io.deepens.core.weighting;
