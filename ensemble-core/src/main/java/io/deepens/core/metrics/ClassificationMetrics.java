package io.deepens.core.metrics;

import io.deepens.core.InvalidInputException;
import java.io.Serializable;
import java.util.Locale;

/**
 * Mergeable accumulator of the classification metrics in {@code metrics.json}. For N rows with predicted
 * probabilities {@code p_i} and labels {@code y_i}:
 * <ul>
 *   <li>{@code accuracy = (1/N) Σ 1[argmax_k p_ik = y_i]} (argmax takes the lowest index on ties);</li>
 *   <li>{@code nll = (1/N) Σ -log max(p_{i,y_i}, 1e-12)}. The clamp at {@value LogScore#FLOOR} ({@link LogScore}) keeps one exact zero on
 *       the true class from making the whole metric infinite (it caps a row's loss at 27.63 nats); it matches
 *       scikit-learn's {@code log_loss(..., eps=1e-12)} up to its renormalisation (a difference of order 1e-12);</li>
 *   <li>{@code brier = (1/N) Σ_i Σ_k (p_ik - 1[y_i = k])²}, the multi-class Brier score (Brier 1950), in [0, 2];</li>
 *   <li>{@code ece = Σ_b (n_b / N) |acc_b - conf_b|} over equal-width confidence bins {@code ((b-1)/B, b/B]}, the
 *       expected calibration error of Guo, Pleiss, Sun &amp; Weinberger (<i>On Calibration of Modern Neural
 *       Networks</i>, ICML 2017), with confidence = {@code max_k p_ik}; 15 bins by default as in that paper.</li>
 * </ul>
 * Every probability must be finite and {@code >= 0}, and every row must sum to 1 within 1e-3 (rows are used as given,
 * not renormalised). With no rows, every metric is NaN.
 */
public final class ClassificationMetrics implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Default number of confidence bins, as in Guo et al. 2017. */
  public static final int DEFAULT_BINS = 15;
  private static final double SUM_TOLERANCE = 1e-3;

  private final int classes;
  private final int bins;
  private long count;
  private long correct;
  private double nllSum;
  private double brierSum;
  private final long[] binCount;
  private final long[] binCorrect;
  private final double[] binConfidence;

  public ClassificationMetrics(int classes) {
    this(classes, DEFAULT_BINS);
  }

  public ClassificationMetrics(int classes, int bins) {
    InvalidInputException.check(classes >= 1, "classes must be >= 1, found %d", classes);
    InvalidInputException.check(bins >= 1, "bins must be >= 1, found %d", bins);
    this.classes = classes;
    this.bins = bins;
    this.binCount = new long[bins];
    this.binCorrect = new long[bins];
    this.binConfidence = new double[bins];
  }

  /**
   * Adds {@code rows} rows: {@code probs} row-major {@code rows x classes}, labels in {@code 0..classes-1}. The batch
   * is validated before anything is accumulated, so a rejected batch leaves this accumulator unchanged.
   */
  public void add(double[] probs, int[] labels, int rows) {
    checkBatch(probs == null ? -1 : probs.length, labels, rows);
    for (int r = 0; r < rows; r++) {
      validateRow(probs, r * classes, labels[r], r);
    }
    for (int r = 0; r < rows; r++) {
      accumulateRow(probs, r * classes, labels[r]);
    }
  }

  /** As {@link #add(double[], int[], int)} for {@code float} probabilities (accumulated in {@code double}). */
  public void add(float[] probs, int[] labels, int rows) {
    checkBatch(probs == null ? -1 : probs.length, labels, rows);
    final double[] widened = new double[rows * classes]; // one allocation per batch
    for (int i = 0; i < widened.length; i++) {
      widened[i] = probs[i];
    }
    add(widened, labels, rows);
  }

  /** Adds one row: {@code probs[offset .. offset+classes)} and its label. */
  public void addRow(double[] probs, int offset, int label) {
    InvalidInputException.check(probs != null, "probs must not be null");
    InvalidInputException.check(offset >= 0 && (long) offset + classes <= probs.length,
        "offset must leave classes = %d values in probs (length %d), found offset %d", classes, probs.length, offset);
    validateRow(probs, offset, label, -1);
    accumulateRow(probs, offset, label);
  }

  private void checkBatch(int length, int[] labels, int rows) {
    InvalidInputException.check(length >= 0, "probs must not be null");
    InvalidInputException.check(labels != null, "labels must not be null");
    InvalidInputException.check(rows >= 0, "rows must be >= 0, found %d", rows);
    InvalidInputException.check((long) rows * classes <= length,
        "probs must hold rows*classes = %d*%d values, found length %d", rows, classes, length);
    InvalidInputException.check(rows <= labels.length, "labels must hold rows = %d labels, found length %d", rows,
        labels.length);
  }

  private void validateRow(double[] p, int off, int label, int row) {
    if (label < 0 || label >= classes) {
      throw new InvalidInputException(String.format(Locale.ROOT, "label%s must be in 0..%d, found %d",
          where(row), classes - 1, label));
    }
    double sum = 0;
    for (int k = 0; k < classes; k++) {
      final double x = p[off + k];
      if (!(x >= 0) || x == Double.POSITIVE_INFINITY) {
        throw new InvalidInputException(String.format(Locale.ROOT,
            "probs%s class %d: probability must be finite and >= 0, found %s", where(row), k, x));
      }
      sum += x;
    }
    if (!(Math.abs(sum - 1.0) <= SUM_TOLERANCE)) {
      throw new InvalidInputException(String.format(Locale.ROOT,
          "probs%s: probabilities must sum to 1 within %s, found %s", where(row), SUM_TOLERANCE, sum));
    }
  }

  private void accumulateRow(double[] p, int off, int label) {
    int best = 0;
    double bestP = Double.NEGATIVE_INFINITY;
    double brier = 0;
    for (int k = 0; k < classes; k++) {
      final double x = p[off + k];
      if (x > bestP) {
        bestP = x;
        best = k;
      }
      final double d = k == label ? x - 1.0 : x;
      brier += d * d;
    }
    final boolean hit = best == label;
    count++;
    if (hit) {
      correct++;
    }
    nllSum -= LogScore.of(p[off + label]);
    brierSum += brier;
    final int b = bin(bestP);
    binCount[b]++;
    binConfidence[b] += bestP;
    if (hit) {
      binCorrect[b]++;
    }
  }

  /** Bin of a confidence c: {@code ceil(c*B) - 1} clamped to {@code [0, B-1]}, i.e. {@code ((b)/B, (b+1)/B]}. */
  private int bin(double confidence) {
    int b = (int) Math.ceil(confidence * bins) - 1;
    return Math.max(0, Math.min(bins - 1, b));
  }

  private static String where(int row) {
    return row < 0 ? "" : " row " + row;
  }

  /** Adds {@code other}'s rows into this accumulator and returns this. Classes and bins must match. */
  public ClassificationMetrics merge(ClassificationMetrics other) {
    InvalidInputException.check(other != null, "other must not be null");
    InvalidInputException.check(other.classes == classes && other.bins == bins,
        "can only merge metrics with the same classes and bins: this has classes=%d bins=%d, other has classes=%d "
            + "bins=%d", classes, bins, other.classes, other.bins);
    count += other.count;
    correct += other.correct;
    nllSum += other.nllSum;
    brierSum += other.brierSum;
    for (int b = 0; b < bins; b++) {
      binCount[b] += other.binCount[b];
      binCorrect[b] += other.binCorrect[b];
      binConfidence[b] += other.binConfidence[b];
    }
    return this;
  }

  public int classes() {
    return classes;
  }

  public int bins() {
    return bins;
  }

  public long count() {
    return count;
  }

  public double accuracy() {
    return count == 0 ? Double.NaN : (double) correct / count;
  }

  /** Mean {@code -log max(p_y, 1e-12)} in nats. */
  public double nll() {
    return count == 0 ? Double.NaN : nllSum / count;
  }

  public double brier() {
    return count == 0 ? Double.NaN : brierSum / count;
  }

  public double ece() {
    if (count == 0) {
      return Double.NaN;
    }
    double e = 0;
    for (int b = 0; b < bins; b++) {
      if (binCount[b] > 0) {
        e += Math.abs(binCorrect[b] - binConfidence[b]) / count;
      }
    }
    return e;
  }

  public ReliabilityDiagram reliability() {
    double[] lo = new double[bins];
    double[] hi = new double[bins];
    double[] conf = new double[bins];
    double[] acc = new double[bins];
    for (int b = 0; b < bins; b++) {
      lo[b] = (double) b / bins;
      hi[b] = (double) (b + 1) / bins;
      conf[b] = binCount[b] == 0 ? Double.NaN : binConfidence[b] / binCount[b];
      acc[b] = binCount[b] == 0 ? Double.NaN : (double) binCorrect[b] / binCount[b];
    }
    return new ReliabilityDiagram(lo, hi, binCount.clone(), conf, acc);
  }
}
