package io.deepens.core.train;

import io.deepens.core.DeepensException;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A member's rows in row order: a float32 feature matrix (rows × features) and one float label or target per row.
 * Built once by {@link TrainingSetBuilder}; read many times (once per epoch) by the trainer. The rows may be stored
 * in the order they arrived and read in another ({@link TrainingSetBuilder#build(int[])}). Storage is either
 * heap arrays or a memory-mapped spill file, split into mappings of whole rows of at most 1 GiB each (a single
 * {@code MappedByteBuffer} cannot exceed 2 GiB); the spill file is deleted by {@link #close()}.
 *
 * <p>Not thread-safe for concurrent {@link #close()}; reads from several threads are safe.
 */
public final class TrainingSet implements AutoCloseable {
  private final int rows;
  private final int numFeatures;
  // heap storage
  private final float[] heapFeatures;
  private final float[] heapLabels;
  // mapped storage: row r lives in chunk r / rowsPerChunk at row offset r % rowsPerChunk, stride numFeatures + 1
  private final FloatBuffer[] chunks;
  private final int rowsPerChunk;
  private final Path spillFile;
  // row r of the set is stored row order[r]; null when rows are stored in set order
  private final int[] order;
  private volatile boolean closed;

  TrainingSet(int rows, int numFeatures, float[] features, float[] labels, int[] order) {
    this.rows = rows;
    this.numFeatures = numFeatures;
    this.heapFeatures = features;
    this.heapLabels = labels;
    this.chunks = null;
    this.rowsPerChunk = 0;
    this.spillFile = null;
    this.order = order;
  }

  TrainingSet(int rows, int numFeatures, FloatBuffer[] chunks, int rowsPerChunk, Path spillFile, int[] order) {
    this.rows = rows;
    this.numFeatures = numFeatures;
    this.heapFeatures = null;
    this.heapLabels = null;
    this.chunks = chunks;
    this.rowsPerChunk = rowsPerChunk;
    this.spillFile = spillFile;
    this.order = order;
  }

  /**
   * A heap set over {@code features} (row-major, at least rows × numFeatures) and {@code labels}, which the set takes
   * over without copying; row r of the set is stored row {@code order[r]}, or row r when {@code order} is null.
   */
  public static TrainingSet wrap(int rows, int numFeatures, float[] features, float[] labels, int[] order) {
    io.deepens.core.InvalidInputException.check(rows >= 0 && numFeatures >= 1 && features.length >= (long) rows
        * numFeatures && labels.length >= rows && (order == null || order.length == rows),
        "arrays of %d features and %d labels cannot hold %d rows of %d features", features.length, labels.length,
        rows, numFeatures);
    return new TrainingSet(rows, numFeatures, features, labels, order);
  }

  /** A heap set from arrays (copied); convenient for tests and small data. */
  public static TrainingSet of(float[][] features, float[] labels) {
    if (features.length != labels.length) {
      throw new io.deepens.core.InvalidInputException(
          "features have " + features.length + " rows but labels have " + labels.length);
    }
    int nf = features.length == 0 ? 1 : features[0].length;
    TrainingSetBuilder b = new TrainingSetBuilder(nf, null);
    for (int i = 0; i < features.length; i++) {
      b.add(features[i], labels[i]);
    }
    return b.build();
  }

  public int numRows() {
    return rows;
  }

  public int numFeatures() {
    return numFeatures;
  }

  /** True when the rows live in a memory-mapped spill file. */
  public boolean isSpilled() {
    return chunks != null;
  }

  public float label(int row) {
    row = stored(row);
    if (heapLabels != null) {
      return heapLabels[row];
    }
    int c = row / rowsPerChunk;
    return chunks[c].get((row - c * rowsPerChunk) * (numFeatures + 1) + numFeatures);
  }

  /** Copies row {@code row}'s features into {@code dst} at absolute float index {@code dstIndex}. */
  public void copyFeatures(int row, FloatBuffer dst, int dstIndex) {
    row = stored(row);
    if (heapFeatures != null) {
      dst.put(dstIndex, heapFeatures, row * numFeatures, numFeatures);
    } else {
      int c = row / rowsPerChunk;
      dst.put(dstIndex, chunks[c], (row - c * rowsPerChunk) * (numFeatures + 1), numFeatures);
    }
  }

  /** Copies row {@code row}'s features into {@code dst} at {@code offset}. */
  public void copyFeatures(int row, float[] dst, int offset) {
    row = stored(row);
    if (heapFeatures != null) {
      System.arraycopy(heapFeatures, row * numFeatures, dst, offset, numFeatures);
    } else {
      int c = row / rowsPerChunk;
      chunks[c].get((row - c * rowsPerChunk) * (numFeatures + 1), dst, offset, numFeatures);
    }
  }

  /** A new array with row {@code row}'s features. */
  public float[] features(int row) {
    float[] out = new float[numFeatures];
    copyFeatures(row, out, 0);
    return out;
  }

  /** Where row {@code row} of the set is stored, after checking that it exists and the set is open. */
  private int stored(int row) {
    if (closed) {
      throw new IllegalStateException("the training set is closed");
    }
    if (row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException("row " + row + " is outside 0.." + (rows - 1));
    }
    return order == null ? row : order[row];
  }

  /** Deletes the spill file, if any. The mappings stay valid until garbage-collected, but reads are refused. */
  @Override
  public void close() {
    closed = true;
    if (spillFile != null) {
      try {
        Files.deleteIfExists(spillFile);
      } catch (IOException e) {
        throw new DeepensException("cannot delete spill file " + spillFile + ": " + e.getMessage(), e);
      }
    }
  }
}
