package io.deepens.core.store;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.deepens.core.DeepensException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lock of one training run, {@code STORE/checkpoints/<run-id>/LOCK}: at most one process trains a given run id
 * at a time, so two schedulers (or a scheduler and a person) starting the same run cannot both write its checkpoints
 * and publish it twice.
 *
 * <p>Rules:
 * <ul>
 *   <li><b>Acquire</b>: the file is created exclusively ({@code FileSystem.create(path, overwrite=false)}, atomic on
 *       HDFS; on the local file system {@code Files.createFile}). It holds JSON: a random token, the owner, host,
 *       pid, when it was acquired and the last heartbeat.</li>
 *   <li><b>Heartbeat</b>: a daemon thread rewrites the file (temporary file + rename) every {@code heartbeatEvery}
 *       (default {@value #DEFAULT_HEARTBEAT_SECONDS} s), after checking the token is still its own.</li>
 *   <li><b>Stale</b>: a lock whose last heartbeat is older than {@code staleAfter} (default
 *       {@value #DEFAULT_STALE_MINUTES} minutes) belongs to a crashed process: the next run deletes it and takes
 *       the lock, so a crashed run can be resumed. An unreadable lock file counts from its modification time. Clocks
 *       of the machines involved are assumed to agree to well within the timeout (NTP).</li>
 *   <li><b>Dead holder on this host</b>: a lock naming this host ({@link ProcessIdentity}: same host name, boot
 *       id and pid namespace) whose pid is not running, or now runs another program (a different start time),
 *       belongs to a crashed process: it is taken over at once, and the log says so. Across hosts only the heartbeat
 *       rule applies, since a pid means nothing on another machine.</li>
 *   <li><b>Otherwise</b> {@link #acquire} fails at once with {@link HeldException}, naming the holder and when the
 *       lock becomes stale.</li>
 *   <li><b>Release</b> ({@link #close}) deletes the file if it is still this lock's (publication removes the whole
 *       run folder, lock included: that is fine).</li>
 * </ul>
 * Taking over a stale lock is check-then-act: two processes taking over the same stale lock in the same instant
 * could both believe they hold it. The heartbeat re-reads the token every beat and reports the loss
 * ({@link #lost()}, an error in the log). The heartbeat's replace is atomic on local disks (java.nio) and on HDFS
 * ({@code FileContext.rename(OVERWRITE)}). On object stores without atomic create-if-absent (S3 through Hadoop
 * 3.3's s3a) the lock is best-effort: let one scheduler own a run id.
 */
public final class RunLock implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);
  public static final String FILE = "LOCK";
  static final long DEFAULT_STALE_MINUTES = 10;
  static final long DEFAULT_HEARTBEAT_SECONDS = 60;
  public static final Duration DEFAULT_STALE_AFTER = Duration.ofMinutes(DEFAULT_STALE_MINUTES);
  public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(DEFAULT_HEARTBEAT_SECONDS);

  /**
   * What a lock file says. {@code hostId} and {@code processStart} ({@link ProcessIdentity}) let a rerun on the same
   * host tell a dead holder from a live one; lock files written before they existed have them null.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Holder(String token, String runId, String owner, String host, long pid, String acquiredAt,
      String heartbeatAt, String hostId, String processStart) {
    @JsonCreator
    public Holder {}

    /** A holder without a host identity: judged by its heartbeat only. */
    public Holder(String token, String runId, String owner, String host, long pid, String acquiredAt,
        String heartbeatAt) {
      this(token, runId, owner, host, pid, acquiredAt, heartbeatAt, null, null);
    }

    Holder beat(Instant now) {
      return new Holder(token, runId, owner, host, pid, acquiredAt, now.toString(), hostId, processStart);
    }
  }

  /** Another live process holds the run id. */
  public static final class HeldException extends DeepensException {
    private static final long serialVersionUID = 1L;
    private final transient Holder holder;

    HeldException(String message, Holder holder) {
      super(message);
      this.holder = holder;
    }

    public Holder holder() {
      return holder;
    }
  }

  private final Files2 files;
  private final Path path;
  private final Holder mine;
  private final ScheduledExecutorService heartbeat;
  private volatile Holder last;
  private volatile boolean lost;
  private volatile boolean closed;

  private RunLock(Files2 files, Path path, Holder mine, Duration heartbeatEvery) {
    this.files = files;
    this.path = path;
    this.mine = mine;
    this.last = mine;
    this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "deepens-run-lock-" + mine.runId());
      t.setDaemon(true);
      return t;
    });
    long ms = Math.max(1, heartbeatEvery.toMillis());
    heartbeat.scheduleWithFixedDelay(this::beat, ms, ms, TimeUnit.MILLISECONDS);
  }

  /** Acquires the lock of {@code runId} with the default timeouts. */
  public static RunLock acquire(EnsembleStore store, String runId, String owner) {
    return acquire(store, runId, owner, DEFAULT_STALE_AFTER, DEFAULT_HEARTBEAT);
  }

  /**
   * Acquires the lock of {@code runId} or throws {@link HeldException} at once when a live process holds it.
   *
   * @param owner a short description of the holder for the message others see, e.g. {@code deepens train}
   */
  public static RunLock acquire(EnsembleStore store, String runId, String owner, Duration staleAfter,
      Duration heartbeatEvery) {
    Path path = path(store, runId);
    Files2 files = Files2.of(store);
    Instant now = Instant.now();
    Holder mine = new Holder(UUID.randomUUID().toString(), runId, owner, ProcessIdentity.host(),
        ProcessIdentity.pid(), now.toString(), now.toString(), ProcessIdentity.hostId(), ProcessIdentity.startedAt());
    for (int attempt = 0; attempt < 3; attempt++) {
      if (files.createNew(path, EnsembleStore.toJson(mine))) {
        LOG.info("run {}: lock {} acquired (heartbeat every {} s, stale after {} s without one)", runId, path,
            heartbeatEvery.toSeconds(), staleAfter.toSeconds());
        return new RunLock(files, path, mine, heartbeatEvery);
      }
      Optional<Observed> seen = files.read(path);
      if (seen.isEmpty()) {
        continue; // released meanwhile
      }
      Observed o = seen.get();
      Instant beat = o.heartbeat();
      Duration age = Duration.between(beat, Instant.now());
      Holder h = o.holder;
      Optional<String> gone = h == null ? Optional.empty()
          : ProcessIdentity.goneFromThisHost(h.host(), h.hostId(), h.pid(), h.processStart());
      if (gone.isPresent()) {
        LOG.warn("run {}: taking over lock {} at once: its holder ({} on this host, pid {}, since {}) is gone: {}; "
            + "its last heartbeat was {} s ago", runId, path, h.owner(), h.pid(), h.acquiredAt(), gone.get(),
            age.toSeconds());
        deleteIfStill(files, path, o);
        continue;
      }
      if (age.compareTo(staleAfter) < 0) {
        String who = h == null ? "an unreadable lock file" : String.format(java.util.Locale.ROOT,
            "%s on host %s (pid %d, since %s)", h.owner(), h.host(), h.pid(), h.acquiredAt());
        throw new HeldException("run id '" + runId + "' is being trained by another process: " + who
            + "; its last heartbeat was " + age.toSeconds() + " s ago (" + path + "). Wait for it to finish, or use"
            + " another --run-id. The lock counts as stale, and is taken over, after " + (staleAfter.toSeconds() >= 60
            ? staleAfter.toMinutes() + " minutes" : staleAfter.toMillis() + " ms") + " without a heartbeat", h);
      }
      LOG.warn("run {}: taking over stale lock {} (last heartbeat {} s ago, older than {} s): {}", runId, path,
          age.toSeconds(), staleAfter.toSeconds(), o.holder);
      deleteIfStill(files, path, o);
    }
    throw new DeepensException("cannot acquire " + path + ": it kept reappearing after 3 attempts");
  }

  /**
   * Deletes the lock file if it still holds what was judged (same token; for an unreadable file, same modification
   * time), narrowing the window in which two processes taking over the same lock delete each other's new one.
   */
  private static void deleteIfStill(Files2 files, Path path, Observed judged) {
    Optional<Observed> now = files.read(path);
    if (now.isEmpty()) {
      return;
    }
    boolean same = judged.holder != null
        ? now.get().holder != null && java.util.Objects.equals(judged.holder.token(), now.get().holder.token())
        : now.get().holder == null && now.get().modificationTime == judged.modificationTime;
    if (same) {
      files.delete(path);
    }
  }

  public static Path path(EnsembleStore store, String runId) {
    return new Path(store.runDir(runId), FILE);
  }

  /** The file's current content, if any. */
  public static Optional<Holder> read(EnsembleStore store, String runId) {
    return Files2.of(store).read(path(store, runId)).map(o -> o.holder);
  }

  public Path path() {
    return path;
  }

  /** This lock's content as last written by the heartbeat. */
  public Holder holder() {
    return last;
  }

  /** True when the heartbeat found another process's token in the file (a concurrent stale-lock takeover). */
  public boolean lost() {
    return lost;
  }

  private synchronized void beat() {
    if (closed || lost) {
      return;
    }
    try {
      Optional<Observed> o = files.read(path);
      if (o.isEmpty()) {
        // publication removed the run folder (and this file with it): nothing left to protect
        LOG.info("run {}: lock file {} is gone (the run folder was removed after publication); heartbeat stops",
            mine.runId(), path);
        heartbeat.shutdown();
        return;
      }
      if (o.get().holder == null) {
        LOG.warn("run {}: lock {} is unreadable just now; checking again at the next beat", mine.runId(), path);
        return;
      }
      if (!mine.token().equals(o.get().holder.token())) {
        lost = true;
        LOG.error("run {}: lock {} now belongs to another process ({}); this run no longer holds it", mine.runId(),
            path, o.get().holder);
        heartbeat.shutdown();
        return;
      }
      Holder next = mine.beat(Instant.now());
      files.replace(path, EnsembleStore.toJson(next));
      last = next;
    } catch (RuntimeException e) {
      LOG.warn("run {}: lock heartbeat failed ({}); retrying at the next beat", mine.runId(), e.toString());
    }
  }

  /** Stops the heartbeat and deletes the lock file if it is still this lock's; its folder too when left empty. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    heartbeat.shutdownNow();
    try {
      Optional<Observed> o = files.read(path);
      if (o.isPresent() && o.get().holder != null && mine.token().equals(o.get().holder.token())) {
        files.delete(path);
        files.deleteIfEmpty(path.getParent());
      }
    } catch (RuntimeException e) {
      LOG.warn("run {}: cannot release lock {} ({}); it turns stale after its timeout", mine.runId(), path,
          e.toString());
    }
  }

  /** A lock file as read: its content (null when unreadable) and modification time. */
  private record Observed(Holder holder, long modificationTime) {
    Instant heartbeat() {
      if (holder != null && holder.heartbeatAt() != null) {
        try {
          return Instant.parse(holder.heartbeatAt());
        } catch (java.time.format.DateTimeParseException ignored) {
          // fall through to the file time
        }
      }
      return Instant.ofEpochMilli(modificationTime);
    }
  }

  private static Holder parse(byte[] bytes) {
    try {
      return EnsembleStore.json().readValue(bytes, Holder.class);
    } catch (IOException e) {
      return null; // being rewritten or damaged: judged by its modification time
    }
  }

  /**
   * The four file operations the lock needs. On the local file system they go through java.nio (Hadoop's local
   * {@code create(overwrite=false)} checks and creates in two steps, and writes checksum side files); elsewhere
   * through the Hadoop FileSystem.
   */
  private abstract static class Files2 {
    abstract boolean createNew(Path p, byte[] bytes);

    abstract Optional<Observed> read(Path p);

    abstract void replace(Path p, byte[] bytes);

    abstract void delete(Path p);

    abstract void deleteIfEmpty(Path dir);

    static Files2 of(EnsembleStore store) {
      FileSystem fs = store.fileSystem();
      if (fs instanceof LocalFileSystem local) {
        return new Local(local);
      }
      return new Hadoop(store);
    }
  }

  private static final class Local extends Files2 {
    private final LocalFileSystem fs;

    Local(LocalFileSystem fs) {
      this.fs = fs;
    }

    private java.nio.file.Path file(Path p) {
      return fs.pathToFile(p).toPath();
    }

    @Override
    boolean createNew(Path p, byte[] bytes) {
      java.nio.file.Path f = file(p);
      try {
        Files.createDirectories(f.getParent());
        Files.createFile(f);
      } catch (FileAlreadyExistsException e) {
        return false;
      } catch (IOException e) {
        throw new DeepensException("cannot create lock " + p + ": " + e.getMessage(), e);
      }
      try {
        Files.write(f, bytes);
        return true;
      } catch (IOException e) {
        throw new DeepensException("cannot write lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    Optional<Observed> read(Path p) {
      java.nio.file.Path f = file(p);
      try {
        long mtime = Files.getLastModifiedTime(f).toMillis();
        return Optional.of(new Observed(parse(Files.readAllBytes(f)), mtime));
      } catch (NoSuchFileException e) {
        return Optional.empty();
      } catch (IOException e) {
        throw new DeepensException("cannot read lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    void replace(Path p, byte[] bytes) {
      java.nio.file.Path f = file(p);
      java.nio.file.Path tmp = f.resolveSibling("." + f.getFileName() + "." + UUID.randomUUID() + ".tmp");
      try {
        Files.write(tmp, bytes);
        Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // a dot file nobody reads
        }
        throw new DeepensException("cannot rewrite lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    void delete(Path p) {
      try {
        Files.deleteIfExists(file(p));
      } catch (IOException e) {
        throw new DeepensException("cannot delete lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    void deleteIfEmpty(Path dir) {
      try {
        Files.deleteIfExists(file(dir));
      } catch (IOException e) {
        // not empty (checkpoints remain) or gone: either is fine
      }
    }
  }

  private static final class Hadoop extends Files2 {
    private final EnsembleStore store;
    private final FileSystem fs;

    Hadoop(EnsembleStore store) {
      this.store = store;
      this.fs = store.fileSystem();
    }

    @Override
    boolean createNew(Path p, byte[] bytes) {
      try {
        fs.mkdirs(p.getParent());
        try (OutputStream out = fs.create(p, false)) {
          out.write(bytes);
        }
        return true;
      } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
        return false;
      } catch (IOException e) {
        try {
          if (fs.exists(p)) {
            return false; // some file systems report a lost create race as a generic IOException
          }
        } catch (IOException ignored) {
          // report the original problem
        }
        throw new DeepensException("cannot create lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    Optional<Observed> read(Path p) {
      try {
        FileStatus st = fs.getFileStatus(p);
        try (InputStream in = fs.open(p)) {
          return Optional.of(new Observed(parse(in.readAllBytes()), st.getModificationTime()));
        }
      } catch (FileNotFoundException e) {
        return Optional.empty();
      } catch (IOException e) {
        throw new DeepensException("cannot read lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    void replace(Path p, byte[] bytes) {
      Path tmp = new Path(p.getParent(), "." + p.getName() + "." + UUID.randomUUID() + ".tmp");
      try {
        try (OutputStream out = fs.create(tmp, false)) {
          out.write(bytes);
        }
        FileContext.getFileContext(fs.getUri(), store.hadoopConf()).rename(tmp, p, Options.Rename.OVERWRITE);
      } catch (IOException e) {
        try {
          fs.delete(tmp, false);
        } catch (IOException ignored) {
          // a dot file nobody reads
        }
        throw new DeepensException("cannot rewrite lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    void delete(Path p) {
      try {
        fs.delete(p, false);
      } catch (IOException e) {
        throw new DeepensException("cannot delete lock " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    void deleteIfEmpty(Path dir) {
      try {
        if (fs.exists(dir) && fs.listStatus(dir).length == 0) {
          fs.delete(dir, false);
        }
      } catch (IOException e) {
        // best effort
      }
    }
  }
}
