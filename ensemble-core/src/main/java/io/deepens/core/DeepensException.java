package io.deepens.core;

/**
 * The root of every exception deepens throws on purpose. Messages name the argument, key, row or file concerned,
 * the value found and the rule it broke, so that a user can fix the input without reading the code.
 */
public class DeepensException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DeepensException(String message) {
    super(message);
  }

  public DeepensException(String message, Throwable cause) {
    super(message, cause);
  }
}
