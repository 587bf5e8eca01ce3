package io.deepens.core.train;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Collects a member's rows one at a time while a partition streams past; the row count need not be known. Without
 * a spill folder rows go to growing heap arrays (up to 2^31 − 1 floats of features); with one, they are appended to
 * a temporary file there (native byte order, each row its features then its label) that {@link #build()} maps into
 * memory in chunks of whole rows, so the set may exceed the heap. {@link #close()} deletes the file of a builder
 * that was never built. Not thread-safe.
 */
public final class TrainingSetBuilder implements AutoCloseable {
  /** Largest mapping per chunk: 1 GiB, well below the 2 GiB limit of a MappedByteBuffer. */
  static final long DEFAULT_CHUNK_BYTES = 1L << 30;

  private final int numFeatures;
  private final long chunkBytes;
  private int rows;
  private boolean built;
  // heap
  private float[] features;
  private float[] labels;
  // spill
  private final Path file;
  private FileChannel channel;
  private ByteBuffer pending;
  private FloatBuffer pendingFloats; // the same memory as pending, as floats (positions kept in step by add)

  /**
   * @param numFeatures features per row, >= 1
   * @param spillDir folder for the spill file, or null to keep rows on the heap
   */
  public TrainingSetBuilder(int numFeatures, Path spillDir) {
    this(numFeatures, spillDir, DEFAULT_CHUNK_BYTES);
  }

  TrainingSetBuilder(int numFeatures, Path spillDir, long chunkBytes) {
    InvalidInputException.check(numFeatures >= 1, "numFeatures must be >= 1, found %d", numFeatures);
    this.numFeatures = numFeatures;
    this.chunkBytes = chunkBytes;
    if (spillDir == null) {
      features = new float[numFeatures * 64];
      labels = new float[64];
      file = null;
    } else {
      try {
        Files.createDirectories(spillDir);
        file = Files.createTempFile(spillDir, "deepens-rows-", ".f32");
        channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ);
      } catch (IOException e) {
        throw new DeepensException("cannot create a spill file in " + spillDir + ": " + e.getMessage(), e);
      }
      int rowBytes = (numFeatures + 1) * Float.BYTES;
      pending = ByteBuffer.allocateDirect(Math.max(rowBytes, 1 << 20) / rowBytes * rowBytes)
          .order(ByteOrder.nativeOrder());
      pendingFloats = pending.duplicate().order(ByteOrder.nativeOrder()).clear().asFloatBuffer();
    }
  }

  /** Appends one row; {@code features} is copied. */
  public TrainingSetBuilder add(float[] rowFeatures, float label) {
    if (built) {
      throw new IllegalStateException("build() was already called");
    }
    InvalidInputException.check(
        rowFeatures != null && rowFeatures.length == numFeatures,
        "row %d has %s features, expected %d", rows, rowFeatures == null ? "no" : rowFeatures.length, numFeatures);
    if (rows == Integer.MAX_VALUE) {
      throw new InvalidInputException("a member's training set holds at most " + Integer.MAX_VALUE + " rows");
    }
    if (file == null) {
      if ((long) (rows + 1) * numFeatures > Integer.MAX_VALUE - 8) {
        throw new InvalidInputException("too many rows for the heap (" + rows + " rows of " + numFeatures
            + " features): give a spill folder");
      }
      if (rows == labels.length) {
        int cap = (int) Math.min((long) labels.length * 2, (Integer.MAX_VALUE - 8) / numFeatures);
        labels = Arrays.copyOf(labels, cap);
        features = Arrays.copyOf(features, cap * numFeatures);
      }
      System.arraycopy(rowFeatures, 0, features, rows * numFeatures, numFeatures);
      labels[rows] = label;
    } else {
      if (pending.remaining() < (numFeatures + 1) * Float.BYTES) {
        flush();
      }
      // one bulk copy per row through a float view of the native-order buffer, instead of a putFloat per value
      int at = pending.position();
      pendingFloats.position(at / Float.BYTES);
      pendingFloats.put(rowFeatures).put(label);
      pending.position(at + (numFeatures + 1) * Float.BYTES);
    }
    rows++;
    return this;
  }

  public int numRows() {
    return rows;
  }

  private void flush() {
    pending.flip();
    try {
      while (pending.hasRemaining()) {
        channel.write(pending);
      }
    } catch (IOException e) {
      throw new DeepensException("cannot write spill file " + file + ": " + e.getMessage(), e);
    }
    pending.clear();
  }

  /** The finished set, its rows in the order they were added; the builder cannot be used afterwards. */
  public TrainingSet build() {
    return build(null);
  }

  /**
   * The finished set whose row {@code r} is the row added as number {@code order[r]} (counting from 0): rows can
   * be stored as they arrive and read in an order known only once all have arrived. The builder cannot be used
   * afterwards.
   *
   * @param order a permutation of 0..numRows()-1, or null for the order of arrival
   */
  public TrainingSet build(int[] order) {
    if (built) {
      throw new IllegalStateException("build() was already called");
    }
    if (order != null) {
      checkPermutation(order);
    }
    built = true;
    if (file == null) {
      TrainingSet set = new TrainingSet(rows, numFeatures, Arrays.copyOf(features, rows * numFeatures),
          Arrays.copyOf(labels, rows), order);
      features = null;
      labels = null;
      return set;
    }
    flush();
    long rowBytes = (long) (numFeatures + 1) * Float.BYTES;
    int rowsPerChunk = (int) Math.max(1, Math.min(Integer.MAX_VALUE, chunkBytes / rowBytes));
    int nChunks = rows == 0 ? 0 : (int) ((rows + (long) rowsPerChunk - 1) / rowsPerChunk);
    FloatBuffer[] chunks = new FloatBuffer[nChunks];
    try {
      for (int c = 0; c < nChunks; c++) {
        long first = (long) c * rowsPerChunk;
        long n = Math.min(rowsPerChunk, rows - first);
        chunks[c] = channel.map(FileChannel.MapMode.READ_ONLY, first * rowBytes, n * rowBytes)
            .order(ByteOrder.nativeOrder())
            .asFloatBuffer();
      }
      channel.close();
    } catch (IOException e) {
      throw new DeepensException("cannot map spill file " + file + ": " + e.getMessage(), e);
    }
    pending = null;
    pendingFloats = null;
    return new TrainingSet(rows, numFeatures, chunks, rowsPerChunk, file, order);
  }

  private void checkPermutation(int[] order) {
    if (order.length != rows) {
      throw new IllegalArgumentException("the order lists " + order.length + " rows but " + rows + " were added");
    }
    boolean[] seen = new boolean[rows];
    for (int r : order) {
      if (r < 0 || r >= rows || seen[r]) {
        throw new IllegalArgumentException("the order is not a permutation of 0.." + (rows - 1) + " (" + r + ")");
      }
      seen[r] = true;
    }
  }

  /** Deletes the spill file if {@link #build()} was never called. */
  @Override
  public void close() {
    if (!built && file != null) {
      built = true;
      try {
        channel.close();
        Files.deleteIfExists(file);
      } catch (IOException e) {
        throw new DeepensException("cannot delete spill file " + file + ": " + e.getMessage(), e);
      }
    }
  }
}
