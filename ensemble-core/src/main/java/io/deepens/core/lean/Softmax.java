package io.deepens.core.lean;

/** The softmax and its cross-entropy of the lean paths, in float and in DL4J's order of operations. */
final class Softmax {
  /** DL4J's LossMCXENT default softmax clipping epsilon. */
  private static final double CLIP_EPS = 1e-10;

  private Softmax() {}

  /**
   * DL4J's {@code LossMCXENT} on softmax outputs: returns Σ over i < n of −y·log(clip(p, 1e−10, 1 − 1e−10)) (not yet
   * divided by the rows) for probabilities {@code probs} and one-hot {@code labels}, and sets the output layer's
   * {@code delta[i] = (p − y)·inv} ({@code inv} = 1 / rows); {@code delta} may be {@code probs}.
   */
  static double crossEntropy(float[] probs, float[] labels, int n, float inv, float[] delta) {
    double loss = 0;
    for (int i = 0; i < n; i++) {
      float pr = probs[i];
      float y = labels[i];
      if (y != 0f) {
        loss -= y * Math.log(Math.min(Math.max(pr, CLIP_EPS), 1 - CLIP_EPS));
      }
      delta[i] = (pr - y) * inv;
    }
    return loss;
  }

  /**
   * {@code dst[dOff + j] = exp(src[sOff + j] − max) / Σ exp(src[sOff + ·] − max)} for j < k; {@code src} and
   * {@code dst} may be the same array at the same offset.
   */
  static void row(float[] src, int sOff, float[] dst, int dOff, int k) {
    float max = src[sOff];
    for (int j = 1; j < k; j++) {
      max = Math.max(max, src[sOff + j]);
    }
    float sum = 0f;
    for (int j = 0; j < k; j++) {
      float e = (float) Math.exp(src[sOff + j] - max);
      dst[dOff + j] = e;
      sum += e;
    }
    for (int j = 0; j < k; j++) {
      dst[dOff + j] /= sum;
    }
  }
}
