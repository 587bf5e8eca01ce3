package io.deepens.core.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Reading ahead on a second thread changes nothing a member sees: rows, order, errors; and it stops when closed. */
class ReadAheadSplitsTest {

  /** Every row of a split as (feature, key, label, validation), in order. */
  private static List<String> rows(SplitTable t, int split) {
    List<String> out = new ArrayList<>();
    try (SplitCursor c = t.open(split)) {
      while (c.next()) {
        float[] x = c.features();
        for (float v : x) {
          assertEquals(x[0], v); // every feature of a ListSplitTable row is its row number
        }
        float[] at2 = new float[x.length + 2];
        c.copyFeatures(at2, 2);
        assertArrayEquals(x, java.util.Arrays.copyOfRange(at2, 2, at2.length), "copyFeatures agrees with features()");
        out.add(x[0] + "/" + c.key() + "/" + c.label() + "/" + c.validation());
      }
      assertFalse(c.next(), "an exhausted cursor stays exhausted");
    }
    return out;
  }

  @Test
  void sameRowsInTheSameOrderForAnyBlockSize() {
    ListSplitTable t = new ListSplitTable(1000, 3, 0.1, 5);
    for (int blockRows : new int[] {1, 7, 333, 334, 5000}) {
      for (int depth : new int[] {1, 4}) {
        ReadAheadSplits r = new ReadAheadSplits(t, 5, blockRows, depth, UnaryOperator.identity(), "test");
        assertEquals(3, r.numSplits());
        for (int s = 0; s < 3; s++) {
          List<String> direct = rows(t, s);
          assertEquals(direct, rows(r, s), "block " + blockRows + ", depth " + depth + ", split " + s);
          assertTrue(direct.size() >= 333);
        }
      }
    }
    assertEquals(t.opened, t.closed, "every wrapped cursor was closed");
  }

  @Test
  void memberOrderUnchanged() {
    ListSplitTable t = new ListSplitTable(2000, 5, 0.1, 3);
    ReadAheadSplits r = new ReadAheadSplits(t, 3, 64, 2, UnaryOperator.identity(), "test");
    for (int epoch = 0; epoch < 3; epoch++) {
      for (boolean bootstrap : new boolean[] {false, true}) {
        List<Integer> direct = MemberStreamTest.order(t, 1, epoch, bootstrap, 100);
        // MemberStreamTest.order reads through a MemberStream over the table it is given
        List<Integer> ahead = MemberStreamTest.order(wrap(t, r), 1, epoch, bootstrap, 100);
        assertEquals(direct, ahead, "epoch " + epoch + ", bootstrap " + bootstrap);
      }
    }
  }

  /** A ListSplitTable whose cursors come from {@code r} (so MemberStreamTest's helper can read through it). */
  private static ListSplitTable wrap(ListSplitTable t, ReadAheadSplits r) {
    return new ListSplitTable(t) {
      @Override
      public SplitCursor open(int split) {
        return r.open(split);
      }
    };
  }

  @Test
  void readerRunsInTheGivenContextOnAnotherThread() {
    ListSplitTable t = new ListSplitTable(100, 2, 0.0, 2);
    AtomicInteger wrapped = new AtomicInteger();
    List<Thread> readers = new ArrayList<>();
    UnaryOperator<Runnable> context = body -> () -> {
      wrapped.incrementAndGet();
      synchronized (readers) {
        readers.add(Thread.currentThread());
      }
      body.run();
    };
    ReadAheadSplits r = new ReadAheadSplits(t, 2, 10, 2, context, "test");
    assertEquals(rows(t, 0), rows(r, 0));
    assertEquals(rows(t, 1), rows(r, 1));
    assertEquals(2, wrapped.get());
    for (Thread th : readers) {
      assertFalse(th == Thread.currentThread());
      assertFalse(th.isAlive(), "the reader ended with its split");
      assertTrue(th.getName().startsWith("test-split-"));
    }
  }

  @Test
  void closingMidSplitStopsTheReaderAndClosesTheWrappedCursor() throws Exception {
    ListSplitTable t = new ListSplitTable(100_000, 1, 0.0, 4);
    List<Thread> readers = new ArrayList<>();
    UnaryOperator<Runnable> context = body -> () -> {
      synchronized (readers) {
        readers.add(Thread.currentThread());
      }
      body.run();
    };
    ReadAheadSplits r = new ReadAheadSplits(t, 4, 16, 2, context, "test");
    SplitCursor c = r.open(0);
    for (int i = 0; i < 50; i++) {
      assertTrue(c.next());
      assertEquals(i, (int) c.features()[0]);
    }
    c.close();
    c.close(); // idempotent
    assertFalse(c.next());
    assertEquals(1, readers.size());
    assertFalse(readers.get(0).isAlive(), "close() waits for the reader to stop");
    assertEquals(1, t.opened);
    assertEquals(1, t.closed, "the wrapped cursor was closed (on the reader's thread)");
  }

  @Test
  void theReadersErrorReachesTheConsumerAsThrown() {
    ListSplitTable t = new ListSplitTable(1000, 1, 0.0, 2);
    IllegalStateException boom = new IllegalStateException("row 700 does not decode");
    SplitTable failing = new SplitTable() {
      @Override
      public int numSplits() {
        return 1;
      }

      @Override
      public SplitCursor open(int split) {
        SplitCursor inner = t.open(split);
        return new SplitCursor() {
          int n;

          @Override
          public boolean next() {
            if (n++ == 700) {
              throw boom;
            }
            return inner.next();
          }

          @Override
          public long key() {
            return inner.key();
          }

          @Override
          public float label() {
            return inner.label();
          }

          @Override
          public boolean validation() {
            return inner.validation();
          }

          @Override
          public float[] features() {
            return inner.features();
          }

          @Override
          public void close() {
            inner.close();
          }
        };
      }
    };
    ReadAheadSplits r = new ReadAheadSplits(failing, 2, 64, 2, UnaryOperator.identity(), "test");
    SplitCursor c = r.open(0);
    AtomicInteger rows = new AtomicInteger();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
      while (c.next()) {
        assertEquals(rows.getAndIncrement(), (int) c.features()[0]);
      }
    });
    assertSame(boom, e);
    assertEquals(t.opened, t.closed);
    c.close();
    assertFalse(c.next());
    assertEquals(700, rows.get(), "the rows before the failure arrived first");
  }

  @Test
  void refusesBadSizes() {
    ListSplitTable t = new ListSplitTable(10, 1, 0.0, 1);
    assertThrows(InvalidInputException.class, () -> new ReadAheadSplits(t, 1, 0, 1, UnaryOperator.identity(), "x"));
    assertThrows(InvalidInputException.class, () -> new ReadAheadSplits(t, 1, 1, 0, UnaryOperator.identity(), "x"));
    assertThrows(InvalidInputException.class, () -> new ReadAheadSplits(t, 0, 1, 1, UnaryOperator.identity(), "x"));
  }
}
