package io.deepens.core.train;

import java.util.List;
import java.util.Map;

/**
 * The small, JSON-writable account of one member's training that a Spark task returns to the driver.
 *
 * @param member member index
 * @param status OK, EARLY_STOPPED or DIVERGED
 * @param seeds the seeds used: ensemble, init, bootstrap, rowOrder, and the first epoch's shuffle and dropout
 *     seeds (later epochs derive theirs from (ensemble seed, member, purpose, epoch))
 * @param epochsRun epochs trained, including those before a resume
 * @param resumedFromEpoch the epoch this run started at (0 without a checkpoint)
 * @param bestEpoch epoch with the lowest validation NLL (training loss without validation rows); with early
 *     stopping on, the network holds this epoch's parameters; −1 if no epoch finished
 * @param epochs per-epoch metrics and timings
 * @param trainRows training rows (bootstrap duplicates included)
 * @param validationRows validation rows (0 without validation)
 * @param paramsSha256 SHA-256 of the final parameters as float32 little-endian; null when diverged
 * @param message why training diverged, else null
 * @param provenance versions, platform and threads
 * @param compute ND4J's backend, the device the member ran on and the training path with its reason; null in reports
 *     written before it was recorded
 */
public record MemberReport(
    int member,
    MemberStatus status,
    Map<String, Long> seeds,
    int epochsRun,
    int resumedFromEpoch,
    int bestEpoch,
    List<EpochMetrics> epochs,
    long trainRows,
    long validationRows,
    String paramsSha256,
    String message,
    Provenance provenance,
    ComputePath compute) {
  public MemberReport {
    seeds = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(seeds));
    epochs = List.copyOf(epochs);
  }
}
