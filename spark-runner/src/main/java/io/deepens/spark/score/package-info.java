/**
 * Bulk scoring: {@link io.deepens.spark.score.EnsembleScorer} applies a published ensemble version to any Spark
 * table in bounded memory, and {@link io.deepens.spark.score.EnsembleModel} does the same as a Spark ML
 * Transformer. Executors load each version's members once per JVM ({@link io.deepens.spark.score.LoadedEnsemble}),
 * verifying every file's SHA-256 against the manifest.
 */
package io.deepens.spark.score;
