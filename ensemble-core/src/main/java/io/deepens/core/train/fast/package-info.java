/**
 * Lean training steps that train a DL4J network's own parameters in place, for the presets where DL4J's per-iteration
 * overhead dominates (see {@link io.deepens.core.train.fast.MlpTrainingStep} for the supported set; everything else
 * trains with {@code MultiLayerNetwork.fit}).
 */
package io.deepens.core.train.fast;
