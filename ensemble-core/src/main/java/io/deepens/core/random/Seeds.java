package io.deepens.core.random;

import io.deepens.core.InvalidInputException;
import java.nio.charset.StandardCharsets;

/**
 * Deterministic seed splitting and row hashing, built on the SplitMix64 finaliser (Steele, Lea and Flood 2014,
 * "Fast splittable pseudorandom number generators"; the mixer is Stafford's variant 13):
 *
 * <pre>
 * mix64(z):  z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9
 *            z = (z ^ (z >>> 27)) * 0x94D049BB133111EB
 *            return z ^ (z >>> 31)
 * </pre>
 *
 * mix64 is a bijection on 64-bit values with full avalanche, so distinct inputs give distinct, uncorrelated looking
 * outputs. {@link #derive} absorbs its inputs one at a time, each offset by a distinct multiple of the golden gamma
 * γ = 0x9E3779B97F4A7C15 so that the position of an input matters:
 *
 * <pre>
 * h = mix64(ensembleSeed + γ)
 * h = mix64(h ^ mix64(member       + 2γ))
 * h = mix64(h ^ mix64(purposeCode  + 3γ))
 * h = mix64(h ^ mix64(epoch        + 4γ))
 * </pre>
 *
 * Per-row values ({@link #rowOrderKey}, {@link Bootstrap#multiplicity}) hash a member seed with a 64-bit row key,
 * so they depend on the row's content or key only — never on which partition or in which order the row is seen.
 */
public final class Seeds {
  /** The golden-ratio increment of SplitMix64. */
  public static final long GAMMA = 0x9E3779B97F4A7C15L;

  private Seeds() {}

  /** The SplitMix64 finaliser (see the class comment). */
  public static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * The seed for one purpose of one member in one epoch (use epoch 0 for purposes that are not per epoch).
   *
   * @param member member index, >= 0
   * @param epoch epoch index, >= 0
   */
  public static long derive(long ensembleSeed, int member, SeedPurpose purpose, int epoch) {
    InvalidInputException.check(member >= 0, "member must be >= 0, found %d", member);
    InvalidInputException.check(epoch >= 0, "epoch must be >= 0, found %d", epoch);
    InvalidInputException.check(purpose != null, "purpose must be given");
    long h = mix64(ensembleSeed + GAMMA);
    h = mix64(h ^ mix64(member + 2 * GAMMA));
    h = mix64(h ^ mix64(purpose.code() + 3 * GAMMA));
    return mix64(h ^ mix64(epoch + 4 * GAMMA));
  }

  /**
   * A pseudo-random sort key for a row in a member's partition: {@code mix64(memberSeed ^ mix64(rowKey + γ))}.
   * Sorting by it gives a uniformly random order that depends only on the member seed and the rows' keys.
   */
  public static long rowOrderKey(long memberSeed, long rowKey) {
    return mix64(memberSeed ^ mix64(rowKey + GAMMA));
  }

  /** A 64-bit key for a numeric key column value: {@code mix64(key)}. */
  public static long rowKey(long key) {
    return mix64(key);
  }

  /**
   * A 64-bit key for a string key column value: 64-bit FNV-1a over its UTF-8 bytes, finished with mix64 of the
   * hash plus the byte length.
   */
  public static long rowKey(String key) {
    InvalidInputException.check(key != null, "a row key must not be null");
    byte[] b = key.getBytes(StandardCharsets.UTF_8);
    long h = 0xCBF29CE484222325L;
    for (byte x : b) {
      h = (h ^ (x & 0xFF)) * 0x100000001B3L;
    }
    return mix64(h + b.length * GAMMA);
  }

  /**
   * A 64-bit content hash of a row for tables without a key column: the float bits of every feature (−0 folded to
   * +0, every NaN to the canonical NaN) and the double bits of the label, absorbed as in {@link #derive}. Equal
   * rows get equal keys, so exact duplicate rows share a key.
   */
  public static long rowKey(float[] features, double label) {
    InvalidInputException.check(features != null, "row features must not be null");
    long h = mix64(features.length + GAMMA);
    for (float f : features) {
      int bits = f == 0f ? 0 : Float.floatToIntBits(f);
      h = mix64(h ^ (bits & 0xFFFFFFFFL) + 2 * GAMMA);
    }
    long lb = label == 0d ? 0L : Double.doubleToLongBits(label);
    return mix64(h ^ mix64(lb + 3 * GAMMA));
  }

  /**
   * The deterministic validation split: a row is held out when u < fraction, with u uniform in [0, 1) from
   * {@code mix64(derive(ensembleSeed, 0, VALIDATION_SPLIT, 0) ^ mix64(rowKey + 6γ))}. One split per ensemble (it
   * does not depend on the member), the same wherever and in whatever order the row is seen.
   *
   * @param fraction share of rows to hold out, in [0, 1]
   */
  public static boolean isValidationRow(long ensembleSeed, long rowKey, double fraction) {
    InvalidInputException.check(
        fraction >= 0 && fraction <= 1, "validation fraction must be in [0, 1], found %s", fraction);
    long splitSeed = derive(ensembleSeed, 0, SeedPurpose.VALIDATION_SPLIT, 0);
    return toUnitInterval(mix64(splitSeed ^ mix64(rowKey + 6 * GAMMA))) < fraction;
  }

  /** A double uniform in [0, 1) from the top 53 bits of a 64-bit hash. */
  public static double toUnitInterval(long hash) {
    return (hash >>> 11) * 0x1.0p-53;
  }
}
