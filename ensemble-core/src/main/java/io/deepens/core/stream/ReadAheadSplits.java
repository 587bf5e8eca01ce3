package io.deepens.core.stream;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.UnaryOperator;

/**
 * A {@link SplitTable} whose splits are read and decoded on a second thread, ahead of the thread that trains: the
 * reader fills blocks of {@code blockRows} decoded rows and hands them over through a queue of at most {@code depth}
 * full blocks, so while the member's step runs on one core, the table's source (Parquet decoding, mostly) runs on
 * another, the way tf.data's {@code prefetch} and PyTorch's {@code DataLoader} workers overlap input with compute.
 * The rows, their order and everything derived from them are exactly those of the wrapped table: only the thread that
 * decodes them changes.
 *
 * <p>Memory: {@code depth + 2} blocks of {@code blockRows × (numFeatures + 1)} floats and {@code blockRows} keys,
 * whatever the table's size. One reader thread per open cursor; closing the cursor (or reaching the split's end)
 * stops it and waits for it, and the reader closes the wrapped cursor on its own thread. An exception of the wrapped
 * reader is rethrown by the consumer's {@link SplitCursor#next()} as it was thrown.
 *
 * <p>It gains only where the member has a core free for it (for instance {@code resources.threadsPerMember: 2}, or
 * fewer members than cores); on a fully busy executor it costs a little switching and gains nothing.
 */
public final class ReadAheadSplits implements SplitTable {
  private final SplitTable inner;
  private final int numFeatures;
  private final int blockRows;
  private final int depth;
  private final UnaryOperator<Runnable> threadContext;
  private final String name;
  // blocks of closed cursors, reused by the next ones (a member opens its splits again every epoch): at most the
  // blocks of two cursors, the member's current split and the next one it opens ahead
  private final ConcurrentLinkedQueue<Block> pool = new ConcurrentLinkedQueue<>();

  /**
   * @param inner the table to read ahead of
   * @param blockRows rows handed over at a time, >= 1
   * @param depth full blocks the reader may hold ready, >= 1
   * @param threadContext wraps the reader's body, e.g. to give the reader thread the task's context (Spark's readers
   *     look up the task of their thread); {@code UnaryOperator.identity()} when none is needed
   * @param name the reader threads' name prefix
   */
  public ReadAheadSplits(SplitTable inner, int numFeatures, int blockRows, int depth,
      UnaryOperator<Runnable> threadContext, String name) {
    InvalidInputException.check(numFeatures >= 1, "numFeatures must be >= 1, found %d", numFeatures);
    InvalidInputException.check(blockRows >= 1, "read-ahead blocks must hold >= 1 row, found %d", blockRows);
    InvalidInputException.check(depth >= 1, "the read-ahead depth must be >= 1 block, found %d", depth);
    this.inner = inner;
    this.numFeatures = numFeatures;
    this.blockRows = blockRows;
    this.depth = depth;
    this.threadContext = threadContext;
    this.name = name;
  }

  @Override
  public int numSplits() {
    return inner.numSplits();
  }

  @Override
  public SplitCursor open(int split) {
    return new Cursor(split);
  }

  /** Decoded rows, filled by the reader and drained by the consumer. */
  private static final class Block {
    final float[] xs;
    final float[] ys;
    final long[] keys;
    final boolean[] validation;
    int n;

    Block(int rows, int numFeatures) {
      xs = new float[Math.multiplyExact(rows, numFeatures)];
      ys = new float[rows];
      keys = new long[rows];
      validation = new boolean[rows];
    }
  }

  /** The reader's last word: the split ended, or failed with {@code error}. */
  private static final Block END = new Block(0, 1);

  private final class Cursor implements SplitCursor, Runnable {
    private final int split;
    private final BlockingQueue<Block> full = new ArrayBlockingQueue<>(depth + 3); // every block + the END marker
    private final BlockingQueue<Block> free = new ArrayBlockingQueue<>(depth + 2);
    private float[] x; // features() of the current row, copied out of its block only when asked for
    private final Thread reader;
    private volatile boolean stop;
    private volatile Throwable error;
    private Block block;
    private int row;
    private boolean done;

    Cursor(int split) {
      this.split = split;
      for (int i = 0; i < depth + 2; i++) {
        Block b = pool.poll();
        free.add(b != null ? b : new Block(blockRows, numFeatures));
      }
      reader = new Thread(threadContext.apply(this), name + "-split-" + split);
      reader.setDaemon(true);
      reader.start();
    }

    /** The reader thread: fills blocks from the wrapped cursor until the split ends, fails or the cursor closes. */
    @Override
    public void run() {
      Block b = null;
      try (SplitCursor c = inner.open(split)) {
        b = take(free);
        while (b != null && !stop && c.next()) {
          int i = b.n++;
          System.arraycopy(c.features(), 0, b.xs, i * numFeatures, numFeatures);
          b.ys[i] = c.label();
          b.keys[i] = c.key();
          b.validation[i] = c.validation();
          if (b.n == blockRows) {
            put(b);
            b = take(free);
          }
        }
      } catch (Throwable t) {
        error = t;
      } finally {
        if (b != null && b.n > 0) {
          put(b); // the rows read before the end, or before the error, arrive before it
        }
        put(END);
      }
    }

    private Block take(BlockingQueue<Block> q) throws InterruptedException {
      Block b = null;
      while (b == null && !stop) {
        b = q.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
      }
      if (b != null) {
        b.n = 0;
      }
      return b;
    }

    private void put(Block b) {
      boolean interrupted = false;
      while (!stop) {
        try {
          if (full.offer(b, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            break;
          }
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public boolean next() {
      if (done) {
        return false;
      }
      if (block != null && ++row < block.n) {
        return true;
      }
      if (block != null) {
        free.add(block);
        block = null;
      }
      Block b;
      try {
        b = full.take();
      } catch (InterruptedException e) {
        close();
        Thread.currentThread().interrupt();
        throw new DeepensException("interrupted while reading split " + split + " of the table", e);
      }
      if (b == END) {
        close();
        Throwable t = error;
        if (t instanceof RuntimeException r) {
          throw r;
        } else if (t instanceof Error err) {
          throw err;
        } else if (t != null) {
          throw new DeepensException("reading split " + split + " of the table failed: " + t, t);
        }
        return false;
      }
      block = b;
      row = 0;
      return true;
    }

    @Override
    public long key() {
      return block.keys[row];
    }

    @Override
    public float label() {
      return block.ys[row];
    }

    @Override
    public boolean validation() {
      return block.validation[row];
    }

    @Override
    public float[] features() {
      if (x == null) {
        x = new float[numFeatures];
      }
      System.arraycopy(block.xs, row * numFeatures, x, 0, numFeatures);
      return x;
    }

    @Override
    public void copyFeatures(float[] dst, int offset) {
      System.arraycopy(block.xs, row * numFeatures, dst, offset, numFeatures); // the block's row, copied once
    }

    @Override
    public void close() {
      if (done) {
        return;
      }
      done = true;
      stop = true;
      full.clear();
      boolean interrupted = false;
      while (reader.isAlive()) {
        try {
          reader.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      // the reader has stopped: its blocks go back to the pool for the next split's cursor
      release(block);
      block = null;
      for (Block b; (b = full.poll()) != null; ) {
        release(b);
      }
      for (Block b; (b = free.poll()) != null; ) {
        release(b);
      }
    }

    private void release(Block b) {
      if (b != null && b != END && pool.size() < 2 * (depth + 2)) {
        pool.add(b);
      }
    }
  }
}
