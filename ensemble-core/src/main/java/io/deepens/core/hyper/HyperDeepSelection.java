package io.deepens.core.hyper;

import io.deepens.core.DeepensException;
import io.deepens.core.aggregate.MemberPredictions;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.HyperDeepSpec;
import io.deepens.core.spec.Task;
import java.util.ArrayList;
import java.util.List;

/**
 * The driver's step between a hyper-deep ensemble's two member stages: from the pool's validation outputs, greedy
 * selection ({@link GreedySelection}) over the candidates that did not diverge, then the allocation of the
 * published members to the selected settings ({@link Stratification}); and, once the retrained members are back,
 * the {@link HyperDeepReport} the manifest records.
 */
public final class HyperDeepSelection {
  private HyperDeepSelection() {}

  /**
   * What one candidate's task returned.
   *
   * @param candidate index c
   * @param status OK, EARLY_STOPPED or DIVERGED
   * @param predictions its validation outputs, null when it diverged
   * @param epochsRun epochs it trained
   * @param resumedFromEpoch the epoch its task started at (0 without a checkpoint)
   * @param specSha256 SHA-256 of the spec it trained with
   */
  public record PoolOutcome(int candidate, String status, MemberPredictions predictions, int epochsRun,
      int resumedFromEpoch, String specSha256) {}

  /**
   * The selection.
   *
   * @param selection greedy selection; its candidate positions are candidate indices
   * @param allocation the candidate of each retrained member j = 0..M-1
   * @param pool every candidate's entry for the manifest
   */
  public record Plan(GreedySelection.Result selection, List<Integer> allocation,
      List<HyperDeepReport.PoolCandidate> pool) {}

  /** How {@link Stratification} shares out the members, as the manifest states it. */
  public static final String ALLOCATION = "largest remainder: members in proportion to the selected multiplicities, "
      + "each retrained with a fresh initialisation and shuffle";

  /**
   * Selects settings from the pool.
   *
   * @param spec the hyper-deep spec (members M, selection size)
   * @param candidates every candidate by index (from {@link HyperSearch#pool})
   * @param outcomes one per candidate, any order
   * @param labels the validation labels, in the order of every candidate's outputs
   * @throws DeepensException when every candidate diverged
   */
  public static Plan select(EnsembleSpec spec, List<HyperSearch.Candidate> candidates, List<PoolOutcome> outcomes,
      float[] labels) {
    HyperDeepSpec h = spec.ensemble().hyperDeep();
    boolean classification = spec.task() == Task.CLASSIFICATION;
    int k = candidates.size();
    double[][] logLik = new double[k][];
    PoolOutcome[] byCandidate = new PoolOutcome[k];
    for (PoolOutcome o : outcomes) {
      byCandidate[o.candidate()] = o;
    }
    List<HyperDeepReport.PoolCandidate> pool = new ArrayList<>();
    double floorRow = Double.NEGATIVE_INFINITY;
    boolean any = false;
    for (int c = 0; c < k; c++) {
      PoolOutcome o = byCandidate[c];
      if (o == null) {
        throw new DeepensException("candidate " + c + " of the hyper-deep pool returned no outcome");
      }
      HyperSearch.Candidate cand = candidates.get(c);
      Double nll = null;
      Double acc = null;
      if (o.predictions() != null) {
        logLik[c] = PoolScores.logLikelihoods(o.predictions(), labels, classification);
        nll = PoolScores.nll(logLik[c]);
        acc = classification ? PoolScores.accuracy(o.predictions(), labels) : null;
        any = true;
      }
      pool.add(new HyperDeepReport.PoolCandidate(c, o.status(), cand.learningRate(), cand.weightDecay(),
          cand.dropout(), cand.hidden(), nll, acc, o.epochsRun(), o.resumedFromEpoch(), o.specSha256()));
    }
    if (!any) {
      throw new DeepensException("every candidate of the hyper-deep pool diverged: nothing to select. Narrow "
          + "ensemble.hyperDeep.search (lower learning rates) or check the data scale; candidates: "
          + outcomes.stream().map(o -> o.candidate() + ":" + o.status()).toList());
    }
    // a diverged candidate can never be picked: its log-likelihood is -Infinity on every row
    int rows = labels.length;
    for (int c = 0; c < k; c++) {
      if (logLik[c] == null) {
        logLik[c] = new double[rows];
        java.util.Arrays.fill(logLik[c], floorRow);
      }
    }
    GreedySelection.Result selection = GreedySelection.select(logLik, h.selectionSize());
    List<Integer> allocation = Stratification.allocate(selection, spec.ensemble().members());
    return new Plan(selection, allocation, pool);
  }

  /**
   * The manifest's record once the retrained members are back.
   *
   * @param retrainedMembers the member index of each retrained member j (K + j)
   * @param retrainEpochs epochs trained by the retrained members, summed
   */
  public static HyperDeepReport report(EnsembleSpec spec, Plan plan, List<Integer> retrainedMembers,
      long retrainEpochs) {
    long poolEpochs = plan.pool().stream().mapToLong(HyperDeepReport.PoolCandidate::epochsRun).sum();
    List<HyperDeepReport.RetrainedMember> members = new ArrayList<>();
    for (int j = 0; j < retrainedMembers.size(); j++) {
      members.add(new HyperDeepReport.RetrainedMember(retrainedMembers.get(j), plan.allocation().get(j)));
    }
    GreedySelection.Result s = plan.selection();
    return new HyperDeepReport(plan.pool(),
        new HyperDeepReport.Selection("greedy", spec.ensemble().hyperDeep().selectionSize(), s.path(), s.counts(),
            s.stoppedBecause(), ALLOCATION),
        members, HyperDeepReport.Cost.of(poolEpochs, retrainEpochs, spec.ensemble().members(),
            spec.training().epochs()));
  }
}
