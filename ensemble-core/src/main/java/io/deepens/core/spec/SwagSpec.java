package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.List;

/**
 * SWAG for every member, the optional {@code ensemble.swag} section (MultiSWAG: Wilson and Izmailov 2020; SWAG:
 * Maddox, Garipov, Izmailov, Vetrov and Wilson 2019). After the {@code training.epochs} ordinary epochs a member
 * runs {@code epochs} more epochs of plain SGD (no momentum) at the constant rate {@code learningRate}, collecting
 * {@code snapshotsPerEpoch} weight snapshots per epoch (at evenly spaced minibatches, the last at the epoch's end):
 * their running mean θ̄, the running mean of θ² and the last {@code rank} deviations θ_i − θ̄_i. Scoring draws
 * {@code samples} weight vectors per member from N(θ̄, ½·scale·(Σ_diag + D Dᵀ/(K − 1))), each a mixture component.
 *
 * <p>{@code scale} multiplies the Gaussian's covariance, as the {@code scale} argument of Maddox et al.'s SWAG
 * sampler does (their uncertainty experiments use 0.5). Above 1 it widens the posterior the SGD iterates trace:
 * the samples disagree more, more so on inputs unlike the training rows than on the training distribution; the
 * mixture's temperature ({@code ensemble.temperature}) is fitted on the validation rows under the scaled samples.
 *
 * @param epochs T, SWAG epochs after the ordinary ones, >= 1
 * @param learningRate the constant SGD rate of the SWAG epochs, > 0
 * @param rank K, deviation columns kept, 2 <= K <= epochs · snapshotsPerEpoch
 * @param snapshotsPerEpoch snapshots collected per SWAG epoch, >= 1 (Maddox et al.: 1)
 * @param samples S, weight samples per member at scoring time, >= 1
 * @param scale the factor on the SWAG covariance when sampling, > 0 (default 1)
 */
public record SwagSpec(int epochs, double learningRate, int rank, int snapshotsPerEpoch, int samples,
    double scale) {
  public SwagSpec {
    InvalidInputException.check(epochs >= 1, "ensemble.swag.epochs must be >= 1, found %d", epochs);
    InvalidInputException.check(Double.isFinite(learningRate) && learningRate > 0,
        "ensemble.swag.learningRate must be > 0, found %s", learningRate);
    InvalidInputException.check(snapshotsPerEpoch >= 1,
        "ensemble.swag.snapshotsPerEpoch must be >= 1, found %d", snapshotsPerEpoch);
    InvalidInputException.check(rank >= 2,
        "ensemble.swag.rank must be >= 2 (the low-rank covariance divides by rank - 1), found %d", rank);
    InvalidInputException.check((long) rank <= (long) epochs * snapshotsPerEpoch,
        "ensemble.swag.rank (%d) must be <= the snapshots collected, ensemble.swag.epochs × snapshotsPerEpoch = %d"
            + "; lower the rank or collect more snapshots", rank, (long) epochs * snapshotsPerEpoch);
    InvalidInputException.check(samples >= 1, "ensemble.swag.samples must be >= 1, found %d", samples);
    InvalidInputException.check(Double.isFinite(scale) && scale > 0,
        "ensemble.swag.scale must be > 0 (it multiplies the SWAG covariance; 1 samples the Gaussian as fitted),"
            + " found %s", scale);
  }

  static final String EPOCHS = "epochs";
  static final String LEARNING_RATE = "learningRate";
  static final String RANK = "rank";
  static final String SNAPSHOTS_PER_EPOCH = "snapshotsPerEpoch";
  static final String SAMPLES = "samples";
  static final String SCALE = "scale";
  /** The keys under {@code ensemble.swag}, in canonical order. */
  static final List<String> KEYS = List.of(EPOCHS, LEARNING_RATE, RANK, SNAPSHOTS_PER_EPOCH, SAMPLES, SCALE);

  /** The section, or null when {@code ensemble.swag} is absent. */
  static SwagSpec read(SpecNode e, String key) {
    if (!e.has(key)) {
      return null;
    }
    SpecNode s = e.obj(key, KEYS);
    int epochs = s.integer(EPOCHS, 0, true);
    double lr = s.dbl(LEARNING_RATE, 0, true);
    int snapshots = s.integer(SNAPSHOTS_PER_EPOCH, 1, false);
    int rank = s.integer(RANK, Math.min(20, Math.max(2, epochs * snapshots)), false);
    int samples = s.integer(SAMPLES, 10, false);
    double scale = s.dbl(SCALE, 1.0, false);
    return new SwagSpec(epochs, lr, rank, snapshots, samples, scale);
  }

  void write(ObjectNode o) {
    o.put(EPOCHS, epochs);
    o.put(LEARNING_RATE, learningRate);
    o.put(RANK, rank);
    o.put(SNAPSHOTS_PER_EPOCH, snapshotsPerEpoch);
    o.put(SAMPLES, samples);
    if (scale != 1.0) { // absent at 1: the canonical JSON (and fingerprint) of specs without the key is unchanged
      o.put(SCALE, scale);
    }
  }

  /** Snapshots a member collects in all: epochs × snapshotsPerEpoch. */
  public int snapshots() {
    return epochs * snapshotsPerEpoch;
  }
}
