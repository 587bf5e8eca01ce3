package io.deepens.jobs;

import org.slf4j.helpers.MessageFormatter;

/**
 * The one-line outcome of a command: what happened and where the result is. A command records it with
 * {@link #set}; {@link Main} logs it as {@code outcome: <text> (exit N)} after the command returned, so it is the
 * last log line even when Spark logs its own shutdown after the command's work is done.
 */
public final class Outcome {
  private static final ThreadLocal<String> LAST = new ThreadLocal<>();

  private Outcome() {}

  /** Records the outcome, formatted like an SLF4J message ({@code {}} placeholders). */
  public static void set(String format, Object... args) {
    LAST.set(MessageFormatter.arrayFormat(format, args).getMessage());
  }

  static String take() {
    String s = LAST.get();
    LAST.remove();
    return s;
  }
}
