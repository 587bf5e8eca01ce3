package io.deepens.jobs.commands;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** {@code inspect}'s scoring line: forward passes per row from the spec's ensemble section. */
class InspectScoringCostTest {
  private static JsonNode ensemble(String json) throws Exception {
    return new ObjectMapper().readTree(json);
  }

  @Test
  void swagSamplesMcDropoutAndPlainMembers() throws Exception {
    String swag = "{\"mcDropoutSamples\":0,\"swag\":{\"epochs\":2,\"learningRate\":0.02,\"rank\":4,"
        + "\"snapshotsPerEpoch\":2,\"samples\":10%s}}";
    assertEquals("50 forward passes per row (5 members × 10 SWAG samples; MultiSWAG: 2 SWAG epochs at learning rate"
        + " 0.02, rank 4, 2 snapshots per epoch)", InspectCommand.scoringCost(ensemble(swag.formatted("")), 5));
    assertEquals("30 forward passes per row (3 members × 10 SWAG samples; MultiSWAG: 2 SWAG epochs at learning rate"
        + " 0.02, rank 4, 2 snapshots per epoch, covariance × 2.5)",
        InspectCommand.scoringCost(ensemble(swag.formatted(",\"scale\":2.5")), 3));
    assertEquals("8 forward passes per row (2 members × 4 Monte Carlo dropout passes)",
        InspectCommand.scoringCost(ensemble("{\"mcDropoutSamples\":4}"), 2));
    assertEquals("1 forward pass per row (one per member)",
        InspectCommand.scoringCost(ensemble("{\"mcDropoutSamples\":0}"), 1));
  }
}
