package io.deepens.core.train;

import io.deepens.core.DeepensException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * Keeps each member's latest checkpoint as {@code <dir>/m-000/checkpoint.bin} on a local file system (the layout of
 * the ensemble store's {@code checkpoints/<run-id>/} folder). A save writes a temporary file in the same folder and
 * renames it over the previous one atomically, so a reader never sees a half-written checkpoint.
 */
public final class DirectoryCheckpointer implements Checkpointer {
  private final Path dir;

  public DirectoryCheckpointer(Path dir) {
    this.dir = dir;
  }

  /** The file holding the member's latest checkpoint. */
  public Path file(int member) {
    return dir.resolve(String.format(java.util.Locale.ROOT, "m-%03d", member)).resolve("checkpoint.bin");
  }

  @Override
  public Optional<MemberCheckpoint> latest(int member) {
    Path f = file(member);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(MemberCheckpoint.fromBytes(Files.readAllBytes(f)));
    } catch (IOException e) {
      throw new DeepensException("cannot read checkpoint " + f + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void save(int member, MemberCheckpoint checkpoint) {
    Path f = file(member);
    try {
      Files.createDirectories(f.getParent());
      Path tmp = Files.createTempFile(f.getParent(), "checkpoint-", ".tmp");
      try {
        Files.write(tmp, checkpoint.toBytes());
        try {
          Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new DeepensException("cannot write checkpoint " + f + ": " + e.getMessage(), e);
    }
  }
}
