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
  /**
   * Nothing to do: the run id was already published (a rerun of a finished run). The output says which version it
   * published. A scheduler should treat it as success.
   */
  NOTHING_TO_DO(4),
  /**
   * Busy: another live process holds this run id's lock (it is training it now). Nothing was changed; retry later
   * or check the holder the message names.
   */
  BUSY(5);

  public final int code;

  ExitCode(int code) {
    this.code = code;
  }
}
