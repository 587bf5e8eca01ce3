package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.InvalidInputException;
import io.deepens.core.hyper.GreedySelection;
import io.deepens.core.hyper.HyperDeepReport;
import io.deepens.core.hyper.HyperSearch;
import io.deepens.core.hyper.Stratification;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.Placement;
import io.deepens.core.store.Manifest;
import io.deepens.spark.SparkTestSupport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hyper-deep ensemble on the digits in {@code local[2]}: a pool of 4 candidates (2 epochs), greedy selection, 2
 * retrained members published; the manifest's pool, selection path and cost agree with the candidates' draws and
 * the members' reports; the same seed publishes the same parameters; and a run that failed after training resumes
 * every candidate and member from its own checkpoints. The same with {@code data.placement: stream}: candidates and
 * members read the table themselves, nothing is shuffled.
 */
class HyperDeepTrainTest {
  @TempDir Path tmp;
  final SparkSession spark = SparkTestSupport.local();

  static final int POOL = 4;
  static final int MEMBERS = 2;
  static final int EPOCHS = 2;

  static EnsembleSpec spec() {
    return SparkTestSupport.smallSpec(MEMBERS, EPOCHS, """
        hyperDeep:
          pool: %d
          search:
            learningRate: {logUniform: [0.002, 0.02]}
            weightDecay: {logUniform: [1.0e-6, 1.0e-3]}
            hidden: {choice: [16, 32]}
          selectionSize: 4
        """.formatted(POOL));
  }

  @AfterEach
  void clearFault() {
    spark.sparkContext().conf().remove(MemberTask.MEMBER_FILE_FAULT);
  }

  static EnsembleSpec streamSpec() {
    return SparkTestSupport.streamSpec(spec(), 300, 0);
  }

  SparkEnsembleTrainer.Result train(String store, String run) {
    return train(spec(), store, run);
  }

  SparkEnsembleTrainer.Result train(EnsembleSpec spec, String store, String run) {
    Dataset<Row> table = SparkTestSupport.digits(spark, 0, 7, 5, 0, 1);
    if (spec.data().placement() == Placement.STREAM) { // files, as streaming members read them (no repartition)
      Path files = tmp.resolve("digits-parquet");
      if (!files.toFile().exists()) {
        table.write().parquet(files.toString());
      }
      table = spark.read().parquet(files.toString());
    }
    return new SparkEnsembleTrainer(spark).train(table, null, spec,
        new SparkEnsembleTrainer.Options(tmp.resolve(store).toString(), run, "digits", Map.of()));
  }

  static List<String> paramsSha256(Manifest m) {
    List<String> out = new ArrayList<>();
    for (Manifest.MemberEntry e : m.members()) {
      out.add(e.report().path("report").path("paramsSha256").asText());
    }
    return out;
  }

  @Test
  void aPoolIsTrainedSelectedAndRetrainedIntoThePublishedMembersDeterministically() {
    poolSelectedAndRetrained(spec());
  }

  @Test
  void streamingCandidatesAndMembersArePooledSelectedAndRetrainedWithoutAShuffle() {
    Manifest m = poolSelectedAndRetrained(streamSpec());
    assertEquals("stream", StreamPlacementTest.timing(m).get("placement"));
    assertEquals(0L, ((Number) StreamPlacementTest.timing(m).get("shuffleWriteBytes")).longValue(),
        "stream: no shuffle write");
  }

  /** Trains {@code spec} twice (stores a and b) and checks the pool, selection, retraining and cost; returns a's. */
  Manifest poolSelectedAndRetrained(EnsembleSpec spec) {
    Manifest m = train(spec, "a", "hyper").manifest();
    HyperDeepReport h = m.hyperDeep();
    assertNotNull(h, "the manifest records the hyper-deep pool");
    // the pool: every candidate with the hyperparameters HyperSearch draws for it, trained and scored
    assertEquals(POOL, h.pool().size());
    List<HyperSearch.Candidate> candidates = HyperSearch.pool(spec);
    double bestNll = Double.POSITIVE_INFINITY;
    int best = -1;
    for (HyperDeepReport.PoolCandidate c : h.pool()) {
      HyperSearch.Candidate d = candidates.get(c.candidate());
      assertEquals(d.learningRate(), c.learningRate(), 0.0);
      assertEquals(d.weightDecay(), c.weightDecay(), 0.0);
      assertEquals(d.hidden(), c.hidden());
      assertEquals("OK", c.status());
      assertEquals(EPOCHS, c.epochsRun());
      assertEquals(0, c.resumedFromEpoch());
      assertNotNull(c.validationNll());
      assertTrue(c.validationAccuracy() > 0.5, "candidate " + c.candidate() + " learnt: " + c.validationAccuracy());
      if (c.validationNll() < bestNll) {
        bestNll = c.validationNll();
        best = c.candidate();
      }
    }
    // the selection path: starts from the best single candidate, every pick lowers the mixture NLL
    List<GreedySelection.Step> path = h.selection().path();
    assertEquals(best, path.get(0).candidate());
    assertEquals(bestNll, path.get(0).mixtureNll(), 1e-12);
    for (int i = 1; i < path.size(); i++) {
      assertTrue(path.get(i).mixtureNll() < path.get(i - 1).mixtureNll(), "step " + (i + 1));
    }
    assertTrue(path.size() <= 4);
    assertEquals(path.size(), java.util.Arrays.stream(h.selection().counts()).sum());
    // the published members: indices K..K+M-1, each retrained with the setting the allocation gave it
    GreedySelection.Result sel = new GreedySelection.Result(h.selection().counts(), path,
        h.selection().stoppedBecause());
    List<Integer> allocation = Stratification.allocate(sel, MEMBERS);
    assertEquals(List.of(POOL, POOL + 1), m.members().stream().map(Manifest.MemberEntry::index).toList());
    for (int j = 0; j < MEMBERS; j++) {
      HyperDeepReport.RetrainedMember r = h.members().get(j);
      assertEquals(POOL + j, r.member());
      assertEquals(allocation.get(j), r.candidate());
      JsonNode report = m.members().get(j).report().path("report");
      assertEquals(h.pool().get(r.candidate()).specSha256(), report.path("provenance").path("specSha256").asText(),
          "member " + r.member() + " trained with its candidate's spec");
      assertEquals(POOL + j, report.path("member").asInt(), "own member index: own init and shuffle seeds");
      assertTrue(m.members().get(j).usable());
    }
    assertEquals(MEMBERS, m.weights().length);
    // the cost: K x E for the pool, M x E for the retraining, against M x E for a plain ensemble
    assertEquals(HyperDeepReport.Cost.of((long) POOL * EPOCHS, (long) MEMBERS * EPOCHS, MEMBERS, EPOCHS), h.cost());
    assertEquals((POOL + MEMBERS) / (double) MEMBERS, h.cost().ratio(), 1e-15);

    // the same seed publishes the same parameters, selection and pool metrics
    Manifest again = train(spec, "b", "hyper-again").manifest();
    assertEquals(paramsSha256(m), paramsSha256(again));
    assertEquals(path, again.hyperDeep().selection().path());
    assertEquals(h.pool(), again.hyperDeep().pool());
    return m;
  }

  @Test
  void aRunThatFailedAfterTrainingResumesEveryCandidateAndMemberFromItsOwnCheckpoints() {
    Manifest fresh = train("fresh", "hyper").manifest();
    // member POOL + 1's file disappears after its task reported it: nothing is published, checkpoints stay
    spark.sparkContext().conf().set(MemberTask.MEMBER_FILE_FAULT, "hide:" + (POOL + 1));
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> train("c", "hyper"));
    assertTrue(e.getMessage().startsWith("nothing was published: member " + (POOL + 1) + "'s file"), e.getMessage());
    spark.sparkContext().conf().remove(MemberTask.MEMBER_FILE_FAULT);
    // the rerun: every candidate finds its own checkpoint (a checkpoint of another spec would fail the member)
    Manifest resumed = train("c", "hyper").manifest();
    for (HyperDeepReport.PoolCandidate c : resumed.hyperDeep().pool()) {
      assertEquals(EPOCHS, c.resumedFromEpoch(), "candidate " + c.candidate() + " resumed after its last epoch");
    }
    for (Manifest.MemberEntry m : resumed.members()) {
      assertEquals(EPOCHS, m.report().path("report").path("resumedFromEpoch").asInt(), "member " + m.index());
    }
    assertEquals(paramsSha256(fresh), paramsSha256(resumed));
    assertEquals(fresh.hyperDeep().selection().path(), resumed.hyperDeep().selection().path());
  }
}
