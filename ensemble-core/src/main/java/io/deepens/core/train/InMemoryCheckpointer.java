package io.deepens.core.train;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps the latest checkpoint of each member in memory, as the bytes of {@link MemberCheckpoint#toBytes()} (so the
 * format is exercised exactly as a store would). For tests and single-JVM runs.
 */
public final class InMemoryCheckpointer implements Checkpointer {
  private final Map<Integer, byte[]> latest = new ConcurrentHashMap<>();
  private final Map<Integer, Integer> saves = new ConcurrentHashMap<>();

  @Override
  public Optional<MemberCheckpoint> latest(int member) {
    byte[] b = latest.get(member);
    return b == null ? Optional.empty() : Optional.of(MemberCheckpoint.fromBytes(b));
  }

  @Override
  public void save(int member, MemberCheckpoint checkpoint) {
    latest.put(member, checkpoint.toBytes());
    saves.merge(member, 1, Integer::sum);
  }

  /** How many checkpoints were saved for the member. */
  public int saveCount(int member) {
    return saves.getOrDefault(member, 0);
  }

  public void clear() {
    latest.clear();
    saves.clear();
  }
}
