/**
 * Hyper-deep ensembles (Wenzel, Snoek, Tran and Jenatton, NeurIPS 2020), without Spark: the candidates' hyperparameter
 * draws ({@link io.deepens.core.hyper.HyperSearch}), greedy ensemble selection with replacement on validation NLL
 * (Caruana, Niculescu-Mizil, Crew and Ksikes, ICML 2004; {@link io.deepens.core.hyper.GreedySelection}), the
 * allocation of the published members to the selected settings ({@link io.deepens.core.hyper.Stratification}), and
 * what the manifest records about it ({@link io.deepens.core.hyper.HyperDeepReport}). The Spark side (the pool and
 * retraining stages) is {@code io.deepens.spark.train.SparkEnsembleTrainer}.
 */
package io.deepens.core.hyper;
