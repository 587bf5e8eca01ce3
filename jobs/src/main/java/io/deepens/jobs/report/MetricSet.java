package io.deepens.jobs.report;

import io.deepens.core.InvalidInputException;

/**
 * The metrics of one predictor (a member or the ensemble mixture) on the test rows.
 *
 * <p>{@code accuracy}: fraction of rows whose most probable class is the label. {@code nll}: mean negative log
 * likelihood of the label, in nats. {@code brier}: mean over rows of {@code sum_k (p_k - [y = k])^2} (0..2).
 * {@code ece}: expected calibration error (Guo et al. 2017). The three out-of-distribution scores treat the OOD
 * rows as the positive class: {@code aurocEntropy} and {@code auprEntropy} score rows by predictive entropy,
 * {@code aurocMi} by mutual information. They are all null when the evaluation had no OOD table; with one,
 * {@code aurocEntropy} and {@code auprEntropy} are set, and {@code aurocMi} is set unless mutual information is
 * undefined for the predictor: a member without Monte Carlo dropout passes is one distribution, its mutual
 * information 0 on every row, so no AUROC of it exists (metrics.json holds null, not the 0.5 of a constant score).
 *
 * <p>Values may be non-finite (an NLL can be infinite when a label got probability 0); metrics.json then holds
 * the strings {@code "NaN"}, {@code "Infinity"}.
 */
public record MetricSet(double accuracy, double nll, double brier, double ece,
                        Double aurocEntropy, Double aurocMi, Double auprEntropy) {

  public MetricSet {
    InvalidInputException.check((aurocEntropy == null) == (auprEntropy == null)
            && (aurocEntropy != null || aurocMi == null),
        "MetricSet: aurocEntropy, aurocMi and auprEntropy must be all null (no OOD table) or set (aurocMi may stay "
            + "null with an OOD table when mutual information is undefined), found %s, %s, %s",
        aurocEntropy, aurocMi, auprEntropy);
  }

  /** Metrics without out-of-distribution scores. */
  public static MetricSet inDistribution(double accuracy, double nll, double brier, double ece) {
    return new MetricSet(accuracy, nll, brier, ece, null, null, null);
  }

  /** The mean of each in-distribution metric (accuracy, NLL, Brier, ECE) over {@code sets}; OOD scores are left out. */
  public static MetricSet meanOf(java.util.List<MetricSet> sets) {
    InvalidInputException.check(sets != null && !sets.isEmpty(), "MetricSet.meanOf needs at least one metric set");
    double a = 0;
    double n = 0;
    double b = 0;
    double c = 0;
    for (MetricSet m : sets) {
      a += m.accuracy();
      n += m.nll();
      b += m.brier();
      c += m.ece();
    }
    int k = sets.size();
    return inDistribution(a / k, n / k, b / k, c / k);
  }

  /** Whether the predictor has an AUROC of mutual information (an OOD table, and Monte Carlo passes for a member). */
  public boolean hasAurocMi() {
    return aurocMi != null;
  }

  /** Whether the out-of-distribution scores are present. */
  public boolean hasOod() {
    return aurocEntropy != null;
  }
}
