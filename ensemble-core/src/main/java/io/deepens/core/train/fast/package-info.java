/**
 * Lean paths for the presets where DL4J's per-call overhead dominates, computing what DL4J computes (to float
 * rounding) on a DL4J network's own parameters: {@link io.deepens.core.train.fast.MlpTrainingStep} trains an MLP
 * classifier in place (everything else trains with {@code fit}), and
 * {@link io.deepens.core.train.fast.MlpEnsembleForward} runs a whole ensemble of MLP classifiers' inference as one
 * stacked forward pass for scoring and evaluation (everything else runs through {@code output}). Each class
 * documents the set of networks it supports; {@code -Ddeepens.fastMlp=false} turns both off.
 */
package io.deepens.core.train.fast;
