package io.deepens.core.hyper;

import io.deepens.core.InvalidInputException;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSection;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.HyperDeepSpec;
import io.deepens.core.spec.NetworkSpec;
import io.deepens.core.spec.TrainingSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The hyperparameters of a hyper-deep ensemble's pool candidates, drawn from the spec's
 * {@code ensemble.hyperDeep.search}.
 *
 * <p>Candidate c draws four uniforms u₁..u₄ in [0, 1) from a {@link SplittableRandom} seeded with
 * {@code Seeds.derive(ensembleSeed, c, HYPER_SEARCH, 0)}, always all four and always in this order: learning rate,
 * weight decay, dropout, hidden width. A hyperparameter that is not searched keeps the spec's value (its uniform is
 * drawn and unused), so adding or removing one search key never changes the others' draws. Each value is
 * {@link HyperDeepSpec.Range#at}(u): log-uniform {@code exp(ln a + u (ln b − ln a))}, uniform {@code a + u (b − a)},
 * or choice {@code values[floor(u n)]}; a hidden width is rounded to the nearest integer and replaces every entry
 * of {@code network.hidden}.
 */
public final class HyperSearch {
  private HyperSearch() {}

  /**
   * One candidate's hyperparameters.
   *
   * @param candidate index c in the pool (also its member index in the pool stage: its own init and shuffle)
   * @param learningRate {@code training.learningRate}
   * @param weightDecay {@code training.weightDecay}
   * @param dropout {@code network.dropout}
   * @param hidden {@code network.hidden}
   */
  public record Candidate(int candidate, double learningRate, double weightDecay, double dropout,
      List<Integer> hidden) {
    public Candidate {
      hidden = List.copyOf(hidden);
    }

    /**
     * The spec candidate c (and every member retrained with its setting) trains with: {@code base} with these
     * hyperparameters, without the {@code hyperDeep} section (each is one plain member) and with
     * {@code ensemble.members} = K + M, the member indices the run uses (candidates 0..K-1, retrained members
     * K..K+M-1), which {@link io.deepens.core.train.MemberTrainer} checks a member index against.
     */
    public EnsembleSpec apply(EnsembleSpec base) {
      TrainingSpec t = base.training();
      NetworkSpec n = base.network();
      EnsembleSection e = base.ensemble();
      return new EnsembleSpec(base.name(), base.task(), base.data(),
          new NetworkSpec(n.type(), hidden, n.activation(), dropout, n.batchNorm(), n.conv(), n.config()),
          new TrainingSpec(t.optimizer(), learningRate, t.schedule(), weightDecay, t.batchSize(), t.epochs(),
              t.earlyStoppingPatience()),
          new EnsembleSection(e.members() + e.hyperDeep().pool(), e.seed(), e.bootstrap(), e.weighting(), e.temperature(),
              e.mcDropoutSamples()),
          base.resources());
    }
  }

  /** Candidate {@code c} of {@code spec}'s pool (see the class comment). */
  public static Candidate draw(EnsembleSpec spec, int c) {
    HyperDeepSpec h = spec.ensemble().hyperDeep();
    InvalidInputException.check(h != null, "the spec has no ensemble.hyperDeep section");
    InvalidInputException.check(c >= 0 && c < h.pool(), "candidate must be in 0..%d, found %d", h.pool() - 1, c);
    SplittableRandom r = new SplittableRandom(Seeds.derive(spec.ensemble().seed(), c, SeedPurpose.HYPER_SEARCH, 0));
    double u1 = r.nextDouble();
    double u2 = r.nextDouble();
    double u3 = r.nextDouble();
    double u4 = r.nextDouble();
    double lr = h.learningRate() == null ? spec.training().learningRate() : h.learningRate().at(u1);
    double wd = h.weightDecay() == null ? spec.training().weightDecay() : h.weightDecay().at(u2);
    double dropout = h.dropout() == null ? spec.network().dropout() : h.dropout().at(u3);
    List<Integer> hidden = spec.network().hidden();
    if (h.hidden() != null) {
      int width = (int) Math.max(1, Math.round(h.hidden().at(u4)));
      hidden = new ArrayList<>(Collections.nCopies(hidden.size(), width));
    }
    return new Candidate(c, lr, wd, dropout, hidden);
  }

  /** Every candidate of {@code spec}'s pool, by index. */
  public static List<Candidate> pool(EnsembleSpec spec) {
    InvalidInputException.check(spec.ensemble().hyperDeep() != null, "the spec has no ensemble.hyperDeep section");
    List<Candidate> out = new ArrayList<>();
    for (int c = 0; c < spec.ensemble().hyperDeep().pool(); c++) {
      out.add(draw(spec, c));
    }
    return out;
  }
}
