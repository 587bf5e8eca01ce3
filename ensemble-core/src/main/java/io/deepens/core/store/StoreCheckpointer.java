package io.deepens.core.store;

import io.deepens.core.train.Checkpointer;
import io.deepens.core.train.MemberCheckpoint;
import java.util.Optional;
import org.apache.hadoop.fs.Path;

/**
 * Keeps each member's latest epoch checkpoint in the store, {@code checkpoints/<run-id>/m-XXX/latest.ckpt},
 * replaced atomically after every epoch, so a retried task (a lost executor) resumes where the last attempt got.
 */
public final class StoreCheckpointer implements Checkpointer {
  public static final String FILE = "latest.ckpt";
  private final EnsembleStore store;
  private final String runId;

  public StoreCheckpointer(EnsembleStore store, String runId) {
    this.store = store;
    this.runId = EnsembleStore.checkRunId(runId);
  }

  private Path file(int member) {
    return new Path(store.memberRunDir(runId, member), FILE);
  }

  @Override
  public Optional<MemberCheckpoint> latest(int member) {
    return store.readIfExists(file(member)).map(MemberCheckpoint::fromBytes);
  }

  @Override
  public void save(int member, MemberCheckpoint checkpoint) {
    store.writeAtomically(file(member), checkpoint.toBytes());
  }
}
