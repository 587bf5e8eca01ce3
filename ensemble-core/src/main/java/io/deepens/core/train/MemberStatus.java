package io.deepens.core.train;

/** How a member's training ended. */
public enum MemberStatus {
  /** Ran all epochs (with early stopping on, the best epoch's parameters were restored). */
  OK,
  /** Early stopping ended training before the last epoch; the best epoch's parameters were restored. */
  EARLY_STOPPED,
  /** The loss or the parameters became NaN or infinite; the member has no network and must be dropped. */
  DIVERGED
}
