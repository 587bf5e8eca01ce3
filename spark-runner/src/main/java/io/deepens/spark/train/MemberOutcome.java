package io.deepens.spark.train;

import java.io.Serializable;

/**
 * What a member's task returns to the driver: small. The model itself stays in the store; the validation
 * predictions come along because the driver fits mixture weights and temperature on them.
 */
public final class MemberOutcome implements Serializable {
  private static final long serialVersionUID = 1L;
  public int member;
  public String status;
  public String reportJson;
  public String modelPath;
  public String modelSha256;
  public long trainRows;
  public long[] validationKeys;
  public float[] validationLabels;
  /** Row-major [validation rows x outputs]: class probabilities, or (mean, variance) pairs for regression. */
  public float[] validationOutputs;
  public int outputs;
  /** Monte Carlo dropout passes in {@link #validationOutputs} (one block of rows x outputs each); 1 without. */
  public int samples = 1;
  public String executorId;
  public String host;
  public int attempt;
  public String[] gpuAddresses;
  public int threads;
  /**
   * Wall-clock time (epoch millis, the executor's clock) at which the member's code began: after Spark's shuffle
   * reader fetched, deserialised and sorted the member's rows.
   */
  public long taskStartMillis;
  /** From then until every row was stored in the member's training and validation sets. */
  public long receiveMillis;
  /** {@link io.deepens.core.train.MemberTrainer#train}: network set-up, the epochs, checkpoints, validation. */
  public long trainMillis;
  /** The final model written to the store plus the validation outputs the driver fits the mixture on. */
  public long finishMillis;

  public boolean usable() {
    return modelPath != null && !"DIVERGED".equals(status);
  }
}
