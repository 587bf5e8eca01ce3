package io.deepens.core.metrics;

/**
 * A reliability diagram (Guo et al. 2017, section 2): rows are grouped by confidence (the maximum predicted
 * probability) into equal-width bins {@code (binLower, binUpper]} (the first bin also holds confidence 0). For each bin:
 * the number of rows, their mean confidence and their accuracy. Empty bins have {@code count = 0} and
 * {@code meanConfidence = accuracy = NaN}; plots should skip them.
 */
public record ReliabilityDiagram(double[] binLower, double[] binUpper, long[] count, double[] meanConfidence,
    double[] accuracy) {}
