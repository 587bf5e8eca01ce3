/**
 * Lean CPU paths for the presets where DL4J's per-call overhead dominates, computing what DL4J computes (to float
 * rounding) on a DL4J network's own parameters: {@link io.deepens.core.lean.MlpTrainingStep} and
 * {@link io.deepens.core.lean.CnnTrainingStep} train MLP and CNN classifiers in place (everything else trains
 * with {@code fit}), {@link io.deepens.core.lean.MlpEnsembleForward} runs a whole ensemble of MLP classifiers'
 * inference as one stacked forward pass for scoring and evaluation, and {@code CnnTrainingStep} also serves a CNN
 * member's forward pass (everything else runs through {@code output}). Each class documents the networks it
 * supports. {@link io.deepens.core.lean.LeanPath} alone decides when they run: on ND4J's CPU backend only (they
 * call OpenBLAS on host buffers), for a supported network, with {@code -Ddeepens.fastMlp} / {@code -Ddeepens.fastCnn}
 * not set to false.
 */
package io.deepens.core.lean;
