package io.deepens.core.store;

import java.time.Duration;
import org.apache.hadoop.conf.Configuration;

/**
 * A separate JVM for {@link RunLockTest}: acquires a run's lock, says so on stdout, then holds it (heartbeating)
 * until it is killed. Arguments: store, run id, stale-after ms, heartbeat ms.
 */
public final class RunLockHolder {
  private RunLockHolder() {}

  public static void main(String[] args) throws Exception {
    EnsembleStore store = EnsembleStore.open(args[0], new Configuration());
    RunLock lock = RunLock.acquire(store, args[1], "holder JVM", Duration.ofMillis(Long.parseLong(args[2])),
        Duration.ofMillis(Long.parseLong(args[3])));
    System.out.println("ACQUIRED " + lock.holder().pid());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
