package io.deepens.core.stream;

/**
 * A forward-only reader of one split's rows, already decoded. The accessors describe the row of the last
 * {@link #next()} that returned true; the array {@link #features()} returns may be reused by the next row.
 */
public interface SplitCursor extends AutoCloseable {
  /** Advances to the next row; false (and the reader's resources released) when the split is exhausted. */
  boolean next();

  /** The row's key ({@link io.deepens.core.random.Seeds#rowKey}): bootstrap multiplicity and validation order. */
  long key();

  /** The label: class index for classification, the target for regression. */
  float label();

  /** True for a validation row (the hash split's or a validation table's): it is never trained on. */
  boolean validation();

  /** The row's features; valid until the next call of {@link #next()}. */
  float[] features();

  /**
   * Copies the row's features into {@code dst[offset ..]}: {@link #features()} copied, unless the cursor holds the row
   * elsewhere and copies it from there directly (a read-ahead block).
   */
  default void copyFeatures(float[] dst, int offset) {
    float[] x = features();
    System.arraycopy(x, 0, dst, offset, x.length);
  }

  /** Releases the reader; idempotent. */
  @Override
  void close();
}
