package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemberCheckpointTest {
  @Test
  void bytesRoundTripExactly() {
    List<EpochMetrics> h = List.of(
        new EpochMetrics(0, 1.25, 0.5, 0.875, null, 0.001, 12),
        new EpochMetrics(1, 0.1 + 0.2, null, null, 3.5, null, 7));
    MemberCheckpoint c = new MemberCheckpoint(3, "abc", 2, 0, Math.nextUp(0.5), 1, true, h, new byte[] {1, 2, 3},
        new byte[] {9, 8});
    MemberCheckpoint back = MemberCheckpoint.fromBytes(c.toBytes());
    assertEquals(3, back.member());
    assertEquals("abc", back.specSha256());
    assertEquals(2, back.epochsCompleted());
    assertEquals(0, back.bestEpoch());
    assertEquals(Math.nextUp(0.5), back.bestMetric(), 0.0);
    assertEquals(1, back.epochsWithoutImprovement());
    assertTrue(back.stopped());
    assertEquals(h, back.history());
    assertArrayEquals(new byte[] {1, 2, 3}, back.model());
    assertArrayEquals(new byte[] {9, 8}, back.bestParams());

    MemberCheckpoint fresh = new MemberCheckpoint(0, "abc", 0, -1, Double.POSITIVE_INFINITY, 0, false, List.of(),
        new byte[] {1}, null);
    MemberCheckpoint freshBack = MemberCheckpoint.fromBytes(fresh.toBytes());
    assertEquals(Double.POSITIVE_INFINITY, freshBack.bestMetric(), 0.0);
    assertNull(freshBack.bestParams());
  }

  @Test
  void foreignBytesAndInconsistentStateAreRejected() {
    DeepensException e = assertThrows(DeepensException.class, () -> MemberCheckpoint.fromBytes(new byte[] {80, 75,
        3, 4, 0, 0, 0, 0}));
    assertTrue(e.getMessage().startsWith("not a deepens member checkpoint"), e.getMessage());
    assertThrows(InvalidInputException.class,
        () -> new MemberCheckpoint(0, "abc", 2, 0, 1, 0, false, List.of(), new byte[] {1}, null));
  }
}
