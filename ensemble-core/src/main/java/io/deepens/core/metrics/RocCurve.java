package io.deepens.core.metrics;

/**
 * The points of a ROC curve, from {@code (0, 0)} to {@code (1, 1)}, one point per distinct score threshold taken in
 * decreasing order (tied scores form a single step, i.e. a diagonal segment). The trapezoidal area under these points
 * is the tie-aware AUROC.
 */
public record RocCurve(double[] fpr, double[] tpr) {}
