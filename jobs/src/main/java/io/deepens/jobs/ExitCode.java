package io.deepens.jobs;

/** Exit codes a scheduler can act on. */
public enum ExitCode {
  /**
   * Done: the result is where the last log line says. Also a rerun of a finished {@code train --run-id}: nothing
   * is trained or published and the outcome line says {@code nothing to do: run ID was already published as
   * STORE#VERSION}.
   */
  OK(0),
  /** An unexpected internal error (a bug): report it. */
  INTERNAL(1),
  /**
   * Usage or bad input: arguments, spec, data rows (including more invalid rows than {@code score --max-invalid}
   * allows), or a damaged store ({@link io.deepens.core.store.DamagedStoreException}: a member file missing or
   * changed, a manifest that is not valid, {@code LATEST} holding garbage or naming a missing version; restore the
   * file or republish). Fix the input; retrying will not help.
   */
  USAGE(2),
  /**
   * Infrastructure failure (a file system that cannot be reached or fails a read, the cluster, lost executors
   * beyond retries): retrying may help.
   */
  INFRASTRUCTURE(3),
  /**
   * Nothing to do: {@code gc} found nothing to remove (with {@code --dry-run}: would remove nothing), so a script
   * can tell that from a clean-up that happened. A scheduler should treat it as success. {@code train} never
   * returns it: a rerun of a finished run exits {@link #OK}.
   */
  NOTHING_TO_DO(4),
  /**
   * Busy: another live process holds this run id's lock (it is training it now). Nothing was changed; retry later
   * (the rerun then exits {@link #OK}, resuming or finding the run published) or check the holder the message
   * names.
   */
  BUSY(5);

  public final int code;

  ExitCode(int code) {
    this.code = code;
  }
}
