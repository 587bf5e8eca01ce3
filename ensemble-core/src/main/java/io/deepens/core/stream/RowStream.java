package io.deepens.core.stream;

import io.deepens.core.train.TrainingSet;

/**
 * A member's training rows as one stream per epoch, what {@link io.deepens.core.train.MemberTrainer} trains on
 * with {@code data.placement: stream} instead of a {@link TrainingSet}. {@link MemberStream} is the implementation.
 */
public interface RowStream extends AutoCloseable {
  /** Features per row. */
  int numFeatures();

  /** Opens epoch {@code epoch}'s rows; the same epoch gives the same rows in the same order every time. */
  EpochRows epoch(int epoch);

  /**
   * Opens epoch {@code epoch}'s rows, told whether epoch {@code epoch + 1} is opened next (the stream may then read
   * its first rows ahead); the rows are those of {@link #epoch(int)}.
   */
  default EpochRows epoch(int epoch, boolean anotherFollows) {
    return epoch(epoch);
  }

  /** The validation rows in row-key order, the same in every member (read from the source if not yet seen). */
  TrainingSet validation();

  /** The keys of {@link #validation()}'s rows, in its order. */
  long[] validationKeys();

  /** The member's training rows per epoch (bootstrap copies included). */
  long trainRows();

  /**
   * The mean and standard deviation (population, double precision) of the member's training targets, bootstrap
   * copies included; a constant target gets scale 1. One pass over the table.
   */
  double[] targetScaling();

  /** Releases what the stream holds between epochs (an epoch it read ahead); idempotent. */
  @Override
  default void close() {}
}
