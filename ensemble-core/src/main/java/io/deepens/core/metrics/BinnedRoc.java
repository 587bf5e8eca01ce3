package io.deepens.core.metrics;

import io.deepens.core.InvalidInputException;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Bounded-memory, mergeable ROC analysis: two histograms (positives, negatives) over {@code [min, max]} with
 * {@code B} equal-width bins. Scores below {@code min} go to the first bin, scores above {@code max} to the last;
 * NaN is rejected. Memory is {@code 2B} longs whatever the number of scores.
 *
 * <p><b>Which one the product uses.</b> {@code evaluate} computes the exact {@link Roc} when both score sets fit in
 * memory on the driver (at most 10 million scores in total, i.e. 80 MB of doubles); otherwise it aggregates a
 * {@code BinnedRoc} on the executors (e.g. entropy over {@code [0, log K]} with 10,000 bins) and reports its
 * {@link #auroc()} together with {@link #maxError()}.
 *
 * <p><b>Binned AUROC.</b> All scores in one bin are treated as tied: {@code AUROC_B = Σ_b P_b (N_{<b} + ½ N_b) / (P N)}
 * with {@code P_b, N_b} the positives and negatives in bin b and {@code N_{<b}} the negatives in lower bins. This is
 * exactly the tie-aware AUROC of {@link Roc#auroc} applied to the bin indices.
 *
 * <p><b>Error bound (proof).</b> The bin map {@code b(s) = clamp(floor((s - min)/(max - min) · B), 0, B-1)} is
 * non-decreasing in s (each correctly rounded floating-point step is monotone), so for a pair in different bins,
 * {@code b(s⁺) > b(s⁻)} implies {@code s⁺ > s⁻} and vice versa: such a pair counts 1 or 0 in both the exact and the
 * binned AUROC. A pair sharing a bin counts ½ in the binned AUROC and 0, ½ or 1 in the exact one, an error of at most
 * ½. Hence
 * <pre>  |AUROC_B - AUROC_exact| ≤ maxError() = ½ Σ_b P_b N_b / (P N).</pre>
 * The bound is attained when within every bin all positives lie above (or all below) all negatives; it is computed
 * from the data, so a report can say "0.9132 ± 0.0004". {@link #averagePrecision()} and {@link #curve()} are likewise
 * the exact values for the bin indices (each bin one threshold), without a comparable bound.
 */
public final class BinnedRoc implements Serializable {
  private static final long serialVersionUID = 1L;

  private final double min;
  private final double max;
  private final int bins;
  /** Positive and negative scores binned alike: the binning and its checks are Histogram's. */
  private final Histogram pos;
  private final Histogram neg;

  public BinnedRoc(double min, double max, int bins) {
    this.pos = new Histogram(min, max, bins);
    this.neg = new Histogram(min, max, bins);
    this.min = min;
    this.max = max;
    this.bins = bins;
  }

  public void addPositive(double score) {
    pos.add(score, "positive score");
  }

  public void addNegative(double score) {
    neg.add(score, "negative score");
  }

  /** Adds {@code o}'s counts into this one and returns this. Range and bins must match. */
  public BinnedRoc merge(BinnedRoc o) {
    InvalidInputException.check(o != null, "other must not be null");
    InvalidInputException.check(pos.sameLayout(o.pos),
        "can only merge BinnedRoc with the same layout: this has [%s, %s] in %d bins, other has [%s, %s] in %d bins",
        min, max, bins, o.min, o.max, o.bins);
    pos.merge(o.pos);
    neg.merge(o.neg);
    return this;
  }

  private void checkNonEmpty() {
    InvalidInputException.check(pos.total() > 0 && neg.total() > 0,
        "ROC needs at least one positive and one negative score, found positives=%d negatives=%d", pos.total(),
        neg.total());
  }

  /** Binned AUROC; within {@link #maxError()} of the exact AUROC of the same scores. */
  public double auroc() {
    checkNonEmpty();
    double sum = 0;
    long below = 0;
    for (int b = 0; b < bins; b++) {
      sum += (double) pos.count(b) * (2.0 * below + neg.count(b));
      below += neg.count(b);
    }
    return sum / (2.0 * pos.total() * (double) neg.total());
  }

  /** {@code ½ Σ_b P_b N_b / (P N)}: a proven bound on {@code |auroc() - exact AUROC|} (see the class doc). */
  public double maxError() {
    checkNonEmpty();
    double shared = 0;
    for (int b = 0; b < bins; b++) {
      shared += (double) pos.count(b) * neg.count(b);
    }
    return 0.5 * shared / (pos.total() * (double) neg.total());
  }

  public double averagePrecision() {
    checkNonEmpty();
    long[][] s = steps();
    return Roc.averagePrecision(s[0], s[1], pos.total());
  }

  public RocCurve curve() {
    checkNonEmpty();
    long[][] s = steps();
    return Roc.curve(s[0], s[1], pos.total(), neg.total());
  }

  private long[][] steps() {
    long[] tp = new long[bins];
    long[] fp = new long[bins];
    int t = 0;
    long ctp = 0;
    long cfp = 0;
    for (int b = bins - 1; b >= 0; b--) {
      if (pos.count(b) == 0 && neg.count(b) == 0) {
        continue;
      }
      ctp += pos.count(b);
      cfp += neg.count(b);
      tp[t] = ctp;
      fp[t] = cfp;
      t++;
    }
    return new long[][] {Arrays.copyOf(tp, t), Arrays.copyOf(fp, t)};
  }

  public long positives() {
    return pos.total();
  }

  public long negatives() {
    return neg.total();
  }

  public double min() {
    return min;
  }

  public double max() {
    return max;
  }

  public int bins() {
    return bins;
  }
}
