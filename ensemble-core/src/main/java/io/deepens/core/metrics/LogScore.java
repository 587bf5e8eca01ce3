package io.deepens.core.metrics;

/**
 * The log score of a predicted probability, {@code log max(p, 1e-12)}: the one floor under every probability whose
 * log deepens takes (the NLL metric, a member's validation NLL, the log-likelihoods stacking and pseudo-BMA weigh,
 * the temperature fit). Without it a single float probability that underflows to 0 on the true class makes a log
 * score -Infinity: the NLL metric infinite, and a validation row where every member underflows would leave stacking
 * no weights with a finite score. The floor caps one row's loss at {@code -log 1e-12 = 27.63} nats, as
 * scikit-learn's {@code log_loss(..., eps=1e-12)} does.
 */
public final class LogScore {
  private LogScore() {}

  /** The probability floor. */
  public static final double FLOOR = 1e-12;
  /** {@code log FLOOR}, the lowest log score. */
  public static final double LOG_FLOOR = Math.log(FLOOR);

  /** {@code log max(p, FLOOR)}; NaN stays NaN. */
  public static double of(double p) {
    return Math.log(Math.max(p, FLOOR));
  }

  /** {@code max(logP, log FLOOR)} for a log probability computed in log space; the same value as {@link #of}. */
  public static double ofLog(double logP) {
    return Math.max(logP, LOG_FLOOR);
  }
}
