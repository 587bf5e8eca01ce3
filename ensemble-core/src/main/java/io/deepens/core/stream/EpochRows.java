package io.deepens.core.stream;

import java.nio.FloatBuffer;

/**
 * One epoch of a member's training rows in the member's order for that epoch. The accessors describe the row of
 * the last {@link #next()} that returned true.
 */
public interface EpochRows extends AutoCloseable {
  /** Advances to the next row; false at the epoch's end. */
  boolean next();

  /** The current row's label or target. */
  float label();

  /** Copies the current row's features to {@code dst} at absolute index {@code index}. */
  void copyFeatures(FloatBuffer dst, int index);

  /** Rows returned by {@link #next()} so far. */
  long position();

  @Override
  void close();
}
