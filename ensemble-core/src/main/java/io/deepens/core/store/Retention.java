package io.deepens.core.store;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes old versions from a store ({@code train --keep N}, {@code deepens gc --keep N}).
 *
 * <p>The rule: a version is <b>kept</b> when it is one of the newest {@code keep} versions, or the one {@code LATEST}
 * names, or it was resolved by a scorer (a lease {@code STORE/leases/<version>/<uuid>} written by
 * {@link EnsembleStore#resolveAndLease}) less than {@code leaseAge} ago (default one hour, judged by the lease file's
 * modification time). Every other version is removed: first renamed out of {@code versions/} into {@code trash/}
 * (so it disappears in one step on HDFS and local disks; object stores copy), then deleted, with its leases.
 *
 * <p>Also removed: lease files older than {@code leaseAge}; checkpoint folders of runs that were published (left
 * over when a run stopped between publication and cleanup) unless a live {@link RunLock} is in them; staging
 * folders of published runs and staging folders older than a day (a publication that died half way).
 *
 * <p>A scorer still reading a version more than {@code leaseAge} after it resolved it is not protected: keep
 * {@code keep} large enough for such jobs, or score with an explicit {@code STORE#VERSION} inside the window.
 */
public final class Retention {
  private static final Logger LOG = LoggerFactory.getLogger(Retention.class);
  public static final Duration DEFAULT_LEASE_AGE = Duration.ofHours(1);
  static final Duration STAGING_AGE = Duration.ofDays(1);

  /**
   * What a retention pass decided and did.
   *
   * @param kept kept versions with the reason, oldest first
   * @param removed removed versions, oldest first
   * @param other other removed paths (checkpoints, staging folders, expired leases count as one entry each)
   */
  public record Result(Map<String, String> kept, List<String> removed, List<String> other) {}

  private Retention() {}

  /** Decides which versions to keep, without changing anything. */
  public static Map<String, String> plan(EnsembleStore store, int keep, Duration leaseAge, Instant now) {
    InvalidInputException.check(keep >= 1, "--keep must be at least 1 (the newest version), found %d", keep);
    List<String> versions = store.versions();
    Optional<String> latest = store.latestVersion();
    Map<String, String> decision = new LinkedHashMap<>();
    for (int i = 0; i < versions.size(); i++) {
      String v = versions.get(i);
      String reason = null;
      if (i >= versions.size() - keep) {
        reason = "one of the newest " + keep;
      } else if (latest.isPresent() && latest.get().equals(v)) {
        reason = "LATEST";
      } else {
        Optional<Instant> lease = newestLease(store, v);
        if (lease.isPresent() && Duration.between(lease.get(), now).compareTo(leaseAge) < 0) {
          reason = "resolved by a scorer at " + lease.get() + " (within " + leaseAge.toMinutes() + " minutes)";
        }
      }
      decision.put(v, reason);
    }
    return decision;
  }

  /** Applies the rule with the default lease age (one hour). */
  public static Result apply(EnsembleStore store, int keep) {
    return apply(store, keep, DEFAULT_LEASE_AGE, false);
  }

  /**
   * Applies the rule.
   *
   * @param dryRun decide and report only
   */
  public static Result apply(EnsembleStore store, int keep, Duration leaseAge, boolean dryRun) {
    Instant now = Instant.now();
    Map<String, String> decision = plan(store, keep, leaseAge, now);
    Map<String, String> kept = new LinkedHashMap<>();
    List<String> removed = new ArrayList<>();
    List<String> other = new ArrayList<>();
    FileSystem fs = store.fileSystem();
    for (Map.Entry<String, String> e : decision.entrySet()) {
      if (e.getValue() != null) {
        kept.put(e.getKey(), e.getValue());
        continue;
      }
      removed.add(e.getKey());
      if (!dryRun) {
        removeVersion(store, e.getKey());
      }
    }
    // expired leases of the versions that stay
    for (String v : kept.keySet()) {
      for (FileStatus st : list(fs, leaseDir(store, v))) {
        if (Duration.between(Instant.ofEpochMilli(st.getModificationTime()), now).compareTo(leaseAge) >= 0) {
          other.add(st.getPath().toString());
          if (!dryRun) {
            delete(store, st.getPath());
          }
        }
      }
    }
    // checkpoints of published runs (a run stopped between publication and its cleanup)
    for (FileStatus st : list(fs, new Path(store.root(), "checkpoints"))) {
      String runId = st.getPath().getName();
      if (!st.isDirectory() || !validRunId(runId) || store.publishedRun(runId).isEmpty()) {
        continue;
      }
      Optional<RunLock.Holder> lock = RunLock.read(store, runId);
      if (lock.isPresent() && isFresh(lock.get(), now)) {
        continue; // the publishing run is still cleaning up itself
      }
      other.add(st.getPath().toString());
      if (!dryRun) {
        delete(store, st.getPath());
      }
    }
    // staging folders of published runs, or older than a day
    for (FileStatus st : list(fs, new Path(store.root(), "staging"))) {
      String name = st.getPath().getName();
      String runId = name.length() > 37 ? name.substring(0, name.length() - 37) : "";
      boolean old = Duration.between(Instant.ofEpochMilli(st.getModificationTime()), now).compareTo(STAGING_AGE) >= 0;
      if (old || (validRunId(runId) && store.publishedRun(runId).isPresent())) {
        other.add(st.getPath().toString());
        if (!dryRun) {
          delete(store, st.getPath());
        }
      }
    }
    LOG.info("retention on {} (keep {}, leases younger than {} min protect){}: kept {}, removed {} version(s) {}"
        + " and {} other path(s)", store.uri(), keep, leaseAge.toMinutes(), dryRun ? " [dry run]" : "",
        kept.keySet(), removed.size(), removed, other.size());
    return new Result(kept, removed, other);
  }

  private static boolean isFresh(RunLock.Holder h, Instant now) {
    try {
      return Duration.between(Instant.parse(h.heartbeatAt()), now).compareTo(RunLock.DEFAULT_STALE_AFTER) < 0;
    } catch (RuntimeException e) {
      return true; // unreadable: leave it alone
    }
  }

  private static boolean validRunId(String runId) {
    try {
      EnsembleStore.checkRunId(runId);
      return true;
    } catch (InvalidInputException e) {
      return false;
    }
  }

  static Path leaseDir(EnsembleStore store, String version) {
    return new Path(new Path(store.root(), "leases"), version);
  }

  /** The modification time of the newest lease on {@code version}. */
  static Optional<Instant> newestLease(EnsembleStore store, String version) {
    long newest = Long.MIN_VALUE;
    for (FileStatus st : list(store.fileSystem(), leaseDir(store, version))) {
      newest = Math.max(newest, st.getModificationTime());
    }
    return newest == Long.MIN_VALUE ? Optional.empty() : Optional.of(Instant.ofEpochMilli(newest));
  }

  private static void removeVersion(EnsembleStore store, String version) {
    FileSystem fs = store.fileSystem();
    Path dir = store.versionDir(version);
    Path trash = new Path(new Path(store.root(), "trash"), version + "-" + UUID.randomUUID());
    try {
      fs.mkdirs(trash.getParent());
      if (!fs.rename(dir, trash)) {
        throw new DeepensException("cannot move " + dir + " to " + trash + " for removal");
      }
    } catch (IOException e) {
      throw new DeepensException("cannot remove version " + dir + ": " + e.getMessage(), e);
    }
    delete(store, trash);
    delete(store, leaseDir(store, version));
    LOG.info("removed version {} of {}", version, store.uri());
  }

  private static void delete(EnsembleStore store, Path p) {
    store.deleteRecursively(p);
  }

  private static List<FileStatus> list(FileSystem fs, Path dir) {
    try {
      List<FileStatus> out = new ArrayList<>();
      for (FileStatus st : fs.listStatus(dir)) {
        if (!st.getPath().getName().startsWith(".")) {
          out.add(st);
        }
      }
      return out;
    } catch (FileNotFoundException e) {
      return List.of();
    } catch (IOException e) {
      throw new DeepensException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }
}
