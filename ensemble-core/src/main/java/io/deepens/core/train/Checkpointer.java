package io.deepens.core.train;

import java.util.Optional;

/**
 * Where a member's per-epoch checkpoints go (the ensemble store on a cluster). {@link MemberTrainer} saves one after
 * every epoch and resumes from {@link #latest} when one exists. Implementations should replace atomically: a
 * reader sees either the previous or the new checkpoint.
 */
public interface Checkpointer {
  /** A checkpointer that keeps nothing: every run starts from scratch. */
  Checkpointer NONE = new Checkpointer() {
    @Override
    public Optional<MemberCheckpoint> latest(int member) {
      return Optional.empty();
    }

    @Override
    public void save(int member, MemberCheckpoint checkpoint) {}
  };

  Optional<MemberCheckpoint> latest(int member);

  void save(int member, MemberCheckpoint checkpoint);
}
