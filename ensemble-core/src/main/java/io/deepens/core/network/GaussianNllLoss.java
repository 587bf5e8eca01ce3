package io.deepens.core.network;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The negative log-likelihood of a heteroscedastic Gaussian (Nix and Weigend 1994; Lakshminarayanan et al. 2017,
 * eq. 1) as a DL4J loss. The output layer has two units per row: the mean μ and a raw value r that becomes the
 * variance σ² = softplus(r) + 1e-6 (softplus computed stably as max(r, 0) + log1p(exp(−|r|))). Per row, with target
 * y (column 0 of the labels; further label columns are ignored):
 *
 * <pre>
 * L = ½ log(2π) + ½ log σ² + (y − μ)² / (2σ²)
 * ∂L/∂μ = −(y − μ) / σ²
 * ∂L/∂r = (1 / (2σ²) − (y − μ)² / (2σ⁴)) · sigmoid(r)
 * </pre>
 *
 * Gradients are returned per row (not averaged): DL4J divides by the minibatch size itself. A per-row mask (one
 * column, or one per output of which the first is used) zeroes masked rows.
 *
 * <p>Target standardisation: the network works in standardised units z = (y − m) / s, where m ({@code targetMean})
 * and s ({@code targetScale}) are fixed when the network is built (the trainer uses the training targets' mean
 * and standard deviation) and saved with the loss in the network's configuration JSON. The loss above is computed
 * on z; in target units the mean is m + s·μ and the variance s²·σ², and the NLL is the z-unit NLL plus log s
 * ({@link #meanInTargetUnits}, {@link #varianceInTargetUnits}, {@link #nllOffset}). The defaults m = 0, s = 1
 * leave targets unchanged.
 */
public final class GaussianNllLoss implements ILossFunction {
  private static final long serialVersionUID = 1L;
  /** The variance floor added to softplus(r). */
  public static final double MIN_VARIANCE = 1e-6;
  private static final double HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

  @org.nd4j.shade.jackson.annotation.JsonProperty("targetMean")
  private double targetMean;
  @org.nd4j.shade.jackson.annotation.JsonProperty("targetScale")
  private double targetScale = 1.0;

  /** Targets used as they are (m = 0, s = 1). */
  public GaussianNllLoss() {}

  /**
   * Targets standardised with mean {@code targetMean} and scale {@code targetScale} (> 0).
   */
  public GaussianNllLoss(double targetMean, double targetScale) {
    if (!Double.isFinite(targetMean) || !Double.isFinite(targetScale) || targetScale <= 0) {
      throw new io.deepens.core.InvalidInputException(String.format(java.util.Locale.ROOT,
          "target standardisation needs a finite mean and a scale > 0, found mean %s and scale %s", targetMean,
          targetScale));
    }
    this.targetMean = targetMean;
    this.targetScale = targetScale;
  }

  public double targetMean() {
    return targetMean;
  }

  public double targetScale() {
    return targetScale;
  }

  /** m + s·μ: a network mean output in target units. */
  public double meanInTargetUnits(double mu) {
    return targetMean + targetScale * mu;
  }

  /** s²·(softplus(raw) + 1e-6): a network raw output as a variance in target units. */
  public double varianceInTargetUnits(double raw) {
    return targetScale * targetScale * variance(raw);
  }

  /** log s: add to an NLL in standardised units to get the NLL in target units. */
  public double nllOffset() {
    return Math.log(targetScale);
  }

  private INDArray standardisedTargets(INDArray labels, DataType type) {
    INDArray y = labels.getColumn(0, true).castTo(type);
    if (targetMean == 0 && targetScale == 1) {
      return y;
    }
    return y.sub(targetMean).divi(targetScale);
  }

  /** σ² = softplus(raw) + 1e-6 for a raw output value. */
  public static double variance(double raw) {
    return Math.max(raw, 0) + Math.log1p(Math.exp(-Math.abs(raw))) + MIN_VARIANCE;
  }

  /** The per-row NLL of target y under N(mean, variance). */
  public static double nll(double y, double mean, double variance) {
    double d = y - mean;
    return HALF_LOG_2PI + 0.5 * Math.log(variance) + d * d / (2 * variance);
  }

  private static INDArray softplusVariance(INDArray raw) {
    INDArray negAbs = Transforms.abs(raw, true).negi();
    INDArray sp = Transforms.log(Transforms.exp(negAbs, false).addi(1.0), false);
    return Transforms.relu(raw, true).addi(sp).addi(MIN_VARIANCE);
  }

  private static INDArray rowMask(INDArray mask) {
    if (mask == null) {
      return null;
    }
    return mask.rank() == 2 && mask.size(1) > 1 ? mask.getColumn(0, true) : mask.reshape(mask.size(0), 1);
  }

  @Override
  public INDArray computeScoreArray(
      INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
    INDArray out = activationFn.getActivation(preOutput.dup(), true);
    INDArray mu = out.getColumn(0, true);
    INDArray var = softplusVariance(out.getColumn(1, true));
    INDArray y = standardisedTargets(labels, out.dataType());
    INDArray d = y.sub(mu);
    INDArray score = d.muli(d).divi(var.mul(2.0)).addi(Transforms.log(var, true).muli(0.5)).addi(HALF_LOG_2PI);
    INDArray m = rowMask(mask);
    if (m != null) {
      score.muli(m.castTo(score.dataType()));
    }
    return score;
  }

  @Override
  public double computeScore(
      INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask, boolean average) {
    INDArray scores = computeScoreArray(labels, preOutput, activationFn, mask);
    double sum = scores.sumNumber().doubleValue();
    return average ? sum / scores.size(0) : sum;
  }

  @Override
  public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
    INDArray out = activationFn.getActivation(preOutput.dup(), true);
    INDArray mu = out.getColumn(0, true);
    INDArray raw = out.getColumn(1, true);
    INDArray var = softplusVariance(raw);
    INDArray y = standardisedTargets(labels, out.dataType());
    INDArray d = y.sub(mu);
    INDArray dMu = d.div(var).negi();
    INDArray d2 = d.mul(d);
    // 1/(2σ²) − d²/(2σ⁴) = (σ² − d²) / (2σ⁴)
    INDArray dVar = var.sub(d2).divi(var.mul(var).muli(2.0));
    INDArray dRaw = dVar.muli(Transforms.sigmoid(raw, true));
    INDArray dOut = Nd4j.hstack(dMu, dRaw);
    if (out.size(1) > 2) {
      INDArray full = Nd4j.zeros(out.dataType(), out.shape());
      full.getColumn(0, true).assign(dMu);
      full.getColumn(1, true).assign(dRaw);
      dOut = full;
    }
    INDArray grad = activationFn.backprop(preOutput.dup(), dOut).getFirst();
    INDArray m = rowMask(mask);
    if (m != null) {
      grad.muliColumnVector(m.castTo(grad.dataType()));
    }
    return grad;
  }

  @Override
  public Pair<Double, INDArray> computeGradientAndScore(
      INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask, boolean average) {
    return new Pair<>(
        computeScore(labels, preOutput, activationFn, mask, average),
        computeGradient(labels, preOutput, activationFn, mask));
  }

  @Override
  public String name() {
    return "GaussianNLL";
  }

  @Override
  public String toString() {
    return "GaussianNllLoss(targetMean=" + targetMean + ", targetScale=" + targetScale + ")";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GaussianNllLoss g
        && Double.compare(targetMean, g.targetMean) == 0
        && Double.compare(targetScale, g.targetScale) == 0;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(targetMean, targetScale);
  }
}
