package io.deepens.core.random;

/**
 * What a derived seed is for. Each purpose has a fixed code that enters the hash (not the ordinal), so adding a
 * purpose never changes existing seeds. Every use of randomness has its own purpose: two uses that shared one (a
 * different member or epoch value was their only difference) could draw the same seed.
 *
 * <p>History: until December 2026 pseudo-BMA's Bayesian bootstrap drew with {@code BOOTSTRAP} (member 0, epoch 1)
 * and Monte Carlo dropout passes with {@code DROPOUT}, their stream index in the epoch slot (so scoring stream b
 * shared its seed with training epoch b's dropout masks). They now have {@link #WEIGHT_BOOTSTRAP},
 * {@link #MC_VALIDATION} and {@link #MC_SCORING}: pseudo-BMA weights and everything computed from Monte Carlo
 * dropout passes differ from those of earlier builds for the same ensemble seed (the store format is unchanged).
 */
public enum SeedPurpose {
  /** Weight initialisation (epoch 0). */
  INIT(1),
  /** The per-epoch permutation of the member's rows. */
  SHUFFLE(2),
  /** Poisson(1) multiplicities of the bootstrap resample (epoch 0). */
  BOOTSTRAP(3),
  /** ND4J's RNG at the start of each epoch: dropout masks. */
  DROPOUT(4),
  /** The order in which the member's rows arrive in its partition (epoch 0). */
  ROW_ORDER(5),
  /** The deterministic validation split (member 0, epoch 0: one split for the whole ensemble). */
  VALIDATION_SPLIT(6),
  /** The Bayesian bootstrap (Dirichlet draws) of pseudo-BMA weights (member 0, epoch 0: one for the ensemble). */
  WEIGHT_BOOTSTRAP(7),
  /** A member's Monte Carlo dropout passes over the validation rows after training (epoch 0). */
  MC_VALIDATION(8),
  /**
   * A member's Monte Carlo dropout passes at scoring and evaluation; the epoch slot holds the batch's stream
   * (partition and batch number), so every batch gets its own masks.
   */
  MC_SCORING(9),
  /**
   * The hyperparameters of hyper-deep pool candidate c (member slot = c, epoch 0): one draw per searched
   * hyperparameter, in a fixed order ({@link io.deepens.core.hyper.HyperSearch}).
   */
  HYPER_SEARCH(10),
  /**
   * A member's SWAG weight samples (MultiSWAG): the epoch slot holds the sample index s, so sample s of a member
   * is the same at training (validation outputs) and at every scoring.
   */
  SWAG_SAMPLE(11),
  /** A streaming member's order of the table's splits in each epoch ({@code data.placement: stream}). */
  STREAM_SPLIT_ORDER(12),
  /** A streaming member's shuffle buffer draws in each epoch. */
  STREAM_BUFFER(13),
  /**
   * ND4J's RNG before each minibatch of a streaming member (dropout masks); the minibatch number is mixed into the
   * epoch's seed, so a member resumed within an epoch draws the masks of an undisturbed run.
   */
  STREAM_DROPOUT(14),
  /**
   * The order (and, beyond {@code SwagBatchNorm.MAX_ROWS}, the subset) of a SWAG member's training rows over which
   * its batch-norm statistics are computed at the end of training.
   */
  SWAG_BN_ROWS(15);

  private final int code;

  SeedPurpose(int code) {
    this.code = code;
  }

  /** The fixed code that enters {@link Seeds#derive}. */
  public int code() {
    return code;
  }
}
