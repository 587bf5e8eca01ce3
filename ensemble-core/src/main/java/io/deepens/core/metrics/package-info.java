/**
 * Evaluation metrics, each a mergeable accumulator: {@code add} a batch on an executor, {@code merge} partials on the
 * driver (or in a Spark {@code treeAggregate}), read the value at the end. Merging two partials gives the one-pass
 * result up to floating-point summation order (the sufficient statistics are sums and counts in {@code double} /
 * {@code long}).
 *
 * <ul>
 *   <li>{@link io.deepens.core.metrics.ClassificationMetrics}: accuracy, negative log-likelihood, Brier score,
 *       expected calibration error and the reliability diagram (Guo et al. 2017);</li>
 *   <li>{@link io.deepens.core.metrics.RegressionMetrics}: RMSE, Gaussian NLL, central-interval coverage;</li>
 *   <li>{@link io.deepens.core.metrics.Roc} (exact) and {@link io.deepens.core.metrics.BinnedRoc} (bounded memory,
 *       with a proven error bound): AUROC / average precision for separating in- from out-of-distribution data by an
 *       uncertainty score (Lakshminarayanan et al. 2017, section 3.5);</li>
 *   <li>{@link io.deepens.core.metrics.Histogram}: fixed-bin histograms for the report's entropy / MI plots.</li>
 * </ul>
 */
package io.deepens.core.metrics;
