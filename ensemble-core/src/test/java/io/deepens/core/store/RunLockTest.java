package io.deepens.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The run lock on the local file system, through both of its implementations: java.nio (LocalFileSystem) and the
 * Hadoop FileSystem API (RawLocalFileSystem stands in for HDFS: {@code create(overwrite=false)} refuses an
 * existing file).
 */
class RunLockTest {
  @TempDir Path tmp;

  EnsembleStore store(boolean hadoopApi) {
    Configuration conf = new Configuration();
    if (hadoopApi) {
      conf.set("fs.file.impl", RawLocalFileSystem.class.getName());
      conf.setBoolean("fs.file.impl.disable.cache", true);
    }
    return EnsembleStore.open(tmp.resolve("store").toString(), conf);
  }

  Path lockFile() {
    return tmp.resolve("store/checkpoints/nightly-1/LOCK");
  }

  void writeLock(String token, Instant heartbeat) throws Exception {
    Files.createDirectories(lockFile().getParent());
    RunLock.Holder h = new RunLock.Holder(token, "nightly-1", "deepens train", "other-host", 4242,
        heartbeat.minusSeconds(5).toString(), heartbeat.toString());
    Files.write(lockFile(), EnsembleStore.toJson(h));
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void secondAcquireFailsAtOnceNamingTheHolderAndSucceedsAfterRelease(boolean hadoopApi) {
    EnsembleStore store = store(hadoopApi);
    RunLock a = RunLock.acquire(store, "nightly-1", "scheduler A");
    assertTrue(Files.exists(lockFile()));
    long t0 = System.nanoTime();
    RunLock.HeldException e = assertThrows(RunLock.HeldException.class,
        () -> RunLock.acquire(store, "nightly-1", "scheduler B"));
    assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "must fail fast, not wait");
    assertTrue(e.getMessage().contains("'nightly-1'") && e.getMessage().contains("scheduler A")
        && e.getMessage().contains("pid " + ProcessHandle.current().pid())
        && e.getMessage().contains("after 10 minutes"), e.getMessage());
    assertEquals("scheduler A", e.holder().owner());
    // another run id is independent
    try (RunLock other = RunLock.acquire(store, "nightly-2", "scheduler B")) {
      assertNotEquals(a.holder().token(), other.holder().token());
    }
    a.close();
    assertFalse(Files.exists(lockFile()), "release deletes the lock");
    assertFalse(Files.exists(lockFile().getParent()), "and the run folder it left empty");
    try (RunLock b = RunLock.acquire(store, "nightly-1", "scheduler B")) {
      assertEquals(b.holder().token(), RunLock.read(store, "nightly-1").orElseThrow().token());
      assertEquals("scheduler B", RunLock.read(store, "nightly-1").orElseThrow().owner());
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aLockWithoutHeartbeatForTenMinutesIsTakenOverAndAFresherOneIsNot(boolean hadoopApi) throws Exception {
    EnsembleStore store = store(hadoopApi);
    writeLock("crashed", Instant.now().minus(Duration.ofMinutes(9)));
    assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(store, "nightly-1", "rerun"));
    writeLock("crashed", Instant.now().minus(Duration.ofMinutes(11)));
    try (RunLock l = RunLock.acquire(store, "nightly-1", "rerun")) {
      RunLock.Holder now = RunLock.read(store, "nightly-1").orElseThrow();
      assertEquals(l.holder().token(), now.token());
      assertNotEquals("crashed", now.token());
    }
  }

  /**
   * On the local file system only: the Hadoop-API heartbeat replaces the file with {@code FileContext.rename(...,
   * OVERWRITE)}, atomic on HDFS but a delete followed by a rename on the local file system, whose gap a concurrent
   * acquire can slip into. (Production uses java.nio on local disks.)
   */
  @org.junit.jupiter.api.Test
  void theHeartbeatKeepsALongRunFreshAndDetectsATakeover() throws Exception {
    EnsembleStore store = store(false);
    Duration stale = Duration.ofMillis(1000);
    try (RunLock a = RunLock.acquire(store, "nightly-1", "long run", stale, Duration.ofMillis(50))) {
      Thread.sleep(2500); // 2.5 stale periods: without heartbeats the lock would be stale now
      assertThrows(RunLock.HeldException.class,
          () -> RunLock.acquire(store, "nightly-1", "second", stale, Duration.ofMillis(50)));
      RunLock.Holder h = RunLock.read(store, "nightly-1").orElseThrow();
      assertTrue(Instant.parse(h.heartbeatAt()).isAfter(Instant.parse(h.acquiredAt()).plusMillis(1500)),
          "heartbeat advanced: " + h);
      assertFalse(a.lost());
      // another process takes the lock over (as after a mistaken stale judgement). A beat that read the file just
      // before this write rewrites it (the documented check-then-act window), so write again until a beat sees it.
      byte[] intruder = EnsembleStore.toJson(new RunLock.Holder("intruder", "nightly-1", "x", "h", 1,
          Instant.now().toString(), Instant.now().toString()));
      long until = System.currentTimeMillis() + 5000;
      while (!a.lost() && System.currentTimeMillis() < until) {
        if (!"intruder".equals(RunLock.read(store, "nightly-1").map(RunLock.Holder::token).orElse(null))) {
          java.nio.file.Path tmpFile = lockFile().resolveSibling(".intruder.tmp");
          Files.write(tmpFile, intruder);
          Files.move(tmpFile, lockFile(), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Thread.sleep(20);
      }
      assertTrue(a.lost(), "the heartbeat must notice the foreign token");
    }
    assertEquals("intruder", RunLock.read(store, "nightly-1").orElseThrow().token(),
        "closing a lost lock must not delete the new holder's file");
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void anUnreadableLockIsJudgedByItsModificationTime(boolean hadoopApi) throws Exception {
    EnsembleStore store = store(hadoopApi);
    Files.createDirectories(lockFile().getParent());
    Files.write(lockFile(), "half-writ".getBytes(StandardCharsets.UTF_8));
    RunLock.HeldException e = assertThrows(RunLock.HeldException.class,
        () -> RunLock.acquire(store, "nightly-1", "rerun"));
    assertTrue(e.getMessage().contains("unreadable"), e.getMessage());
    Files.setLastModifiedTime(lockFile(), FileTime.from(Instant.now().minus(Duration.ofMinutes(11))));
    RunLock.acquire(store, "nightly-1", "rerun").close();
  }

  /**
   * Starts {@link RunLockHolder} in a child JVM holding run nightly-1's lock (stale after {@code staleMillis}, a
   * heartbeat every 100 ms) and returns it once it printed that it acquired the lock.
   */
  Process startHolder(String staleMillis) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        RunLockHolder.class.getName(), tmp.resolve("store").toString(), "nightly-1", staleMillis, "100")
        .redirectErrorStream(true).start();
    java.io.BufferedReader out = new java.io.BufferedReader(
        new java.io.InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("ACQUIRED ")) {
      // skip the child's log lines
    }
    if (line == null) {
      holder.destroyForcibly();
    }
    assertTrue(line != null, "the holder JVM did not acquire the lock");
    assertEquals(holder.pid(), Long.parseLong(line.substring("ACQUIRED ".length())));
    return holder;
  }

  @org.junit.jupiter.api.Test
  void aLockHeldByAnotherJvmExcludesThisOneUntilThatJvmDiesAndItsLockTurnsStale() throws Exception {
    EnsembleStore store = store(false);
    Process holder = startHolder("3000");
    try {
      for (int i = 0; i < 5; i++) { // 5 s while it lives: its heartbeats keep the 3 s lock fresh
        RunLock.HeldException e = assertThrows(RunLock.HeldException.class,
            () -> RunLock.acquire(store, "nightly-1", "this JVM", Duration.ofMillis(3000), Duration.ofMillis(100)));
        assertTrue(e.getMessage().contains("holder JVM") && e.getMessage().contains("pid " + holder.pid()),
            e.getMessage());
        Thread.sleep(1000);
      }
    } finally {
      holder.destroyForcibly().waitFor(); // the holder crashes: no release, the lock file stays
    }
    assertTrue(Files.exists(lockFile()));
    Thread.sleep(3200);
    try (RunLock mine = RunLock.acquire(store, "nightly-1", "this JVM", Duration.ofMillis(3000),
        Duration.ofMillis(100))) {
      assertEquals(mine.holder().token(), RunLock.read(store, "nightly-1").orElseThrow().token());
      assertEquals(ProcessHandle.current().pid(), RunLock.read(store, "nightly-1").orElseThrow().pid());
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void releaseKeepsTheCheckpoints(boolean hadoopApi) throws Exception {
    EnsembleStore store = store(hadoopApi);
    Path ckpt = tmp.resolve("store/checkpoints/nightly-1/m-000/latest.ckpt");
    Files.createDirectories(ckpt.getParent());
    Files.write(ckpt, new byte[] {1, 2, 3});
    RunLock.acquire(store, "nightly-1", "run").close();
    assertFalse(Files.exists(lockFile()));
    assertTrue(Files.exists(ckpt), "a crashed run's checkpoints stay for the rerun");
  }

  /** A pid of this host that is certainly not running: a process this test started and waited for. */
  static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    assertEquals(0, p.waitFor());
    assertFalse(ProcessHandle.of(p.pid()).map(ProcessHandle::isAlive).orElse(false));
    return p.pid();
  }

  void writeLock(RunLock.Holder h) throws Exception {
    Files.createDirectories(lockFile().getParent());
    Files.write(lockFile(), EnsembleStore.toJson(h));
  }

  static RunLock.Holder fresh(String token, String host, String hostId, long pid, String processStart) {
    Instant now = Instant.now();
    return new RunLock.Holder(token, "nightly-1", "deepens train", host, pid, now.minusSeconds(30).toString(),
        now.toString(), hostId, processStart);
  }

  /**
   * A driver killed with kill -9 on this host leaves a fresh lock (its heartbeat is seconds old); the rerun on the
   * same host sees that the pid is gone and takes the lock over at once instead of waiting 10 minutes.
   */
  @org.junit.jupiter.api.Test
  void aLockOfAKilledProcessOfThisHostIsTakenOverAtOnce() throws Exception {
    EnsembleStore store = store(false);
    Process holder = startHolder("600000");
    try {
      RunLock.HeldException e = assertThrows(RunLock.HeldException.class,
          () -> RunLock.acquire(store, "nightly-1", "rerun"));
      assertTrue(e.getMessage().contains("pid " + holder.pid()), e.getMessage());
      RunLock.Holder h = RunLock.read(store, "nightly-1").orElseThrow();
      assertEquals(ProcessIdentity.host(), h.host());
      assertEquals(ProcessIdentity.hostId(), h.hostId());
      assertEquals(holder.info().startInstant().orElseThrow().toString(), h.processStart());
    } finally {
      // kill -9: no release, the lock file stays with a heartbeat well inside the 10 minutes
      assertEquals(137, holder.destroyForcibly().waitFor());
    }
    RunLock.Holder left = RunLock.read(store, "nightly-1").orElseThrow();
    assertTrue(Duration.between(Instant.parse(left.heartbeatAt()), Instant.now()).toSeconds() < 60, left.toString());
    long t0 = System.nanoTime();
    try (RunLock mine = RunLock.acquire(store, "nightly-1", "rerun")) {
      assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "taken over at once");
      assertEquals(mine.holder().token(), RunLock.read(store, "nightly-1").orElseThrow().token());
      assertNotEquals(left.token(), mine.holder().token());
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void aLockOfThisHostIsTakenOverAtOnceOnlyWhenItsProcessIsGoneOrAnotherProgram(boolean hadoopApi)
      throws Exception {
    Assumptions.assumeTrue(ProcessIdentity.hostId() != null, "needs Linux's boot id and pid namespace");
    EnsembleStore store = store(hadoopApi);
    String host = ProcessIdentity.host();
    String hostId = ProcessIdentity.hostId();
    // a dead pid of this host: taken over at once
    writeLock(fresh("dead", host, hostId, deadPid(), null));
    try (RunLock l = RunLock.acquire(store, "nightly-1", "rerun")) {
      assertNotEquals("dead", RunLock.read(store, "nightly-1").orElseThrow().token());
    }
    Process sleeper = new ProcessBuilder("sleep", "60").start();
    try {
      String started = sleeper.info().startInstant().orElseThrow().toString();
      // the pid is alive and is the recorded program (same start time): the holder lives, the lock is kept
      writeLock(fresh("alive", host, hostId, sleeper.pid(), started));
      assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(store, "nightly-1", "rerun"));
      // the pid is alive but started at another time: the pid was reused by another program after the holder died
      writeLock(fresh("reused", host, hostId, sleeper.pid(), Instant.parse(started).minusSeconds(3600).toString()));
      try (RunLock l = RunLock.acquire(store, "nightly-1", "rerun")) {
        assertNotEquals("reused", RunLock.read(store, "nightly-1").orElseThrow().token());
      }
    } finally {
      sleeper.destroyForcibly().waitFor();
    }
    // another host (a different host name, or the same name with another boot id or pid namespace: a container on
    // another machine), or a lock without a host identity: a pid means nothing there, the heartbeat rule applies
    long dead = deadPid();
    for (RunLock.Holder other : java.util.List.of(fresh("other-name", host + "-2", hostId, dead, null),
        fresh("other-boot", host, "0000/pid:[1]", dead, null),
        new RunLock.Holder("old-format", "nightly-1", "deepens train", host, dead, Instant.now().toString(),
            Instant.now().toString()))) {
      writeLock(other);
      assertThrows(RunLock.HeldException.class, () -> RunLock.acquire(store, "nightly-1", "rerun"), other.token());
    }
  }
}
