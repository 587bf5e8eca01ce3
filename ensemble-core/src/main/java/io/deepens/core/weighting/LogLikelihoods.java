package io.deepens.core.weighting;

import io.deepens.core.InvalidInputException;
import java.util.Locale;

/** Validation of a {@code [member][row]} log-likelihood matrix, shared by {@link Stacking} and {@link PseudoBma}. */
final class LogLikelihoods {
  private LogLikelihoods() {}

  /**
   * Checks shape and values: at least one member and one row, equal row counts, no NaN or +Infinity. -Infinity
   * (a member that gave probability 0 to the truth) is allowed, but not for every member on the same row.
   *
   * @return the number of rows
   */
  static int check(double[][] memberLogLik) {
    InvalidInputException.check(memberLogLik != null, "memberLogLik must not be null");
    final int members = memberLogLik.length;
    InvalidInputException.check(members >= 1, "memberLogLik must hold at least one member, found 0");
    InvalidInputException.check(memberLogLik[0] != null, "memberLogLik[0] must not be null");
    final int rows = memberLogLik[0].length;
    InvalidInputException.check(rows >= 1, "memberLogLik must hold at least one row, found 0");
    for (int m = 0; m < members; m++) {
      final double[] l = memberLogLik[m];
      InvalidInputException.check(l != null, "memberLogLik[%d] must not be null", m);
      InvalidInputException.check(l.length == rows,
          "every member must have the same number of rows: memberLogLik[0] has %d, memberLogLik[%d] has %d", rows, m,
          l.length);
      for (int i = 0; i < rows; i++) {
        final double x = l[i];
        if (Double.isNaN(x) || x == Double.POSITIVE_INFINITY) {
          throw new InvalidInputException(String.format(Locale.ROOT,
              "memberLogLik[%d][%d] (member %d, row %d) must be a log-likelihood < +Infinity and not NaN, found %s",
              m, i, m, i, x));
        }
      }
    }
    for (int i = 0; i < rows; i++) {
      boolean any = false;
      for (int m = 0; m < members && !any; m++) {
        any = memberLogLik[m][i] > Double.NEGATIVE_INFINITY;
      }
      if (!any) {
        throw new InvalidInputException(String.format(Locale.ROOT,
            "row %d: every member has log-likelihood -Infinity (probability 0 for the truth), so no weights can give "
                + "it a finite log score; floor probabilities before taking logs (io.deepens.core.metrics.LogScore)", i));
      }
    }
    return rows;
  }
}
