package io.deepens.spark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A partition reported twice (a retried task, a recomputed map stage) counts once; merging is by partition. */
class PartitionProfilesTest {

  static TableProfile profile(long rows, long hash, String example) {
    TableProfile p = new TableProfile(2);
    p.rows = rows;
    p.contentHash = hash;
    p.labelCounts[1] = rows;
    p.lengths.put(4, rows);
    p.lengthExamples.put(4, example);
    return p;
  }

  @Test
  void aPartitionReportedAgainReplacesItsEarlierProfile() {
    PartitionProfiles acc = new PartitionProfiles(2);
    acc.put(0, profile(10, 5, "row a"));
    acc.put(1, profile(7, 9, "row b"));
    PartitionProfiles retry = (PartitionProfiles) acc.copyAndReset();
    assertTrue(retry.isZero());
    retry.put(1, profile(7, 9, "row b"));
    acc.merge(retry); // the driver merges the update of a second successful attempt of partition 1
    TableProfile total = acc.merged(2);
    assertEquals(17, total.rows);
    assertEquals(14, total.contentHash);
    assertEquals(17, total.labelCounts[1]);
    assertEquals(17L, total.lengths.get(4));
    assertEquals("row a", total.lengthExamples.get(4), "examples come from the lowest partition");
  }

  @Test
  void aMissingPartitionIsAnError() {
    PartitionProfiles acc = new PartitionProfiles(2);
    acc.put(1, profile(3, 1, "x"));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> acc.merged(2));
    assertTrue(e.getMessage().contains("expected partitions 0..1"), e.getMessage());
    assertEquals(0, new PartitionProfiles(2).merged(0).rows);
  }
}
