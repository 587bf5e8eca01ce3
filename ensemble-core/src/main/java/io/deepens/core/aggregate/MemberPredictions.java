package io.deepens.core.aggregate;

/**
 * One member's outputs on the validation rows, row-major [rows x width]: class probabilities (width = classes),
 * or (mean, variance) pairs for regression (width = 2). Every member's rows are in the same order.
 */
public record MemberPredictions(int member, float[] outputs, int width) {}
