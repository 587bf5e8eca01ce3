package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A member task orders the rows it received exactly as {@link MemberRowKey.Order} orders their keys. */
class RowKeysTest {

  @Test
  void orderIsTheShuffleKeyOrderWhateverTheArrivalOrder() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int n : new int[] {0, 1, 2, 3, 1023, 1024, 1025, 5000}) {
      MemberTask.RowKeys keys = new MemberTask.RowKeys();
      List<MemberRowKey> objects = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        // few distinct sort keys, so that ties are decided by the row key; negative values too
        long sortKey = rnd.nextInt(50) - 25L;
        long rowKey = rnd.nextLong();
        keys.add(sortKey, rowKey);
        objects.add(new MemberRowKey(0, false, sortKey, rowKey));
      }
      int[] order = keys.order();
      // independently: sort the arrival numbers with the shuffle key's comparator
      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        expected.add(i);
      }
      MemberRowKey.Order cmp = new MemberRowKey.Order();
      expected.sort(Comparator.comparing(objects::get, cmp));
      assertEquals(n, order.length);
      assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), order, "n = " + n);
    }
  }

  @Test
  void equalKeysKeepTheirArrivalOrder() {
    MemberTask.RowKeys keys = new MemberTask.RowKeys();
    long[][] in = {{5, 1}, {3, 9}, {5, 1}, {3, 9}, {1, 1}};
    for (long[] k : in) {
      keys.add(k[0], k[1]);
    }
    assertArrayEquals(new int[] {4, 1, 3, 0, 2}, keys.order());
  }
}
