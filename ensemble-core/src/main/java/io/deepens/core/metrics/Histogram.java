package io.deepens.core.metrics;

import io.deepens.core.InvalidInputException;
import java.io.Serializable;
import java.util.Locale;

/**
 * A mergeable histogram with {@code bins} equal-width bins over {@code [min, max]}, for the report's entropy and
 * mutual-information plots. Bin b is {@code [edges[b], edges[b+1])}, the last bin also holds {@code max}; values
 * below {@code min} are counted in the first bin and values above {@code max} in the last (so {@code total()} is
 * the number of values added); NaN is rejected.
 */
public final class Histogram implements Serializable {
  private static final long serialVersionUID = 1L;

  private final double min;
  private final double max;
  private final int bins;
  private final double scale;
  private final long[] counts;
  private long total;

  public Histogram(double min, double max, int bins) {
    InvalidInputException.check(Double.isFinite(min) && Double.isFinite(max) && min < max,
        "min and max must be finite with min < max, found min=%s max=%s", min, max);
    InvalidInputException.check(bins >= 1, "bins must be >= 1, found %d", bins);
    this.min = min;
    this.max = max;
    this.bins = bins;
    this.scale = bins / (max - min);
    InvalidInputException.check(Double.isFinite(scale), "bins/(max-min) must be finite, found %s (min=%s max=%s)",
        scale, min, max);
    this.counts = new long[bins];
  }

  public void add(double value) {
    add(value, "value");
  }

  /** {@link #add(double)}, naming the value {@code what} in the NaN message (BinnedRoc's scores). */
  void add(double value, String what) {
    if (Double.isNaN(value)) {
      throw new InvalidInputException(String.format(Locale.ROOT, "%s must not be NaN, found NaN", what));
    }
    int b;
    if (value <= min) {
      b = 0;
    } else if (value >= max) {
      b = bins - 1;
    } else {
      b = Math.min(bins - 1, (int) ((value - min) * scale));
    }
    counts[b]++;
    total++;
  }

  /** Adds {@code other}'s counts into this one and returns this. Range and bins must match. */
  public Histogram merge(Histogram other) {
    InvalidInputException.check(other != null, "other must not be null");
    InvalidInputException.check(other.min == min && other.max == max && other.bins == bins,
        "can only merge histograms with the same layout: this has [%s, %s] in %d bins, other has [%s, %s] in %d bins",
        min, max, bins, other.min, other.max, other.bins);
    for (int b = 0; b < bins; b++) {
      counts[b] += other.counts[b];
    }
    total += other.total;
    return this;
  }

  /** The count of bin {@code b}, without copying (package code reads bins in loops). */
  long count(int b) {
    return counts[b];
  }

  /** True when {@code other} has the same range and bins. */
  boolean sameLayout(Histogram other) {
    return other.min == min && other.max == max && other.bins == bins;
  }

  /** A copy of the counts, one per bin. */
  public long[] counts() {
    return counts.clone();
  }

  /** The {@code bins + 1} bin edges, from {@code min} to exactly {@code max}. */
  public double[] edges() {
    double[] e = new double[bins + 1];
    for (int b = 0; b < bins; b++) {
      e[b] = min + (max - min) * b / bins;
    }
    e[bins] = max;
    return e;
  }

  public long total() {
    return total;
  }

  public int bins() {
    return bins;
  }
}
