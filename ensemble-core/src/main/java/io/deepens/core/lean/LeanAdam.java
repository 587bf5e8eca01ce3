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
 * What the lean training steps share: the eligibility checks on a layer's updater and regularisation, DL4J
 * 1.0.0-M2.1's Adam arithmetic in float on heap arrays (see {@link MlpTrainingStep} for the formulas), and the
 * hand-over of the Adam moments between DL4J's updater state and those arrays. One instance per step: it holds the
 * moments between {@link #begin} and {@link #end} and updates the step's layers, given as parameter ranges.
 */
final class LeanAdam {
  private final Adam adam;
  private final AdamUpdater updater;
  /** Per layer: start and length of the weights and of the biases in the flat array, summed decay coefficient. */
  private final int[] wOff;
  private final int[] wLen;
  private final int[] bOff;
  private final int[] bLen;
  private final double[] decay;
  private float[] m;
  private float[] v;
  private boolean begun;

  LeanAdam(Adam adam, AdamUpdater updater, int[] wOff, int[] wLen, int[] bOff, int[] bLen, double[] decay) {
    this.adam = adam;
    this.updater = updater;
    this.wOff = wOff;
    this.wLen = wLen;
    this.bOff = bOff;
    this.bLen = bLen;
    this.decay = decay;
  }

  /** Whether the updater's moment views cover exactly {@code numParams} parameters. */
  boolean covers(long numParams) {
    return updater.getM().length() == numParams && updater.getV().length() == numParams;
  }

  /** Copies DL4J's Adam moments (the updater's M and V views) onto the heap; {@link #step} may run from now on. */
  void begin() {
    if (m == null) {
      m = new float[(int) updater.getM().length()];
      v = new float[(int) updater.getV().length()];
    }
    updater.getM().data().asNioFloat().get((int) updater.getM().offset(), m);
    updater.getV().data().asNioFloat().get((int) updater.getV().offset(), v);
    begun = true;
  }

  /** Writes the moments back into DL4J's updater state (nothing when not begun). */
  void end() {
    if (!begun) {
      return;
    }
    updater.getM().data().asNioFloat().put((int) updater.getM().offset(), m);
    updater.getV().data().asNioFloat().put((int) updater.getV().offset(), v);
    begun = false;
  }

  /** @throws IllegalStateException unless between {@link #begin} and {@link #end} */
  void requireBegun() {
    if (!begun) {
      throw new IllegalStateException("call begin() before step()");
    }
  }

  /**
   * One Adam update of every layer of {@code p} with gradient {@code g} at the network's {@code iteration} and
   * {@code epoch} (layer by layer: weights with their decay, then biases); returns the weight-decay score before
   * the update, which DL4J adds to the loss.
   */
  double step(float[] p, float[] g, int iteration, int epoch) {
    double lr = adam.getLearningRate(iteration, epoch);
    float alphat = alphat(adam, lr, iteration);
    double regScore = 0;
    for (int l = 0; l < decay.length; l++) {
      if (decay[l] > 0) {
        regScore += decayScore(p, wOff[l], wOff[l] + wLen[l], decay[l]);
      }
      update(p, g, m, v, wOff[l], wOff[l] + wLen[l], adam, alphat, (float) (lr * decay[l]));
      update(p, g, m, v, bOff[l], bOff[l] + bLen[l], adam, alphat, 0f);
    }
    return regScore;
  }

  /**
   * One plain SGD update (no momentum; the Adam moments are left as they are) at rate {@code lr}: per layer,
   * {@code w −= lr·g + lr·coeff·w} on the weights (the decoupled weight decay of the Adam epochs) and
   * {@code b −= lr·g} on the biases, in float. Returns the weight-decay score before the update. For the SWAG
   * epochs ({@link io.deepens.core.spec.SwagSpec}).
   */
  double sgd(float[] p, float[] g, double lr) {
    float rate = (float) lr;
    double regScore = 0;
    for (int l = 0; l < decay.length; l++) {
      if (decay[l] > 0) {
        regScore += decayScore(p, wOff[l], wOff[l] + wLen[l], decay[l]);
      }
      float wd = (float) (lr * decay[l]);
      for (int i = wOff[l], end = wOff[l] + wLen[l]; i < end; i++) {
        float up = rate * g[i];
        up += wd * p[i];
        p[i] -= up;
      }
      for (int i = bOff[l], end = bOff[l] + bLen[l]; i < end; i++) {
        p[i] -= rate * g[i];
      }
    }
    return regScore;
  }

  /**
   * Checks one parameterised layer: Adam (the same on every layer, bias included), no weight noise, constraints or
   * gradient normalisation, dropout only when {@code dropoutAllowed}, regularisation none or {@link WeightDecay}
   * with a fixed coefficient on the weights only. Returns null and records the layer's Adam in {@code adam[0]} and
   * its summed decay coefficient in {@code decay[l]}, or the failed check.
   */
  static Rejection checkLayer(BaseLayer b, boolean dropoutAllowed, Adam[] adam, double[] decay, int l) {
    if ((!dropoutAllowed && b.getIDropout() != null) || b.getWeightNoise() != null
        || (b.getConstraints() != null && !b.getConstraints().isEmpty())
        || (b.getGradientNormalization() != null && b.getGradientNormalization() != GradientNormalization.None)
        || !(b.getIUpdater() instanceof Adam)
        || !(b.getBiasUpdater() == null || b.getBiasUpdater().equals(b.getIUpdater()))) {
      return Rejection.OPTIMISER;
    }
    if (adam[0] == null) {
      adam[0] = (Adam) b.getIUpdater();
    } else if (!adam[0].equals(b.getIUpdater())) {
      return Rejection.ADAM_DIFFERS;
    }
    if (b.getRegularizationBias() != null && !b.getRegularizationBias().isEmpty()) {
      return Rejection.BIAS_REGULARISATION;
    }
    // DL4J applies every entry of the list in turn (a user's configuration may list several; NetworkFactory
    // keeps one per preset layer): the coefficients add up.
    List<Regularization> reg = b.getRegularization();
    if (reg != null) {
      for (Regularization r : reg) {
        if (r.getClass() != WeightDecay.class) {
          return Rejection.NOT_WEIGHT_DECAY;
        }
        WeightDecay wd = (WeightDecay) r;
        if (!wd.isApplyLR() || !(wd.getCoeff() instanceof org.nd4j.linalg.schedule.FixedSchedule)) {
          return Rejection.WEIGHT_DECAY_SCHEDULE;
        }
        decay[l] += wd.getCoeff().valueAt(0, 0);
      }
    }
    return null;
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
  private static float alphat(Adam adam, double lr, int iteration) {
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
  private static void update(float[] p, float[] g, float[] m, float[] v, int from, int to, Adam adam, float alphat,
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
  private static double decayScore(float[] p, int from, int to, double coeff) {
    double ss = 0;
    for (int i = from; i < to; i++) {
      ss += p[i] * p[i];
    }
    return 0.5 * coeff * ss;
  }
}
