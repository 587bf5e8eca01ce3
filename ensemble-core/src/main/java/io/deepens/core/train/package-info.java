/**
 * One ensemble member's life without Spark: its rows ({@link io.deepens.core.train.TrainingSet}, on the heap or in
 * a memory-mapped spill file), its training loop with per-epoch checkpoints, validation and early stopping
 * ({@link io.deepens.core.train.MemberTrainer}), its report, and reading, writing and running a trained member
 * ({@link io.deepens.core.train.MemberModels}, {@link io.deepens.core.train.McDropout}).
 */
package io.deepens.core.train;
