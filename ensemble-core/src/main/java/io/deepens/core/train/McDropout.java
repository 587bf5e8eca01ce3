package io.deepens.core.train;

import io.deepens.core.InvalidInputException;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.random.Seeds;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Monte Carlo dropout (Gal and Ghahramani 2016) for one member: S stochastic forward passes in which the layers that
 * have dropout run in training mode (dropout on) and every other layer runs in inference mode (batch normalisation
 * uses its running statistics); see {@link MemberNetwork#outputWithDropout}, for multilayer networks and graphs
 * alike. Pass s seeds ND4J's RNG with mix64(seed ^ mix64(s + γ)), so the samples depend only on (seed, s) — not on
 * thread or call order.
 */
public final class McDropout {
  private McDropout() {}

  /**
   * @return S arrays of rows × outputs, row-major, shaped as {@link MemberModels#predict}
   */
  public static float[][] sample(
      MemberNetwork network, float[] features, int rows, int numFeatures, int samples, long seed) {
    InvalidInputException.check(samples >= 1, "samples must be >= 1, found %d", samples);
    INDArray x = MemberModels.features(features, rows, numFeatures);
    float[][] out = new float[samples][];
    synchronized (network.model()) {
      for (int s = 0; s < samples; s++) {
        Nd4j.getRandom().setSeed(Seeds.mix64(seed ^ Seeds.mix64(s + Seeds.GAMMA)));
        out[s] = MemberModels.toOutputs(network, network.outputWithDropout(x));
      }
    }
    return out;
  }
}
