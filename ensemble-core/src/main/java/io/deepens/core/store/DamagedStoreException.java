package io.deepens.core.store;

import io.deepens.core.InvalidInputException;

/**
 * A store's files contradict each other or themselves: a member file that is missing or does not match the
 * manifest's checksum, a manifest that is not valid JSON or names files outside its version, {@code LATEST} holding
 * something that is not a version name or naming a version that does not exist. Retrying cannot fix it: the
 * command line maps it to exit code 2 (like other bad input), and the message names the file and says to restore
 * it or republish. A file system that cannot be reached is not damage: that stays a {@link
 * io.deepens.core.DeepensException} (exit code 3, retry later).
 */
public class DamagedStoreException extends InvalidInputException {
  private static final long serialVersionUID = 1L;

  /** What every message ends with. */
  public static final String FIX = "Restore the file from a backup, or republish the ensemble (deepens train)";

  public DamagedStoreException(String problem) {
    super("damaged store: " + problem + ". " + FIX);
  }

  public DamagedStoreException(String problem, Throwable cause) {
    super("damaged store: " + problem + ". " + FIX, cause);
  }
}
