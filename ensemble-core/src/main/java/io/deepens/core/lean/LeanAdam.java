package io.deepens.core.lean;

import java.util.List;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * What the lean training steps share: the eligibility checks on a layer's updater and regularisation, and DL4J
 * 1.0.0-M2.1's Adam arithmetic in float on heap arrays (see {@link MlpTrainingStep} for the formulas).
 */
final class LeanAdam {
  /** Rejection numbers of {@link #checkLayer}; the steps add their own structural checks below 8. */
  static final int OK = 0;

  private LeanAdam() {}

  /**
   * Checks one parameterised layer: Adam (the same on every layer, bias included), no weight noise, constraints or
   * gradient normalisation, dropout only when {@code dropoutAllowed}, regularisation none or {@link WeightDecay}
   * with a fixed coefficient on the weights only. Returns {@link #OK} and records the layer's Adam in
   * {@code adam[0]} and its summed decay coefficient in {@code decay[l]}, or the number of the failed check.
   */
  static int checkLayer(BaseLayer b, boolean dropoutAllowed, Adam[] adam, double[] decay, int l) {
    if ((!dropoutAllowed && b.getIDropout() != null) || b.getWeightNoise() != null
        || (b.getConstraints() != null && !b.getConstraints().isEmpty())
        || (b.getGradientNormalization() != null && b.getGradientNormalization() != GradientNormalization.None)
        || !(b.getIUpdater() instanceof Adam)
        || !(b.getBiasUpdater() == null || b.getBiasUpdater().equals(b.getIUpdater()))) {
      return 8;
    }
    if (adam[0] == null) {
      adam[0] = (Adam) b.getIUpdater();
    } else if (!adam[0].equals(b.getIUpdater())) {
      return 9;
    }
    if (b.getRegularizationBias() != null && !b.getRegularizationBias().isEmpty()) {
      return 10;
    }
    // DL4J applies every entry of the list in turn (a user's configuration may list several; NetworkFactory
    // keeps one per preset layer): the coefficients add up.
    List<Regularization> reg = b.getRegularization();
    if (reg != null) {
      for (Regularization r : reg) {
        if (r.getClass() != WeightDecay.class) {
          return 11;
        }
        WeightDecay wd = (WeightDecay) r;
        if (!wd.isApplyLR() || !(wd.getCoeff() instanceof org.nd4j.linalg.schedule.FixedSchedule)) {
          return 12;
        }
        decay[l] += wd.getCoeff().valueAt(0, 0);
      }
    }
    return OK;
  }

  /** The network's single Adam updater over all its parameters, or null when DL4J split them into blocks. */
  static AdamUpdater singleBlock(MultiLayerNetwork net) {
    Updater u = net.getUpdater(true);
    if (!(u instanceof BaseMultiLayerUpdater)) {
      return null;
    }
    List<UpdaterBlock> blocks = ((BaseMultiLayerUpdater<?>) u).getUpdaterBlocks();
    if (blocks.size() != 1 || blocks.get(0).getParamOffsetStart() != 0
        || blocks.get(0).getParamOffsetEnd() != net.numParams()
        || !(blocks.get(0).getGradientUpdater() instanceof AdamUpdater)) {
      return null;
    }
    return (AdamUpdater) blocks.get(0).getGradientUpdater();
  }

  /** DL4J's bias-corrected step size {@code alpha_t} for the update at {@code iteration} (0-based). */
  static float alphat(Adam adam, double lr, int iteration) {
    float beta1t = (float) Math.pow((float) adam.getBeta1(), iteration + 1);
    float beta2t = (float) Math.pow((float) adam.getBeta2(), iteration + 1);
    float alphat = (float) ((float) lr * Math.sqrt(1f - beta2t) / (1f - beta1t));
    if (Float.isNaN(alphat) || alphat == 0f || Float.isInfinite(alphat)) {
      alphat = (float) adam.getEpsilon();
    }
    return alphat;
  }

  /**
   * Adam on {@code p[from, to)} with gradient {@code g} and moments {@code m}, {@code v}; then {@code wd·p} (the
   * learning rate times the decay coefficient, 0 for none) is added to the update, as DL4J's {@link WeightDecay}.
   */
  static void update(float[] p, float[] g, float[] m, float[] v, int from, int to, Adam adam, float alphat,
      float wd) {
    float beta1 = (float) adam.getBeta1();
    float beta2 = (float) adam.getBeta2();
    float eps = (float) adam.getEpsilon();
    float c1 = 1f - beta1;
    float c2 = 1f - beta2;
    // one loop for both cases: with wd = 0 the decay term is ±0 and adds nothing (bit for bit, finite p)
    for (int i = from; i < to; i++) {
      float gi = g[i];
      float mi = beta1 * m[i] + gi * c1;
      float vi = beta2 * v[i] + gi * gi * c2;
      m[i] = mi;
      v[i] = vi;
      float up = (mi * alphat) / ((float) Math.sqrt(vi) + eps);
      up += wd * p[i];
      p[i] -= up;
    }
  }

  /** DL4J's weight-decay score term {@code 0.5·coeff·Σ p²} over {@code p[from, to)}. */
  static double decayScore(float[] p, int from, int to, double coeff) {
    double ss = 0;
    for (int i = from; i < to; i++) {
      ss += p[i] * p[i];
    }
    return 0.5 * coeff * ss;
  }

  /** Copies DL4J's Adam moments (the updater's M and V views) into {@code m} and {@code v}. */
  static void readMoments(AdamUpdater updater, float[] m, float[] v) {
    updater.getM().data().asNioFloat().get((int) updater.getM().offset(), m);
    updater.getV().data().asNioFloat().get((int) updater.getV().offset(), v);
  }

  /** Writes {@code m} and {@code v} back into DL4J's Adam moments. */
  static void writeMoments(AdamUpdater updater, float[] m, float[] v) {
    updater.getM().data().asNioFloat().put((int) updater.getM().offset(), m);
    updater.getV().data().asNioFloat().put((int) updater.getV().offset(), v);
  }
}
