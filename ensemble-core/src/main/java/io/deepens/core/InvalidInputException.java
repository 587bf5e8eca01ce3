package io.deepens.core;

/**
 * Input given by the caller breaks a documented rule: a malformed spec, a bad argument, a bad data row.
 * The command line maps it to exit code 2.
 */
public class InvalidInputException extends DeepensException {
  private static final long serialVersionUID = 1L;

  public InvalidInputException(String message) {
    super(message);
  }

  public InvalidInputException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Throws when {@code condition} is false; the message is only formatted on failure. */
  public static void check(boolean condition, String format, Object... args) {
    if (!condition) {
      throw new InvalidInputException(String.format(java.util.Locale.ROOT, format, args));
    }
  }
}
