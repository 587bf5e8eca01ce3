package io.deepens.core.stream;

/**
 * A table as a fixed sequence of splits (files, row groups, or whatever its source's partitions are), each of which
 * can be read from its start any number of times and yields the same rows in the same order every time. The
 * streaming placement reads a split once per epoch and keeps no copy of it.
 */
public interface SplitTable {
  /** Number of splits, >= 0. */
  int numSplits();

  /** Opens split {@code split} (0-based) at its first row; the caller closes the cursor. */
  SplitCursor open(int split);
}
