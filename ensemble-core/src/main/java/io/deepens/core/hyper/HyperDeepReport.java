package io.deepens.core.hyper;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * What {@code manifest.json} records about a hyper-deep ensemble (its {@code hyperDeep} object; absent for a plain
 * deep ensemble and in manifests written before it existed).
 *
 * @param pool every candidate: hyperparameters, status and validation metrics
 * @param selection greedy selection's picks and result
 * @param members the published (retrained) members: member index and the candidate whose setting it trained with
 * @param cost member-epochs trained, against a plain ensemble of the same members and epochs
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record HyperDeepReport(List<PoolCandidate> pool, Selection selection, List<RetrainedMember> members,
    Cost cost) {

  /**
   * One candidate of the pool.
   *
   * @param candidate index c (its member index in the pool stage)
   * @param status OK, EARLY_STOPPED or DIVERGED
   * @param learningRate its {@code training.learningRate}
   * @param weightDecay its {@code training.weightDecay}
   * @param dropout its {@code network.dropout}
   * @param hidden its {@code network.hidden}
   * @param validationNll validation NLL of its predictive distribution (null when it diverged)
   * @param validationAccuracy validation accuracy (classification; null otherwise or when it diverged)
   * @param epochsRun epochs it trained
   * @param resumedFromEpoch the epoch its last task attempt started at (0 without a checkpoint)
   * @param specSha256 SHA-256 of the spec it trained with (its checkpoints carry it)
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record PoolCandidate(int candidate, String status, double learningRate, double weightDecay, double dropout,
      List<Integer> hidden, Double validationNll, Double validationAccuracy, int epochsRun, int resumedFromEpoch, String specSha256) {}

  /**
   * Greedy selection.
   *
   * @param method {@code greedy} (Caruana et al. 2004, with replacement, on validation NLL)
   * @param sizeLimit {@code ensemble.hyperDeep.selectionSize}
   * @param path the picks in order, with the mixture's validation NLL after each
   * @param counts multiplicity of every candidate, by candidate index
   * @param stoppedBecause {@code size limit} or {@code no addition lowers the NLL}
   * @param allocation how the members were shared out among the selected settings
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Selection(String method, int sizeLimit, List<GreedySelection.Step> path, int[] counts,
      String stoppedBecause, String allocation) {}

  /** A published member and the candidate whose hyperparameters it was retrained with. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record RetrainedMember(int member, int candidate) {}

  /**
   * Training cost in member-epochs (one member trained for one epoch over its rows).
   *
   * @param poolMemberEpochs epochs trained by the pool's candidates
   * @param retrainMemberEpochs epochs trained by the retrained members
   * @param memberEpochs their sum
   * @param plainEnsembleMemberEpochs M × training.epochs, a plain deep ensemble's budget
   * @param ratio memberEpochs / plainEnsembleMemberEpochs
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Cost(long poolMemberEpochs, long retrainMemberEpochs, long memberEpochs,
      long plainEnsembleMemberEpochs, double ratio) {
    public static Cost of(long pool, long retrain, int members, int epochs) {
      long plain = (long) members * epochs;
      return new Cost(pool, retrain, pool + retrain, plain, (pool + retrain) / (double) plain);
    }
  }
}
