package io.deepens.spark.score;

import io.deepens.core.InvalidInputException;
import java.util.Locale;

/** What scoring does with a row whose features are null, of the wrong length, NaN or infinite. */
public enum InvalidPolicy {
  /** Stop the job with the row's key, the column and the reason (the default). */
  FAIL,
  /** Leave the row out of the output; the count is logged. */
  SKIP,
  /** Keep the row with null output columns and the reason in an {@code invalid_reason} column. */
  KEEP;

  public static InvalidPolicy parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new InvalidInputException("--invalid must be fail, skip or keep, found '" + s + "'");
    }
  }
}
