package io.deepens.core.hyper;

import io.deepens.core.InvalidInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * Which selected hyperparameter setting each published member of a hyper-deep ensemble is retrained with.
 *
 * <p><b>The choice made here:</b> the M published members ({@code ensemble.members}) are shared out among the
 * settings greedy selection chose in proportion to their multiplicities n_c (N picks in all), by the largest
 * remainder method: setting c first gets ⌊M n_c / N⌋ members, then the members left over go to the largest
 * remainders (M n_c mod N), ties to the setting picked first. Members are listed setting by setting in the order
 * the settings were first picked. With uniform weights over the retrained members, the published mixture then has
 * (up to rounding) the proportions greedy selection found best on validation data.
 *
 * <p><b>Why not the paper's stratification.</b> Wenzel et al. (2020, Algorithm 2) retrain every distinct selected
 * setting with M fresh initialisations (up to M² more trainings) and run greedy selection a second time over that
 * stratified pool. Here the retraining costs exactly M member trainings, the cost of the plain deep ensemble one
 * would publish anyway (total K + M, the pool included), and the validation rows, already used to select the
 * settings, are not used a second time to pick among networks that differ only in their seed (which would fit seed
 * noise of the validation set rather than hyperparameters). The members keep the paper's key property: every
 * selected setting appears with different initialisations, so the ensemble is diverse in both hyperparameters and
 * weights.
 */
public final class Stratification {
  private Stratification() {}

  /**
   * @param selection greedy selection's result
   * @param members M, >= 1
   * @return the candidate (position in the selection's input) of every retrained member, M entries
   */
  public static List<Integer> allocate(GreedySelection.Result selection, int members) {
    InvalidInputException.check(members >= 1, "members must be >= 1, found %d", members);
    InvalidInputException.check(selection.size() >= 1, "the selection is empty");
    // settings in the order they were first picked
    List<Integer> order = new ArrayList<>();
    for (GreedySelection.Step s : selection.path()) {
      if (!order.contains(s.candidate())) {
        order.add(s.candidate());
      }
    }
    long total = selection.size();
    int[] share = new int[order.size()];
    long[] remainder = new long[order.size()];
    int given = 0;
    for (int j = 0; j < order.size(); j++) {
      long q = (long) members * selection.counts()[order.get(j)];
      share[j] = (int) (q / total);
      remainder[j] = q % total;
      given += share[j];
    }
    for (; given < members; given++) {
      int best = -1;
      for (int j = 0; j < order.size(); j++) {
        if (best < 0 || remainder[j] > remainder[best]) {
          best = j;
        }
      }
      share[best]++;
      remainder[best] = -1; // one extra member at most per setting
    }
    List<Integer> out = new ArrayList<>();
    for (int j = 0; j < order.size(); j++) {
      for (int r = 0; r < share[j]; r++) {
        out.add(order.get(j));
      }
    }
    return List.copyOf(out);
  }
}
