package io.deepens.core.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.random.Bootstrap;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.train.TrainingSet;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The streaming order: permutations per epoch, bootstrap multiplicities, validation rows, the buffer's reach. */
class MemberStreamTest {
  static final long SEED = 42;

  /** The row numbers member {@code member} gets in epoch {@code epoch}, in order. */
  static List<Integer> order(ListSplitTable t, int member, int epoch, boolean bootstrap, int buffer) {
    MemberStream s = new MemberStream(t, null, t.numFeatures, SEED, member, bootstrap, buffer, 1L << 30);
    List<Integer> out = new ArrayList<>();
    FloatBuffer x = FloatBuffer.allocate(t.numFeatures);
    try (EpochRows rows = s.epoch(epoch)) {
      while (rows.next()) {
        rows.copyFeatures(x, 0);
        int row = (int) x.get(0);
        assertEquals(t.labels[row], rows.label());
        out.add(row);
        assertEquals(out.size(), rows.position());
      }
    }
    return out;
  }

  private static List<Integer> trainingRows(ListSplitTable t) {
    List<Integer> rows = new ArrayList<>();
    for (int i = 0; i < t.keys.length; i++) {
      if (!t.validation[i]) {
        rows.add(i);
      }
    }
    return rows;
  }

  private static List<Integer> sorted(List<Integer> l) {
    List<Integer> c = new ArrayList<>(l);
    c.sort(null);
    return c;
  }

  @Test
  void everyEpochIsAPermutationOfTheTrainingRowsOwnedByMemberAndEpoch() {
    ListSplitTable t = new ListSplitTable(500, 10, 0.1, 3);
    List<Integer> train = trainingRows(t);
    assertTrue(train.size() > 400 && train.size() < 490, "about 10% validation rows: " + train.size());
    Set<List<Integer>> seen = new HashSet<>();
    for (int m = 0; m < 3; m++) {
      for (int e = 0; e < 3; e++) {
        List<Integer> o = order(t, m, e, false, 64);
        assertEquals(train, sorted(o), "member " + m + " epoch " + e + ": every training row exactly once");
        assertTrue(seen.add(o), "member " + m + " epoch " + e + " repeats another member's or epoch's order");
        assertEquals(o, order(t, m, e, false, 64), "same seed, member and epoch: same order");
      }
    }
    assertEquals(t.opened, t.closed, "every split reader is closed");
  }

  /**
   * Epochs opened one after another with {@code anotherFollows} (the trainer's way: each epoch's drain fills the next
   * epoch's buffer) give every epoch exactly the rows, in exactly the order, of that epoch opened on its own: for
   * buffers of one row, smaller than a split, larger than the table, with and without bootstrap. The next epoch's
   * splits are opened while the previous one drains (so the filling happened), and every reader is closed.
   */
  @Test
  void anEpochFilledByItsPredecessorsDrainHasTheRowsAndOrderOfAFreshOne() {
    for (boolean bootstrap : new boolean[] {false, true}) {
      for (int buffer : new int[] {1, 7, 64, 600}) {
        ListSplitTable t = new ListSplitTable(500, 10, 0.1, 3);
        MemberStream s = new MemberStream(t, null, t.numFeatures, SEED, 1, bootstrap, buffer, 1L << 30);
        FloatBuffer x = FloatBuffer.allocate(t.numFeatures);
        int epochs = 4;
        for (int e = 0; e < epochs; e++) {
          List<Integer> got = new ArrayList<>();
          int openedAtEnd;
          try (EpochRows rows = s.epoch(e, e + 1 < epochs)) {
            while (rows.next()) {
              rows.copyFeatures(x, 0);
              int row = (int) x.get(0);
              assertEquals(t.labels[row], rows.label());
              got.add(row);
            }
            openedAtEnd = t.opened;
          }
          String what = "buffer " + buffer + ", bootstrap " + bootstrap + ", epoch " + e;
          assertEquals(order(new ListSplitTable(t), 1, e, bootstrap, buffer), got, what);
          if (e + 1 < epochs) {
            assertTrue(openedAtEnd > (e + 1) * t.numSplits(), what + ": the next epoch's splits opened during "
                + "the drain (" + openedAtEnd + " opened)");
          }
        }
        assertEquals(t.opened, t.closed, "every split reader is closed");
      }
    }
  }

  private static void readEpochZeroThatAnotherFollows(MemberStream s, int numFeatures) {
    FloatBuffer x = FloatBuffer.allocate(numFeatures);
    try (EpochRows rows = s.epoch(0, true)) {
      while (rows.next()) {
        rows.copyFeatures(x, 0);
      }
    }
  }

  /** An epoch asked for out of turn (not the one being filled) is read on its own, and the filled one is dropped. */
  @Test
  void anEpochOtherThanTheFilledOneIsReadFreshAndTheFilledOneIsClosed() {
    ListSplitTable t = new ListSplitTable(300, 5, 0.1, 3);
    MemberStream s = new MemberStream(t, null, t.numFeatures, SEED, 0, false, 16, 1L << 30);
    readEpochZeroThatAnotherFollows(s, t.numFeatures);
    List<Integer> got = new ArrayList<>();
    FloatBuffer x = FloatBuffer.allocate(t.numFeatures);
    try (EpochRows rows = s.epoch(2, false)) {
      while (rows.next()) {
        rows.copyFeatures(x, 0);
        got.add((int) x.get(0));
      }
    }
    assertEquals(order(new ListSplitTable(t), 0, 2, false, 16), got);
    assertEquals(t.opened, t.closed, "the filled epoch 1's readers are closed");
  }

  /** The trainer stopped early: the epoch filled ahead was never asked for, and closing the stream closes its readers. */
  @Test
  void closingTheStreamClosesAnEpochFilledAheadThatWasNeverOpened() {
    ListSplitTable t = new ListSplitTable(300, 5, 0.1, 3);
    MemberStream s = new MemberStream(t, null, t.numFeatures, SEED, 0, false, 16, 1L << 30);
    readEpochZeroThatAnotherFollows(s, t.numFeatures);
    assertTrue(t.opened > t.closed, "epoch 1's readers are open after epoch 0: " + t.opened + " opened, " + t.closed
        + " closed");
    s.close();
    assertEquals(t.opened, t.closed, "every split reader is closed");
    s.close(); // idempotent
    assertEquals(t.opened, t.closed);
  }

  @Test
  void bootstrapRowsEnterTheirMultiplicityTimesWithTheCopyPlacementsSeeds() {
    ListSplitTable t = new ListSplitTable(400, 7, 0.1, 1);
    for (int m = 0; m < 2; m++) {
      long bootstrapSeed = Seeds.derive(SEED, m, SeedPurpose.BOOTSTRAP, 0);
      List<Integer> expected = new ArrayList<>();
      for (int row : trainingRows(t)) {
        for (int k = Bootstrap.multiplicity(bootstrapSeed, t.keys[row]); k > 0; k--) {
          expected.add(row);
        }
      }
      for (int e = 0; e < 2; e++) {
        List<Integer> o = order(t, m, e, true, 50);
        assertEquals(expected, sorted(o), "member " + m + " epoch " + e);
      }
      MemberStream s = new MemberStream(t, null, 1, SEED, m, true, 50, 1L << 30);
      assertEquals(expected.size(), s.trainRows());
    }
  }

  @Test
  void aBufferAsLargeAsTheTableShufflesFullyAndASmallOneKeepsRowsNearTheirSplits() {
    ListSplitTable t = new ListSplitTable(200, 10, 0.0, 1);
    int firstSplitFirst = 0;
    int trials = 2000;
    for (int m = 0; m < trials; m++) {
      // the split read first in this member's epoch 0
      int firstSplit = StreamOrder.splitOrder(SEED, m, 0, 10)[0];
      int row = order(t, m, 0, false, 200).get(0);
      if (t.splits.get(firstSplit).contains(row)) {
        firstSplitFirst++;
      }
    }
    // full shuffle: the first row comes from the first split read with probability 1/10; binomial sd ~ 0.0067
    double share = (double) firstSplitFirst / trials;
    assertEquals(0.1, share, 0.03, "share of first rows from the first split read");
    // a buffer of one row is no shuffle: the splits' rows in the member's split order
    List<Integer> expected = new ArrayList<>();
    for (int s : StreamOrder.splitOrder(SEED, 3, 1, 10)) {
      expected.addAll(t.splits.get(s));
    }
    assertEquals(expected, order(t, 3, 1, false, 1));
    // a buffer of B rows: the row at position p was read at position < p + B
    List<Integer> o = order(t, 3, 1, false, 16);
    for (int p = 0; p < o.size(); p++) {
      assertTrue(expected.indexOf(o.get(p)) < p + 16, "row " + o.get(p) + " at " + p);
    }
  }

  @Test
  void splitOrdersArePermutationsThatDependOnMemberAndEpoch() {
    int[] a = StreamOrder.splitOrder(SEED, 0, 0, 50);
    int[] sortedA = a.clone();
    Arrays.sort(sortedA);
    for (int i = 0; i < 50; i++) {
      assertEquals(i, sortedA[i]);
    }
    assertArrayEquals(a, StreamOrder.splitOrder(SEED, 0, 0, 50));
    assertFalse(Arrays.equals(a, StreamOrder.splitOrder(SEED, 1, 0, 50)));
    assertFalse(Arrays.equals(a, StreamOrder.splitOrder(SEED, 0, 1, 50)));
  }

  @Test
  void validationRowsAreHeldOutInKeyOrderTheSameInEveryMember() {
    ListSplitTable t = new ListSplitTable(300, 4, 0.2, 2);
    List<Long> keys = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      if (t.validation[i]) {
        keys.add(t.keys[i]);
      }
    }
    keys.sort(null);
    long[] expected = keys.stream().mapToLong(Long::longValue).toArray();
    // gathered by an epoch
    MemberStream a = new MemberStream(t, null, 2, SEED, 0, false, 32, 1L << 30);
    try (EpochRows rows = a.epoch(0)) {
      while (rows.next()) {
        // train
      }
    }
    int openedAfterEpoch = t.opened;
    assertArrayEquals(expected, a.validationKeys());
    assertEquals(openedAfterEpoch, t.opened, "the epoch gathered the validation rows: no second pass");
    // read by a pass of its own
    MemberStream b = new MemberStream(t, null, 2, SEED, 1, true, 32, 1L << 30);
    assertArrayEquals(expected, b.validationKeys());
    TrainingSet va = a.validation();
    TrainingSet vb = b.validation();
    assertEquals(expected.length, va.numRows());
    for (int i = 0; i < va.numRows(); i++) {
      assertArrayEquals(va.features(i), vb.features(i), 0f);
      int row = (int) va.features(i)[0];
      assertEquals(expected[i], t.keys[row]);
      assertEquals(t.labels[row], va.label(i));
    }
    // a separate validation table: all its rows, none of the training table's
    ListSplitTable v = new ListSplitTable(40, 3, 0.0, 2);
    MemberStream c = new MemberStream(t, v, 2, SEED, 0, false, 32, 1L << 30);
    assertEquals(40, c.validation().numRows());
    // the budget
    MemberStream small = new MemberStream(t, null, 2, SEED, 0, false, 32, 100);
    InvalidInputException e = assertThrows(InvalidInputException.class, small::validation);
    assertTrue(e.getMessage().contains("data.validation.fraction"), e.getMessage());
  }

  @Test
  void targetScalingIsTheMeanAndSdOfTheTrainingCopies() {
    ListSplitTable t = new ListSplitTable(300, 4, 0.2, 1);
    long bootstrapSeed = Seeds.derive(SEED, 1, SeedPurpose.BOOTSTRAP, 0);
    double sum = 0;
    long n = 0;
    for (int row : trainingRows(t)) {
      int k = Bootstrap.multiplicity(bootstrapSeed, t.keys[row]);
      sum += k * (double) t.labels[row];
      n += k;
    }
    double mean = sum / n;
    double ss = 0;
    for (int row : trainingRows(t)) {
      int k = Bootstrap.multiplicity(bootstrapSeed, t.keys[row]);
      ss += k * (t.labels[row] - mean) * (t.labels[row] - mean);
    }
    MemberStream s = new MemberStream(t, null, 1, SEED, 1, true, 8, 1L << 30);
    double[] ms = s.targetScaling();
    assertEquals(mean, ms[0], 1e-12);
    assertEquals(Math.sqrt(ss / n), ms[1], 1e-12);
    assertEquals(n, s.trainRows());
    assertNotEquals(0, s.validationKeys().length);
  }
}
