/**
 * Lean CPU paths: training steps and forward passes that compute what DL4J computes (to float rounding) on a DL4J
 * network's own parameters, for the presets where DL4J's per-call overhead dominates, and the one decision of when
 * they run. Named for what it holds, both training and inference code, not for one phase (it was
 * {@code train.fast}); it depends on no other package of this project but {@code io.deepens.core} itself, so
 * {@code network} and {@code train} both use it without a cycle.
 *
 * <ul>
 *   <li>{@link io.deepens.core.lean.LeanPath} alone decides lean versus DL4J's {@code fit} / {@code output}: on
 *       ND4J's CPU backend only (these classes call OpenBLAS on host buffers), for a supported network, with
 *       {@code -Ddeepens.fastMlp} / {@code -Ddeepens.fastCnn} not set to false; a rejected network is reported with
 *       the named {@link io.deepens.core.lean.Rejection} of the check it failed.
 *   <li>Training, behind {@link io.deepens.core.lean.LeanStep}: {@link io.deepens.core.lean.MlpTrainingStep} for MLP
 *       classifiers and {@link io.deepens.core.lean.CnnTrainingStep} for CNN classifiers, sharing DL4J's Adam
 *       arithmetic and the hand-over of its moments ({@code LeanAdam}).
 *   <li>Inference: {@link io.deepens.core.lean.CnnForward} runs a CNN member's forward pass (scoring and Monte Carlo
 *       dropout passes; the training step runs it too), and {@link io.deepens.core.lean.MlpEnsembleForward} runs a
 *       whole ensemble of MLP classifiers as one stacked forward pass for scoring and evaluation.
 *   <li>The CNN's parts: {@code CnnLayout} checks a network and lays out its parameters, {@code ConvKernels} holds
 *       the im2col / col2im and max-pooling kernels; the dense-part checks both steps make are {@code LayerChecks},
 *       the softmax and its cross-entropy {@code Softmax}.
 * </ul>
 *
 * Each class documents the networks it supports; everything else trains with {@code fit} and runs through
 * {@code output}.
 */
package io.deepens.core.lean;
