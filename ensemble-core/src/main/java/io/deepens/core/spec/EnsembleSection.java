package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.List;

/**
 * The ensemble as a whole.
 *
 * @param members number of members M, >= 1
 * @param seed the ensemble seed; every member seed derives from it ({@link io.deepens.core.random.Seeds})
 * @param bootstrap give every member a Poisson(1) bootstrap resample of the training rows
 * @param weighting how the driver weights members
 * @param temperature fit a temperature on validation NLL after weighting (Guo et al. 2017; classification only)
 * @param mcDropoutSamples S > 0: S stochastic dropout passes per member at scoring time; 0 = off
 * @param hyperDeep a hyper-deep ensemble's pool, search and selection ({@link HyperDeepSpec}), or null for a plain
 *     deep ensemble (the section is then absent from the canonical JSON, so existing specs keep their SHA-256)
 */
public record EnsembleSection(
    int members, long seed, boolean bootstrap, Weighting weighting, boolean temperature, int mcDropoutSamples,
    HyperDeepSpec hyperDeep) {
  /** A plain deep ensemble (no {@code hyperDeep} section). */
  public EnsembleSection(
      int members, long seed, boolean bootstrap, Weighting weighting, boolean temperature, int mcDropoutSamples) {
    this(members, seed, bootstrap, weighting, temperature, mcDropoutSamples, null);
  }

  public EnsembleSection {
    InvalidInputException.check(members >= 1, "ensemble.members must be >= 1, found %d", members);
    InvalidInputException.check(weighting != null, "ensemble.weighting must be given");
    InvalidInputException.check(
        mcDropoutSamples >= 0, "ensemble.mcDropoutSamples must be >= 0 (0 = off), found %d", mcDropoutSamples);
  }

  static final String MEMBERS = "members";
  static final String SEED = "seed";
  static final String BOOTSTRAP = "bootstrap";
  static final String WEIGHTING = "weighting";
  static final String TEMPERATURE = "temperature";
  static final String MC_DROPOUT_SAMPLES = "mcDropoutSamples";
  static final String HYPER_DEEP = "hyperDeep";
  /** The keys under {@code ensemble}, in canonical order. */
  static final List<String> KEYS =
      List.of(MEMBERS, SEED, BOOTSTRAP, WEIGHTING, TEMPERATURE, MC_DROPOUT_SAMPLES, HYPER_DEEP);

  static EnsembleSection read(SpecNode e) {
    int members = e.integer(MEMBERS, 5, false);
    long seed = e.lng(SEED, 0L);
    boolean bootstrap = e.bool(BOOTSTRAP, false);
    Weighting weighting = e.choice(WEIGHTING, Weighting.class, Weighting.UNIFORM, false);
    boolean temperature = e.bool(TEMPERATURE, false);
    int mc = e.integer(MC_DROPOUT_SAMPLES, 0, false);
    HyperDeepSpec hyperDeep = e.has(HYPER_DEEP) ? HyperDeepSpec.read(e.obj(HYPER_DEEP, HyperDeepSpec.KEYS), members)
        : null;
    return new EnsembleSection(members, seed, bootstrap, weighting, temperature, mc, hyperDeep);
  }

  void write(ObjectNode o) {
    o.put(MEMBERS, members);
    o.put(SEED, seed);
    o.put(BOOTSTRAP, bootstrap);
    o.put(WEIGHTING, weighting.key());
    o.put(TEMPERATURE, temperature);
    o.put(MC_DROPOUT_SAMPLES, mcDropoutSamples);
    if (hyperDeep != null) {
      hyperDeep.write(o.putObject(HYPER_DEEP));
    }
  }
}
