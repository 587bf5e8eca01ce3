package io.deepens.core.stream;

import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import java.util.SplittableRandom;

/** The seeded choices of a streaming member: the order of the table's splits in each epoch. */
public final class StreamOrder {
  private StreamOrder() {}

  /**
   * Member {@code member}'s order of {@code splits} splits in epoch {@code epoch}: a Fisher–Yates permutation drawn
   * with {@link SplittableRandom} seeded by {@code derive(seed, member, STREAM_SPLIT_ORDER, epoch)}.
   */
  public static int[] splitOrder(long ensembleSeed, int member, int epoch, int splits) {
    int[] order = new int[splits];
    for (int i = 0; i < splits; i++) {
      order[i] = i;
    }
    SplittableRandom rnd = new SplittableRandom(Seeds.derive(ensembleSeed, member, SeedPurpose.STREAM_SPLIT_ORDER,
        epoch));
    for (int i = splits - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }
}
