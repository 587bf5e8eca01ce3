package io.deepens.spark.score;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.store.ProcessIdentity;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a scoring job's output becomes visible: the job writes a hidden sibling of the output,
 * {@code .<name>.deepens-staging-<pid>@<host>-<host id>-<random>}, and only a complete write is moved to the output
 * path. So a job that fails or is killed leaves nothing at the output path, and the identical command can be run
 * again.
 *
 * <ul>
 *   <li><b>error</b> mode (the default): the staging folder is renamed to the output path, refusing an existing one
 *       ({@code FileContext.rename} without OVERWRITE: one atomic operation on HDFS).</li>
 *   <li><b>overwrite</b> mode: the old output is renamed aside to {@code .<name>.deepens-replaced-...}, the staging
 *       folder renamed into its place, then the old one deleted. A reader sees the old output or the new one; the
 *       only moment it sees neither is between the two renames (two metadata operations on HDFS or a local disk). A
 *       process killed exactly there leaves the old output under its {@code replaced} name, and the next
 *       {@link #begin} for the same output puts it back before anything else.</li>
 *   <li><b>Leftovers</b>: {@link #begin} deletes staging folders (and replaced copies whose output exists again)
 *       left by a process of this host that is no longer running ({@link ProcessIdentity}); folders of other hosts
 *       may belong to a running job and are left alone, with a warning naming them.</li>
 * </ul>
 * On object stores whose rename is a copy (s3a, gs) neither rename is atomic and each costs time in proportion to
 * the output's size; see the README, "Exit codes".
 */
public final class OutputCommit {
  private static final Logger LOG = LoggerFactory.getLogger(OutputCommit.class);

  /**
   * Spark conf key of a test-only fault hook: {@code staged} halts the JVM (as {@code kill -9} would) after the
   * job wrote its staging folder and before any rename; {@code swapping} halts it between the two renames of an
   * overwrite.
   */
  public static final String FAULT_HOOK = "spark.deepens.test.haltScoreCommit";

  private static final String STAGING = "staging";
  private static final String REPLACED = "replaced";
  private static final Pattern LEFTOVER =
      Pattern.compile("(" + STAGING + "|" + REPLACED + ")-(\\d+)@([A-Za-z0-9._-]+)-([0-9a-f]{8}|none)-[0-9a-f]{8}");

  private final FileSystem fs;
  private final FileContext fc;
  private final Path output;
  private final Path staging;
  private final boolean overwrite;
  private final String faultHook;

  private OutputCommit(FileSystem fs, FileContext fc, Path output, boolean overwrite, String faultHook) {
    this.fs = fs;
    this.fc = fc;
    this.output = output;
    this.overwrite = overwrite;
    this.faultHook = faultHook == null ? "" : faultHook;
    this.staging = sibling(output, STAGING);
  }

  /**
   * Prepares a write to {@code output}: restores an old output left aside by a killed overwrite, removes leftovers
   * of dead processes of this host, and (without {@code overwrite}) refuses an existing output.
   */
  public static OutputCommit begin(Configuration conf, String output, boolean overwrite, String faultHook) {
    Path p = new Path(output);
    try {
      FileSystem fs = p.getFileSystem(conf);
      Path q = fs.makeQualified(p);
      InvalidInputException.check(q.getParent() != null, "score: --output %s is the root of its file system; name"
          + " a folder in it", output);
      FileContext fc;
      try {
        fc = FileContext.getFileContext(fs.getUri(), conf);
      } catch (org.apache.hadoop.fs.UnsupportedFileSystemException e) {
        fc = null; // no AbstractFileSystem binding for this scheme: FileSystem.rename after an existence check
      }
      OutputCommit c = new OutputCommit(fs, fc, q, overwrite, faultHook);
      c.recover();
      if (!overwrite) {
        InvalidInputException.check(!fs.exists(q), "score: output %s exists already; pass --mode overwrite to"
            + " replace it", output);
      }
      return c;
    } catch (IOException e) {
      throw new DeepensException("cannot prepare output " + output + ": " + e.getMessage(), e);
    }
  }

  /** Where the job writes: a hidden sibling of the output on the same file system. */
  public String staging() {
    return staging.toString();
  }

  public String output() {
    return output.toString();
  }

  /** Makes the staged output visible at the output path (see the class comment). */
  public void commit() {
    halt("staged");
    try {
      if (!fs.exists(staging)) {
        throw new DeepensException("the scoring job reported success but wrote nothing to " + staging);
      }
      if (!overwrite || !fs.exists(output)) {
        moveIn();
        return;
      }
      Path aside = sibling(output, REPLACED);
      rename(output, aside);
      halt("swapping");
      try {
        moveIn();
      } catch (RuntimeException e) {
        try {
          rename(aside, output);
        } catch (IOException again) {
          e.addSuppressed(again);
          LOG.error("cannot put the previous output back from {} to {}: move it by hand", aside, output);
        }
        throw e;
      }
      if (!fs.delete(aside, true)) {
        LOG.warn("could not delete the previous output {} (moved aside); delete it by hand", aside);
      }
    } catch (IOException e) {
      throw new DeepensException("cannot move the scored table from " + staging + " to " + output + ": "
          + e.getMessage(), e);
    }
  }

  private void moveIn() throws IOException {
    try {
      rename(staging, output);
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      abort();
      throw new InvalidInputException("score: output " + output + " was created by someone else while this job "
          + "ran; nothing was replaced. Pass --mode overwrite to replace it");
    }
  }

  /**
   * Renames {@code from} to {@code to}, refusing an existing {@code to} (a plain FileSystem.rename would move
   * {@code from} into an existing folder): atomically on HDFS ({@code FileContext.rename} without OVERWRITE).
   */
  private void rename(Path from, Path to) throws IOException {
    if (fc != null) {
      fc.rename(from, to, Options.Rename.NONE);
      return;
    }
    if (fs.exists(to)) {
      throw new org.apache.hadoop.fs.FileAlreadyExistsException(to + " exists");
    }
    if (!fs.rename(from, to)) {
      throw new IOException("renaming " + from + " to " + to + " failed");
    }
  }

  /** Deletes the staging folder (best effort: a leftover is removed by the next run on this host). */
  public void abort() {
    try {
      fs.delete(staging, true);
    } catch (IOException e) {
      LOG.warn("cannot delete the staging folder {} ({}); the next score of {} on this host removes it", staging,
          e.getMessage(), output);
    }
  }

  private void halt(String point) {
    if (point.equals(faultHook)) {
      LOG.warn("test fault hook: halting the JVM at commit point '{}' of {}", point, output);
      System.err.flush();
      Runtime.getRuntime().halt(137);
    }
  }

  private static Path sibling(Path output, String kind) {
    String digest = ProcessIdentity.hostIdDigest();
    return new Path(output.getParent(), "." + output.getName() + ".deepens-" + kind + "-" + ProcessIdentity.pid()
        + "@" + ProcessIdentity.host().replaceAll("[^A-Za-z0-9._-]", "_") + "-" + (digest == null ? "none" : digest)
        + "-" + UUID.randomUUID().toString().substring(0, 8));
  }

  private record Leftover(FileStatus status, String kind, long pid, String host, String digest) {}

  private void recover() throws IOException {
    String prefix = "." + output.getName() + ".deepens-";
    FileStatus[] siblings;
    try {
      siblings = fs.listStatus(output.getParent(), p -> p.getName().startsWith(prefix));
    } catch (FileNotFoundException e) {
      return; // the parent does not exist yet: nothing left over
    }
    List<Leftover> found = new ArrayList<>();
    for (FileStatus st : siblings) {
      Matcher m = LEFTOVER.matcher(st.getPath().getName().substring(prefix.length()));
      if (m.matches()) {
        found.add(new Leftover(st, m.group(1), Long.parseLong(m.group(2)), m.group(3), m.group(4)));
      }
    }
    if (!fs.exists(output)) {
      Optional<Leftover> newest = found.stream().filter(l -> l.kind.equals(REPLACED))
          .max(Comparator.comparingLong(l -> l.status.getModificationTime()));
      if (newest.isPresent()) {
        Path from = newest.get().status.getPath();
        rename(from, output);
        LOG.warn("restored the previous output {} from {}: a score with --mode overwrite (pid {} on {}) stopped "
            + "between moving it aside and moving its replacement in", output, from.getName(), newest.get().pid,
            newest.get().host);
        found.remove(newest.get());
      }
    }
    for (Leftover l : found) {
      Optional<String> gone = gone(l);
      if (gone.isPresent()) {
        fs.delete(l.status.getPath(), true);
        LOG.warn("removed {}, left by a score that stopped before it finished: {}", l.status.getPath(), gone.get());
      } else {
        LOG.warn("{} was left by a score of pid {} on host {}, which may still be running; it does not block this "
            + "job (delete it by hand once that job has ended)", l.status.getPath(), l.pid, l.host);
      }
    }
  }

  private static Optional<String> gone(Leftover l) {
    String digest = ProcessIdentity.hostIdDigest();
    if (digest == null || !digest.equals(l.digest)
        || !l.host.equals(ProcessIdentity.host().replaceAll("[^A-Za-z0-9._-]", "_"))) {
      return Optional.empty();
    }
    return ProcessIdentity.goneFromThisHost(ProcessIdentity.host(), ProcessIdentity.hostId(), l.pid, null);
  }
}
