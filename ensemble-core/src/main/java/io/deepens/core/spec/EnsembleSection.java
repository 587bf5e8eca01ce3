package io.deepens.core.spec;

import io.deepens.core.InvalidInputException;

/**
 * The ensemble as a whole.
 *
 * @param members number of members M, >= 1
 * @param seed the ensemble seed; every member seed derives from it ({@link io.deepens.core.random.Seeds})
 * @param bootstrap give every member a Poisson(1) bootstrap resample of the training rows
 * @param weighting how the driver weights members
 * @param temperature fit a temperature on validation NLL after weighting (Guo et al. 2017; classification only)
 * @param mcDropoutSamples S > 0: S stochastic dropout passes per member at scoring time; 0 = off
 */
public record EnsembleSection(
    int members, long seed, boolean bootstrap, Weighting weighting, boolean temperature, int mcDropoutSamples) {
  public EnsembleSection {
    InvalidInputException.check(members >= 1, "ensemble.members must be >= 1, found %d", members);
    InvalidInputException.check(weighting != null, "ensemble.weighting must be given");
    InvalidInputException.check(
        mcDropoutSamples >= 0, "ensemble.mcDropoutSamples must be >= 0 (0 = off), found %d", mcDropoutSamples);
  }
}
