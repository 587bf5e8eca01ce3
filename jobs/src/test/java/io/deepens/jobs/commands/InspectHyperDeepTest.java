package io.deepens.jobs.commands;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.deepens.core.hyper.GreedySelection;
import io.deepens.core.hyper.HyperDeepReport;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code inspect} shows a hyper-deep ensemble's pool, selection path, retrained members and cost. */
class InspectHyperDeepTest {
  @Test
  void poolPathMembersAndCostArePrinted() {
    HyperDeepReport h = new HyperDeepReport(
        List.of(new HyperDeepReport.PoolCandidate(0, "OK", 0.00246, 1.82e-5, 0.0, List.of(32, 32), 0.0482, 0.9884, 10,
                0, "aa"),
            new HyperDeepReport.PoolCandidate(1, "DIVERGED", 0.01, 1e-4, 0.1, List.of(128, 128), null, null, 3, 0,
                "bb")),
        new HyperDeepReport.Selection("greedy", 4, List.of(new GreedySelection.Step(1, 0, 1, 0.0482),
            new GreedySelection.Step(2, 0, 2, 0.0482)), new int[] {2, 0}, "size limit", "largest remainder"),
        List.of(new HyperDeepReport.RetrainedMember(2, 0)), HyperDeepReport.Cost.of(13, 10, 1, 10));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    InspectCommand.printHyperDeep(h, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertEquals("""

        hyper-deep pool (2 candidates):
          candidate status          learnRate weightDecay  dropout hidden        epochs    val NLL    val acc
          0         OK                0.00246    1.82e-05   0.0000 [32, 32]          10     0.0482     0.9884  selected x2
          1         DIVERGED           0.0100    0.000100   0.1000 [128, 128]         3          -          -
        selection: greedy, at most 4 picks, stopped: size limit
          step 1: +candidate 0 -> mixture val NLL 0.0482
          step 2: +candidate 0 -> mixture val NLL 0.0482
        retrained members (largest remainder):
          member 2 <- candidate 0
        cost: 23 member-epochs (pool 13 + retraining 10) = 2.30 x a plain ensemble's 10
        """, bytes.toString(StandardCharsets.UTF_8));
  }
}
