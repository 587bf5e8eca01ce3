package io.deepens.core.stream;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.random.Bootstrap;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.train.TrainingSet;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One member's rows streamed from a {@link SplitTable}, the way tf.data and Petastorm shuffle data that does not
 * fit in memory: in epoch e the member reads the table's splits in its own order
 * ({@link StreamOrder#splitOrder}, seeded by (seed, member, e)) and passes their training rows through a shuffle
 * buffer of B rows: the buffer fills with the first B rows, then every row handed out is drawn uniformly from the
 * buffer (a {@link SplittableRandom} seeded by {@code derive(seed, member, STREAM_BUFFER, e)}) and its slot is
 * refilled with the next row read; at the end of the table the buffer drains in random order. With B at least the
 * member's rows per epoch this is a uniformly random permutation of them; with a smaller B a row can move at most
 * about B positions ahead of its place in the split order (it can move back arbitrarily far).
 *
 * <p>Every training row enters the buffer once, or with bootstrap its {@link Bootstrap#multiplicity} times under
 * the member's bootstrap seed {@code derive(seed, member, BOOTSTRAP, 0)} (the copy placement's resample). Validation
 * rows are never trained on: they are gathered as the first epoch reads them (or read by one pass when needed
 * earlier, or from a separate validation table) and held on the heap, in row-key order, up to
 * {@code validationBudgetBytes}; a larger validation set is refused with a message saying what to change.
 *
 * <p>Everything depends only on (seed, member, epoch) and the table's splits: the same epoch opened twice gives the
 * same rows in the same order (a resumed member replays its epoch up to its checkpoint).
 *
 * <p>Two things keep the member from waiting on its source: the split after the current one is opened when the
 * current one is (a {@link ReadAheadSplits} table starts decoding it at once), and an epoch that another follows
 * ({@link #epoch(int, boolean)}) fills the next epoch's buffer during its drain, the last B rows it hands out after
 * its source is read, in the storage those rows free; so only the first epoch waits for B rows before its first
 * minibatch. Memory: B × (features + 1) floats for the buffer (allocated once per member and kept across epochs),
 * B ints per epoch for its slots, two open splits, and the validation rows.
 */
public final class MemberStream implements RowStream {
  private final SplitTable train;
  private final SplitTable validationTable;
  private final int numFeatures;
  private final long ensembleSeed;
  private final int member;
  private final Long bootstrapSeed;
  private final int bufferRows;
  private final long validationBudgetBytes;
  private final int expectedValidationRows;

  private TrainingSet validation;
  private long[] validationKeys;
  // the shuffle buffer of the last closed epoch, taken by the next: B × (features + 1) floats allocated once per
  // member, not once per epoch (tens of MB, which the JVM's G1 collector allocates outside its young generation)
  private Buffer spare;
  // the epoch an open epoch's drain is filling, handed out by the next epoch() if it asks for that epoch
  private Epoch successor;
  private long trainRows = -1;

  /**
   * @param train the training table; rows with {@link SplitCursor#validation()} are held out
   * @param validationTable a separate validation table, or null (the hash split's rows of {@code train} then)
   * @param bootstrap whether each row enters its bootstrap multiplicity times
   * @param bufferRows shuffle buffer size B, >= 1
   * @param validationBudgetBytes the most heap the validation rows may take
   */
  public MemberStream(SplitTable train, SplitTable validationTable, int numFeatures, long ensembleSeed, int member,
      boolean bootstrap, int bufferRows, long validationBudgetBytes) {
    this(train, validationTable, numFeatures, ensembleSeed, member, bootstrap, bufferRows, validationBudgetBytes, 0);
  }

  /**
   * @param expectedValidationRows how many validation rows there will be (the driver's profile counted them), so
   *     their arrays are allocated once; 0 when unknown
   */
  public MemberStream(SplitTable train, SplitTable validationTable, int numFeatures, long ensembleSeed, int member,
      boolean bootstrap, int bufferRows, long validationBudgetBytes, int expectedValidationRows) {
    InvalidInputException.check(numFeatures >= 1, "numFeatures must be >= 1, found %d", numFeatures);
    InvalidInputException.check(bufferRows >= 1, "the shuffle buffer must hold >= 1 row, found %d", bufferRows);
    this.train = train;
    this.validationTable = validationTable;
    this.numFeatures = numFeatures;
    this.ensembleSeed = ensembleSeed;
    this.member = member;
    this.bootstrapSeed = bootstrap ? Seeds.derive(ensembleSeed, member, SeedPurpose.BOOTSTRAP, 0) : null;
    this.bufferRows = bufferRows;
    this.validationBudgetBytes = validationBudgetBytes;
    this.expectedValidationRows = Math.max(0, expectedValidationRows);
  }

  @Override
  public int numFeatures() {
    return numFeatures;
  }

  @Override
  public EpochRows epoch(int epoch) {
    return epoch(epoch, false);
  }

  /**
   * Opens epoch {@code epoch}; with {@code anotherFollows}, its drain (the last B rows, handed out after the table is
   * read) already fills epoch {@code epoch + 1}'s buffer, so that epoch, opened next, starts at once. The rows and
   * their order are the same either way.
   */
  @Override
  public EpochRows epoch(int epoch, boolean anotherFollows) {
    InvalidInputException.check(epoch >= 0, "epoch must be >= 0, found %d", epoch);
    Epoch s = successor;
    if (s != null && s.epoch == epoch && s.owns && !s.closed) {
      successor = null;
      return s.withPrefill(anotherFollows);
    }
    close(); // an epoch filled ahead for another epoch than this one is dropped
    return new Epoch(epoch, anotherFollows);
  }

  /**
   * Closes the epoch being filled ahead, if the trainer never asked for it (it stopped early, diverged or failed):
   * its split readers stop.
   */
  @Override
  public void close() {
    Epoch s = successor;
    successor = null;
    if (s != null) {
      s.close();
    }
  }

  private Buffer takeSpare() {
    Buffer b = spare;
    spare = null;
    return b != null ? b : new Buffer(new float[Math.multiplyExact(bufferRows, numFeatures)], new float[bufferRows]);
  }

  @Override
  public TrainingSet validation() {
    ensureValidation();
    return validation;
  }

  @Override
  public long[] validationKeys() {
    ensureValidation();
    return validationKeys.clone();
  }

  @Override
  public long trainRows() {
    if (trainRows < 0) {
      targetScaling();
    }
    return trainRows;
  }

  @Override
  public double[] targetScaling() {
    Gathered gathered = validation == null && validationTable == null ? new Gathered() : null;
    long n = 0;
    double mean = 0;
    double m2 = 0;
    for (int s = 0; s < train.numSplits(); s++) {
      try (SplitCursor c = train.open(s)) {
        while (c.next()) {
          if (c.validation()) {
            if (gathered != null) {
              gathered.add(c);
            }
            continue;
          }
          int k = multiplicity(c.key());
          double y = c.label();
          for (int i = 0; i < k; i++) { // Welford's update, once per copy
            n++;
            double d = y - mean;
            mean += d / n;
            m2 += d * (y - mean);
          }
        }
      }
    }
    trainRows = n;
    if (gathered != null) {
      gathered.publish();
    }
    InvalidInputException.check(n > 0, "member %d has no training rows", member);
    double sd = Math.sqrt(m2 / n);
    if (!Double.isFinite(mean) || !Double.isFinite(sd)) {
      throw new InvalidInputException("member training targets must be finite numbers; their mean is " + mean);
    }
    return new double[] {mean, sd > 0 ? sd : 1.0};
  }

  private int multiplicity(long key) {
    return bootstrapSeed == null ? 1 : Bootstrap.multiplicity(bootstrapSeed, key);
  }

  /** Reads the validation rows unless an epoch (or the target pass) already gathered them. */
  private void ensureValidation() {
    if (validation != null) {
      return;
    }
    SplitTable table = validationTable != null ? validationTable : train;
    Gathered gathered = new Gathered();
    long rows = 0;
    for (int s = 0; s < table.numSplits(); s++) {
      try (SplitCursor c = table.open(s)) {
        while (c.next()) {
          if (validationTable != null || c.validation()) {
            gathered.add(c);
          } else {
            rows += multiplicity(c.key());
          }
        }
      }
    }
    if (validationTable == null) {
      trainRows = rows;
    }
    gathered.publish();
  }

  /** Validation rows in the order they were read, with their keys; published in key order. */
  private final class Gathered {
    private float[] xs;
    private float[] ys;
    private long[] keys;
    private int n;

    Gathered() {
      int capacity = Math.max(16, expectedValidationRows);
      checkBudget(capacity);
      xs = new float[Math.multiplyExact(capacity, numFeatures)];
      ys = new float[capacity];
      keys = new long[capacity];
    }

    private void checkBudget(long capacity) {
      long bytes = capacity * ((long) numFeatures + 3) * Float.BYTES;
      if (bytes > validationBudgetBytes) {
        throw new InvalidInputException(String.format(Locale.ROOT, "member %d: the validation rows (%d rows of %d "
            + "features, %d MiB) exceed the streaming placement's heap budget of %d MiB; lower "
            + "data.validation.fraction, give a smaller data.validation.table, raise the budget "
            + "(spark.deepens.stream.validationBudgetMiB) or use data.placement: copy", member, capacity,
            numFeatures, bytes >> 20, validationBudgetBytes >> 20));
      }
    }

    void add(SplitCursor c) {
      if (n == ys.length) {
        int capacity = (int) Math.min(Integer.MAX_VALUE - 8, n + (n >> 1) + 1L);
        checkBudget(capacity);
        xs = Arrays.copyOf(xs, Math.multiplyExact(capacity, numFeatures));
        ys = Arrays.copyOf(ys, capacity);
        keys = Arrays.copyOf(keys, capacity);
      }
      c.copyFeatures(xs, n * numFeatures);
      ys[n] = c.label();
      keys[n] = c.key();
      n++;
    }

    void publish() {
      Integer[] idx = new Integer[n];
      for (int i = 0; i < n; i++) {
        idx[i] = i;
      }
      long[] k = keys;
      Arrays.sort(idx, (a, b) -> Long.compare(k[a], k[b])); // stable: equal keys keep their reading order
      int[] order = new int[n];
      long[] sorted = new long[n];
      for (int i = 0; i < n; i++) {
        order[i] = idx[i];
        sorted[i] = k[idx[i]];
      }
      validation = TrainingSet.wrap(n, numFeatures, xs, ys, order);
      validationKeys = sorted;
    }
  }

  /** The shuffle buffer's storage: features and labels of B rows. */
  private record Buffer(float[] xs, float[] ys) {}

  /** One epoch: the splits in the member's order through the shuffle buffer. */
  private final class Epoch implements EpochRows {
    private final int epoch;
    private final int[] splits;
    private final SplittableRandom rnd;
    private final float[] xs;
    private final float[] ys;
    // slot[i] is where the buffer's i-th row lives in xs and ys: a row leaving the buffer swaps two ints instead of
    // moving the last row's features into its place, so a row's features are copied once in and once out.
    // slot[count ..] are the free storage rows
    private final int[] slot;
    private final Buffer buffer; // xs and ys
    private boolean owns; // a successor owns the storage once its predecessor closed
    private boolean closed;
    private final Gathered gathered;
    private boolean prefillNext;
    private Epoch successor; // epoch + 1, filled by this epoch's drain
    private int count;
    private int current = -1;
    private int nextSplit;
    private SplitCursor cursor;
    private SplitCursor ahead; // the next split's cursor, opened when the current one was
    private int pending; // copies of the cursor's row still to enter the buffer
    private boolean sourceDone;
    private long position;
    private long entered;

    /** An epoch with a buffer of its own (the stream's spare, or a new one). */
    Epoch(int epoch, boolean prefillNext) {
      this(epoch, prefillNext, takeSpare());
      for (int i = 0; i < bufferRows; i++) {
        slot[i] = i;
      }
      owns = true;
    }

    /**
     * An epoch whose buffer is {@code shared}: a successor, whose first rows enter the storage its predecessor's
     * drain frees, and which owns the storage once the predecessor closes ({@link #adopt}).
     */
    private Epoch(int epoch, boolean prefillNext, Buffer shared) {
      this.epoch = epoch;
      this.prefillNext = prefillNext;
      this.splits = StreamOrder.splitOrder(ensembleSeed, member, epoch, train.numSplits());
      this.rnd = new SplittableRandom(Seeds.derive(ensembleSeed, member, SeedPurpose.STREAM_BUFFER, epoch));
      this.buffer = shared;
      this.xs = shared.xs();
      this.ys = shared.ys();
      this.slot = new int[bufferRows];
      this.gathered = validation == null && validationTable == null ? new Gathered() : null;
    }

    @Override
    public boolean next() {
      if (current >= 0) { // the row handed out last leaves: the buffer's last row takes its place
        int last = count - 1;
        int freed = slot[current];
        slot[current] = slot[last];
        slot[last] = freed; // the next row read goes into the freed storage
        count--;
        current = -1;
      }
      while (count < bufferRows && refill()) {
        enter(slot[count]);
      }
      if (sourceDone && prefillNext) {
        prefill();
      }
      if (count == 0) {
        return false;
      }
      current = rnd.nextInt(count);
      position++;
      return true;
    }

    /** This epoch, filling its successor as it drains or not. */
    private Epoch withPrefill(boolean prefill) {
      prefillNext = prefill;
      return this;
    }

    /** The cursor's row enters the buffer at storage row {@code p}. */
    private void enter(int p) {
      cursor.copyFeatures(xs, p * numFeatures);
      ys[p] = cursor.label();
      slot[count++] = p;
      pending--;
    }

    /**
     * While this epoch drains (its source is read, no row enters), the next epoch's first rows enter the storage
     * the drain frees, one for each row handed out: the next epoch opens with its buffer (nearly) full instead of
     * filling B rows before its first minibatch. Its rows enter in the order they would enter on their own, and its
     * random draws start only when it hands rows out, so its rows and their order are the same either way.
     */
    private void prefill() {
      if (successor == null) {
        successor = new Epoch(epoch + 1, false, buffer);
        MemberStream.this.successor = successor;
      }
      Epoch next = successor;
      int top = bufferRows - 1 - next.count; // the successor takes this epoch's free storage from the top down
      if (!next.closed && top >= count && next.count < bufferRows && next.refill()) {
        next.enter(slot[top]);
      }
    }

    /** Takes over the storage of a closed predecessor: every storage row it did not fill is free. */
    private void adopt(int[] predecessorSlot) {
      System.arraycopy(predecessorSlot, 0, slot, count, bufferRows - count);
      owns = true;
    }

    /** True when the cursor holds a training row with a copy still to enter the buffer. */
    private boolean refill() {
      while (pending == 0) {
        if (sourceDone) {
          return false;
        }
        if (cursor == null) {
          if (nextSplit == splits.length) {
            sourceDone = true;
            if (gathered != null && validation == null) {
              gathered.publish();
            }
            if (trainRows >= 0 && trainRows != entered) {
              throw new DeepensException(String.format(Locale.ROOT, "member %d read %d training rows in this epoch "
                  + "but %d before: the table changed while the member trained; train again on a table that does "
                  + "not change while it is read", member, entered, trainRows));
            }
            trainRows = entered;
            return false;
          }
          // the split after this one opens now: a table that reads ahead (ReadAheadSplits) starts decoding it while
          // this one is consumed, so the member does not wait for a file to open and a first batch to decode at
          // every split boundary
          cursor = ahead != null ? ahead : train.open(splits[nextSplit]);
          ahead = null;
          nextSplit++;
          if (nextSplit < splits.length) {
            ahead = train.open(splits[nextSplit]);
          }
        }
        if (!cursor.next()) {
          cursor.close();
          cursor = null;
          continue;
        }
        if (cursor.validation()) {
          if (gathered != null) {
            gathered.add(cursor);
          }
          continue;
        }
        pending = multiplicity(cursor.key());
        entered += pending;
      }
      return true;
    }

    @Override
    public float label() {
      checkCurrent();
      return ys[slot[current]];
    }

    @Override
    public void copyFeatures(FloatBuffer dst, int index) {
      checkCurrent();
      dst.put(index, xs, slot[current] * numFeatures, numFeatures);
    }

    private void checkCurrent() {
      if (current < 0) {
        throw new IllegalStateException("no current row: call next() first");
      }
    }

    @Override
    public long position() {
      return position;
    }

    /**
     * Closes the cursors; the storage goes to this epoch's successor if it has one, else back to the stream. A
     * successor closed before it took over the storage (its epoch was not the one asked for next) leaves it.
     */
    @Override
    public void close() {
      closeCursors();
      closed = true;
      if (!owns) {
        return;
      }
      owns = false;
      if (successor != null && !successor.closed) {
        successor.adopt(slot); // the successor's rows are in the storage; the rest of it is free
      } else {
        spare = buffer;
      }
    }

    private void closeCursors() {
      if (cursor != null) {
        cursor.close();
        cursor = null;
      }
      if (ahead != null) {
        ahead.close();
        ahead = null;
      }
    }
  }
}
