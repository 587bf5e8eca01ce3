/**
 * deepens' core: everything about deep ensembles that does not need Spark. Sub-packages: {@code spec} (validated
 * ensemble specs), {@code random} (seed splitting), {@code network} (network presets and losses), {@code train}
 * (one member's training life), {@code mixture} (the posterior mixture and its uncertainty decomposition),
 * {@code metrics} (mergeable metric accumulators), {@code weighting} (stacking, pseudo-BMA, temperature),
 * {@code hyper} (hyper-deep ensembles: hyperparameter draws, greedy selection, retraining allocation),
 * {@code store} (the versioned ensemble store on any Hadoop FileSystem), {@code data} (embedded data sets).
 */
package io.deepens.core;
