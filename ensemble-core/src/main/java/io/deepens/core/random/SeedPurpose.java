package io.deepens.core.random;

/**
 * What a derived seed is for. Each purpose has a fixed code that enters the hash (not the ordinal), so adding a
 * purpose never changes existing seeds.
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
  VALIDATION_SPLIT(6);

  private final int code;

  SeedPurpose(int code) {
    this.code = code;
  }

  /** The fixed code that enters {@link Seeds#derive}. */
  public int code() {
    return code;
  }
}
