package io.deepens.jobs.report;

import io.deepens.core.InvalidInputException;

/**
 * A curve given by its points, in order: for a ROC curve {@code x} is the false positive rate and {@code y} the
 * true positive rate, OOD rows being the positives. The arrays are copied in and out.
 */
public record Curve(double[] x, double[] y) {

  public Curve {
    InvalidInputException.check(x != null && y != null, "Curve: x and y must not be null");
    InvalidInputException.check(x.length == y.length && x.length >= 2,
        "Curve: x and y must have the same length, at least 2, found %d and %d", x.length, y.length);
    x = x.clone();
    y = y.clone();
  }

  @Override
  public double[] x() {
    return x.clone();
  }

  @Override
  public double[] y() {
    return y.clone();
  }

  /** Number of points. */
  public int size() {
    return x.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Curve c && java.util.Arrays.equals(x, c.x) && java.util.Arrays.equals(y, c.y);
  }

  @Override
  public int hashCode() {
    return 31 * java.util.Arrays.hashCode(x) + java.util.Arrays.hashCode(y);
  }

  @Override
  public String toString() {
    return "Curve[" + x.length + " points]";
  }
}
