package io.deepens.core.stream;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link SplitTable} of rows held in lists, for tests: row i has key {@code keys[i]}, one feature equal to i
 * (so a test can tell which row it got), label {@code labels[i]}; rows are dealt to splits in runs. Counts the
 * cursors opened and closed.
 */
class ListSplitTable implements SplitTable {
  final List<List<Integer>> splits = new ArrayList<>();
  final long[] keys;
  final float[] labels;
  final boolean[] validation;
  final int numFeatures;
  int opened;
  int closed;

  ListSplitTable(int rows, int numSplits, double validationShare, int numFeatures) {
    this.numFeatures = numFeatures;
    keys = new long[rows];
    labels = new float[rows];
    validation = new boolean[rows];
    for (int s = 0; s < numSplits; s++) {
      splits.add(new ArrayList<>());
    }
    for (int i = 0; i < rows; i++) {
      keys[i] = io.deepens.core.random.Seeds.rowKey(1000L + i);
      labels[i] = i % 10;
      validation[i] = io.deepens.core.random.Seeds.toUnitInterval(keys[i] * 31) < validationShare;
      splits.get((int) ((long) i * numSplits / rows)).add(i);
    }
  }

  /** A table with {@code other}'s rows and splits (a subclass may read them another way). */
  ListSplitTable(ListSplitTable other) {
    this.numFeatures = other.numFeatures;
    this.keys = other.keys;
    this.labels = other.labels;
    this.validation = other.validation;
    this.splits.addAll(other.splits);
  }

  @Override
  public int numSplits() {
    return splits.size();
  }

  @Override
  public SplitCursor open(int split) {
    opened++;
    List<Integer> rows = splits.get(split);
    float[] x = new float[numFeatures];
    return new SplitCursor() {
      int pos = -1;
      boolean isClosed;

      @Override
      public boolean next() {
        pos++;
        if (pos >= rows.size()) {
          close();
          return false;
        }
        java.util.Arrays.fill(x, rows.get(pos));
        return true;
      }

      @Override
      public long key() {
        return keys[rows.get(pos)];
      }

      @Override
      public float label() {
        return labels[rows.get(pos)];
      }

      @Override
      public boolean validation() {
        return validation[rows.get(pos)];
      }

      @Override
      public float[] features() {
        return x;
      }

      @Override
      public void close() {
        if (!isClosed) {
          isClosed = true;
          closed++;
        }
      }
    };
  }
}
