/**
 * Evaluation on Spark: a labelled test table (and optionally an out-of-distribution table) is scored member by
 * member on the executors, and every metric is accumulated there with ensemble-core's mergeable accumulators, then
 * merged with {@code treeReduce}. Nothing row-sized reaches the driver except, for AUROC, the per-row scores when
 * they fit ({@link io.deepens.spark.evaluate.SparkEvaluator#EXACT_AUROC_LIMIT}); above that the binned AUROC with its
 * stated error bound is used.
 */
package io.deepens.spark.evaluate;
