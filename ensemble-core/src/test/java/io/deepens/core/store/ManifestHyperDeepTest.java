package io.deepens.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.hyper.GreedySelection;
import io.deepens.core.hyper.HyperDeepReport;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A manifest's optional {@code hyperDeep} record: absent for plain ensembles and old manifests, round-trips. */
class ManifestHyperDeepTest {
  final ObjectMapper json = EnsembleStore.json();

  /** A manifest as builds before the hyper-deep record wrote it (no {@code hyperDeep} key). */
  static final String OLD = """
      {"formatVersion":1,"version":"v000001","runId":"r","createdAt":"2026-12-01T00:00:00Z","task":"classification",
       "numFeatures":4,"outputs":2,"spec":null,"specSha256":null,
       "members":[{"index":0,"file":"members/m-000.zip","sha256":"ab","status":"OK","report":null}],
       "weights":[1.0],"temperature":1.0,"validation":{},"data":null,"files":{},"provenance":{}}
      """;

  @Test
  void anOldManifestReadsWithoutHyperDeepAndAPlainOneWritesNoKey() throws Exception {
    Manifest old = json.readValue(OLD, Manifest.class);
    assertNull(old.hyperDeep());
    assertEquals(1, old.usableMembers().size());
    Manifest plain = new Manifest(1, "v000002", "r", "t", "classification", 4, 2, null, null, List.of(),
        new double[0], 1.0, Map.of(), null, Map.of(), Map.of());
    assertFalse(json.writeValueAsString(plain).contains("hyperDeep"));
  }

  @Test
  void theHyperDeepRecordRoundTrips() throws Exception {
    HyperDeepReport h = new HyperDeepReport(
        List.of(new HyperDeepReport.PoolCandidate(0, "OK", 0.001, 1e-5, 0.1, List.of(64), 0.31, 0.9, 3, 0, "aa"),
            new HyperDeepReport.PoolCandidate(1, "DIVERGED", 0.01, 1e-4, 0.0, List.of(32), null, null, 1, 0, "bb")),
        new HyperDeepReport.Selection("greedy", 4, List.of(new GreedySelection.Step(1, 0, 1, 0.31)), new int[] {1, 0},
            "no addition lowers the NLL", "largest remainder"),
        List.of(new HyperDeepReport.RetrainedMember(2, 0), new HyperDeepReport.RetrainedMember(3, 0)),
        HyperDeepReport.Cost.of(4, 6, 2, 3));
    assertEquals(10, h.cost().memberEpochs());
    assertEquals(6, h.cost().plainEnsembleMemberEpochs());
    assertEquals(10 / 6.0, h.cost().ratio(), 1e-15);
    Manifest m = new Manifest(1, "v000003", "r", "t", "classification", 4, 2, null, null, List.of(), new double[0],
        1.0, Map.of(), null, Map.of(), Map.of(), h);
    String text = json.writeValueAsString(m);
    Manifest back = json.readValue(text, Manifest.class);
    assertEquals(text, json.writeValueAsString(back));
    assertEquals(h.pool(), back.hyperDeep().pool());
    assertNull(back.hyperDeep().pool().get(1).validationNll());
    assertEquals(h.members(), back.hyperDeep().members());
  }
}
