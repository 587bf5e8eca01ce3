package io.deepens.core.lean;

/** The softmax of the lean paths, in float and in DL4J's order of operations. */
final class Softmax {
  private Softmax() {}

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
