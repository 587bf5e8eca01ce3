package io.deepens.spark.data;

import java.nio.charset.StandardCharsets;

/**
 * 64-bit row keys. A key column's value is mixed with SplitMix64's finaliser (so consecutive ids spread out);
 * without a key column, the key is a hash of the features' float bits and the label, so identical rows share a key
 * (and are indistinguishable to training anyway). The mixing is fixed: changing it changes every ensemble.
 */
public final class RowKeys {
  private RowKeys() {}

  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  public static long ofLong(long key) {
    return mix(key + 0x9e3779b97f4a7c15L);
  }

  public static long ofString(String key) {
    long h = 0x84222325cbf29ce4L;
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    return mix(h);
  }

  public static long ofContent(float[] features, int offset, int n, float label) {
    long h = 0x6a09e667f3bcc909L;
    for (int j = 0; j < n; j++) {
      h = mix(h ^ Float.floatToIntBits(features[offset + j]));
    }
    return mix(h ^ Float.floatToIntBits(label) ^ 0x3c6ef372fe94f82bL);
  }

  /** A number in [0, 1) from a key and a seed: the validation split puts a row in validation when below the fraction. */
  public static double unit(long key, long seed) {
    return (mix(key ^ mix(seed)) >>> 11) * 0x1.0p-53;
  }
}
