package io.deepens.jobs;

/** Exit codes a scheduler can act on. */
public enum ExitCode {
  /** Done: the result is where the last log line says. */
  OK(0),
  /** An unexpected internal error (a bug): report it. */
  INTERNAL(1),
  /** Usage or bad input (arguments, spec, data): fix the input; retrying will not help. */
  USAGE(2),
  /** Infrastructure failure (file system, cluster, lost executors beyond retries): retrying may help. */
  INFRASTRUCTURE(3),
  /** Nothing to do (e.g. the run id was already published). */
  NOTHING_TO_DO(4);

  public final int code;

  ExitCode(int code) {
    this.code = code;
  }
}
