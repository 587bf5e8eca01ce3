package io.deepens.core.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

/**
 * A versioned ensemble store on a Hadoop FileSystem. See the package documentation for the layout and the
 * publication protocol. Instances are cheap; they hold no open files.
 */
public final class EnsembleStore {
  public static final String MANIFEST = "manifest.json";
  public static final String LATEST = "LATEST";
  private static final Pattern VERSION = Pattern.compile("v\\d{6}");
  private static final Pattern RUN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path root;
  private final FileSystem fs;
  private final Configuration conf;

  private EnsembleStore(Path root, FileSystem fs, Configuration conf) {
    this.root = root;
    this.fs = fs;
    this.conf = conf;
  }

  /** Opens (without creating) the store at {@code uri}; a path without a scheme is taken as a local path. */
  public static EnsembleStore open(String uri, Configuration conf) {
    InvalidInputException.check(uri != null && !uri.isBlank(), "store URI must not be empty");
    try {
      Path p = new Path(uri);
      FileSystem fs = p.getFileSystem(conf);
      return new EnsembleStore(fs.makeQualified(p), fs, conf);
    } catch (IOException | IllegalArgumentException e) {
      throw new InvalidInputException("cannot open store " + uri + ": " + e.getMessage(), e);
    }
  }

  public Path root() {
    return root;
  }

  public FileSystem fileSystem() {
    return fs;
  }

  public Configuration hadoopConf() {
    return conf;
  }

  public String uri() {
    return root.toString();
  }

  public static ObjectMapper json() {
    return JSON;
  }

  /** Checks a run id: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128. */
  public static String checkRunId(String runId) {
    InvalidInputException.check(
        runId != null && RUN_ID.matcher(runId).matches(),
        "run id must match %s (letters, digits, '.', '_', '-'), found '%s'",
        RUN_ID.pattern(),
        runId);
    return runId;
  }

  // ---------------------------------------------------------------- reading

  /** Published versions, oldest first. */
  public List<String> versions() {
    Path dir = new Path(root, "versions");
    try {
      if (!fs.exists(dir)) {
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (FileStatus st : fs.listStatus(dir)) {
        String name = st.getPath().getName();
        if (st.isDirectory() && VERSION.matcher(name).matches()) {
          out.add(name);
        }
      }
      Collections.sort(out);
      return out;
    } catch (IOException e) {
      throw new DeepensException("cannot list versions of store " + root + ": " + e.getMessage(), e);
    }
  }

  /** The version {@code LATEST} names, if any version was ever published. */
  public Optional<String> latestVersion() {
    Path latest = new Path(root, LATEST);
    try (InputStream in = fs.open(latest)) {
      String v = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!VERSION.matcher(v).matches()) {
        throw new DamagedStoreException(latest + " holds '" + abbreviate(v) + "', which is not a version name "
            + "(vNNNNNN; published versions: " + versions() + ")");
      }
      return Optional.of(v);
    } catch (FileNotFoundException e) {
      return Optional.empty();
    } catch (org.apache.hadoop.fs.ChecksumException e) {
      throw new DamagedStoreException(latest + " fails the file system's own checksum (" + e.getMessage()
          + "); it was changed or corrupted after it was written", e);
    } catch (IOException e) {
      throw new DeepensException("cannot read " + latest + ": " + e.getMessage(), e);
    }
  }

  /**
   * Resolves a version once: {@code null} or {@code LATEST} means the version {@code LATEST} names. The result
   * stays valid while newer versions are published.
   */
  public Manifest resolve(String version) {
    return readResolved(version, versionName(version));
  }

  private static boolean viaLatest(String version) {
    return version == null || version.isBlank() || version.equals(LATEST);
  }

  /** The manifest of {@code v}, which {@code requested} resolved to: a LATEST naming no version is damage. */
  private Manifest readResolved(String requested, String v) {
    if (!viaLatest(requested)) {
      return readManifest(v);
    }
    try {
      return readManifest(v);
    } catch (DamagedStoreException e) {
      throw e;
    } catch (InvalidInputException e) { // only "does not exist" is thrown as plain invalid input there
      throw new DamagedStoreException(new Path(root, LATEST) + " names version " + v + ", which does not exist "
          + "(no " + new Path(versionDir(v), MANIFEST) + "; published versions: " + versions() + ")");
    }
  }

  private static String abbreviate(String s) {
    String one = s.replaceAll("\\s+", " ");
    return one.length() <= 40 ? one : one.substring(0, 40) + "…";
  }

  /** A JSON parser's complaint on one line: its own message without the source excerpt, and where. */
  static String jsonProblem(com.fasterxml.jackson.core.JsonProcessingException e) {
    com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
    return e.getOriginalMessage().replaceAll("\\s*\\R\\s*", " ")
        + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
  }

  /** The version name {@code version} stands for: itself, or what {@code LATEST} names for null/LATEST. */
  public String versionName(String version) {
    String v = version;
    if (v == null || v.isBlank() || v.equals(LATEST)) {
      v = latestVersion()
          .orElseThrow(() -> new InvalidInputException(
              "store " + root + " has no published version (no " + LATEST + " file): train an ensemble first"));
    }
    InvalidInputException.check(
        VERSION.matcher(v).matches(), "version must look like v000001 or be LATEST, found '%s'", v);
    return v;
  }

  public Manifest readManifest(String version) {
    Path p = new Path(versionDir(version), MANIFEST);
    try (InputStream in = fs.open(p)) {
      Manifest m = JSON.readValue(in, Manifest.class);
      if (m.formatVersion() > Manifest.FORMAT_VERSION) {
        throw new InvalidInputException(p + " has format version " + m.formatVersion()
            + ", newer than this deepens reads (" + Manifest.FORMAT_VERSION + "): upgrade deepens");
      }
      return m;
    } catch (FileNotFoundException e) {
      throw new InvalidInputException("version " + version + " does not exist in store " + root
          + " (no " + p + "); published versions: " + versions());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new DamagedStoreException("manifest " + p + " is not a valid manifest: " + jsonProblem(e), e);
    } catch (org.apache.hadoop.fs.ChecksumException e) {
      throw new DamagedStoreException("manifest " + p + " fails the file system's own checksum (" + e.getMessage()
          + "); it was changed or corrupted after publication", e);
    } catch (IOException e) {
      throw new DeepensException("cannot read manifest " + p + ": " + e.getMessage(), e);
    }
  }

  public Path versionDir(String version) {
    return new Path(new Path(root, "versions"), version);
  }

  /**
   * A file of a version, by the relative path the manifest gives. Paths that are absolute, carry a scheme or
   * climb out of the version folder are refused: a manifest must not make a scorer read outside the store.
   */
  public Path fileOf(String version, String relative) {
    if (relative == null
        || relative.isEmpty()
        || relative.startsWith("/")
        || relative.contains("\\")
        || URI.create(relative.replace(" ", "%20")).getScheme() != null) {
      throw new DamagedStoreException("manifest of " + version + " names file '" + relative
          + "', which is not a relative path inside the version folder: refusing to read it");
    }
    for (String part : relative.split("/")) {
      if (part.equals("..") || part.equals(".") || part.isEmpty()) {
        throw new DamagedStoreException("manifest of " + version + " names file '" + relative
            + "', which leaves the version folder: refusing to read it");
      }
    }
    return new Path(versionDir(version), relative);
  }

  /** Reads a version's file whole and checks its SHA-256 against the manifest's; a mismatch names the file. */
  public byte[] readVerified(String version, String relative, String expectedSha256) {
    Path p = fileOf(version, relative);
    try (InputStream in = fs.open(p)) {
      byte[] bytes = in.readAllBytes();
      String actual = Sha256.of(bytes);
      if (!actual.equalsIgnoreCase(expectedSha256)) {
        throw new DamagedStoreException("checksum mismatch for " + p + ": manifest says SHA-256 " + expectedSha256
            + ", file has " + actual + "; the file was changed or corrupted after publication");
      }
      return bytes;
    } catch (org.apache.hadoop.fs.ChecksumException e) {
      throw new DamagedStoreException("checksum mismatch for " + p + ": the file system's own checksum fails ("
          + e.getMessage() + "); the file was changed or corrupted after publication", e);
    } catch (FileNotFoundException e) {
      throw new DamagedStoreException("file " + p + ", which the manifest of " + version + " lists, is missing", e);
    } catch (IOException e) {
      throw new DeepensException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- checkpoints and run files

  public Path runDir(String runId) {
    return new Path(new Path(root, "checkpoints"), checkRunId(runId));
  }

  public Path memberRunDir(String runId, int member) {
    return new Path(runDir(runId), memberName(member));
  }

  public static String memberName(int member) {
    return String.format(java.util.Locale.ROOT, "m-%03d", member);
  }

  /** Writes {@code bytes} to {@code target} through a temporary sibling and a rename, replacing any old file. */
  public void writeAtomically(Path target, byte[] bytes) {
    Path tmp = new Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
    try {
      fs.mkdirs(target.getParent());
      try (OutputStream out = fs.create(tmp, false)) {
        out.write(bytes);
      }
      FileContext.getFileContext(fs.getUri(), conf).rename(tmp, target, Options.Rename.OVERWRITE);
    } catch (IOException e) {
      try {
        fs.delete(tmp, false);
      } catch (IOException ignored) {
        // best effort: the temporary file has a dot name that readers skip
      }
      throw new DeepensException("cannot write " + target + ": " + e.getMessage(), e);
    }
  }

  /** Reads a whole file, or empty when it does not exist. */
  public Optional<byte[]> readIfExists(Path p) {
    try (InputStream in = fs.open(p)) {
      return Optional.of(in.readAllBytes());
    } catch (FileNotFoundException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new DeepensException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  public void deleteRecursively(Path p) {
    try {
      fs.delete(p, true);
    } catch (IOException e) {
      throw new DeepensException("cannot delete " + p + ": " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- publishing

  /** A version being assembled under {@code staging/}; invisible to readers until {@link #publish}. */
  public final class Staging {
    private final Path dir;
    private final java.util.Map<String, String> files = new java.util.TreeMap<>();

    private Staging(Path dir) {
      this.dir = dir;
    }

    public Path dir() {
      return dir;
    }

    /** Writes a file into the version and records its SHA-256. */
    public String write(String relative, byte[] bytes) {
      writeAtomically(new Path(dir, relative), bytes);
      String sha = Sha256.of(bytes);
      files.put(relative, sha);
      return sha;
    }

    /**
     * Moves an existing file of the same store into the version (a rename: its bytes do not change) and records
     * {@code sha256}, which the caller has verified against the file where this store reads it (the trainer does,
     * for every member, before it stages anything).
     */
    public void moveIn(Path source, String relative, String sha256) {
      Path target = new Path(dir, relative);
      try {
        fs.mkdirs(target.getParent());
        if (!fs.rename(source, target)) {
          throw new DeepensException("cannot move " + source + " to " + target);
        }
        files.put(relative, sha256);
      } catch (IOException e) {
        throw new DeepensException("cannot move " + source + " into staging: " + e.getMessage(), e);
      }
    }

    public java.util.Map<String, String> files() {
      return java.util.Collections.unmodifiableMap(files);
    }
  }

  public Staging beginVersion(String runId) {
    Path dir = new Path(new Path(root, "staging"), checkRunId(runId) + "-" + UUID.randomUUID());
    try {
      fs.mkdirs(dir);
    } catch (IOException e) {
      throw new DeepensException("cannot create " + dir + ": " + e.getMessage(), e);
    }
    return new Staging(dir);
  }

  /**
   * Publishes a staged version: picks the next version name, writes the manifest the caller builds for it (last),
   * renames the staging folder into {@code versions/} and then replaces {@code LATEST}. Returns the version name.
   * Two concurrent publishers get different names: the rename onto an existing folder fails and the loser retries
   * with the next name.
   */
  public String publish(Staging staging, Function<String, Manifest> manifestForVersion) {
    for (int attempt = 0; attempt < 20; attempt++) {
      List<String> existing = versions();
      int next = existing.isEmpty() ? 1 : Integer.parseInt(existing.get(existing.size() - 1).substring(1)) + 1;
      String version = String.format(java.util.Locale.ROOT, "v%06d", next);
      Manifest m = manifestForVersion.apply(version);
      try {
        byte[] json = JSON.writeValueAsBytes(m);
        writeAtomically(new Path(staging.dir, MANIFEST), json);
        Path target = versionDir(version);
        fs.mkdirs(target.getParent());
        if (fs.exists(target)) {
          continue; // somebody published this name first
        }
        writeRunMarker(m.runId(), version, RUN_PUBLISHING);
        if (!fs.rename(staging.dir, target)) {
          continue; // somebody published this name first
        }
        writeRunMarker(m.runId(), version, RUN_PUBLISHED);
        updateLatest(version);
        return version;
      } catch (IOException e) {
        throw new DeepensException("cannot publish version " + version + " to " + root + ": " + e.getMessage(), e);
      }
    }
    throw new DeepensException("could not find a free version name in " + root + " after 20 attempts");
  }

  private void updateLatest(String version) {
    Optional<String> current = latestVersion();
    if (current.isPresent() && current.get().compareTo(version) > 0) {
      return; // a newer version was published meanwhile
    }
    writeAtomically(new Path(root, LATEST), (version + "\n").getBytes(StandardCharsets.UTF_8));
  }

  // ---------------------------------------------------------------- run markers

  static final String RUN_PUBLISHING = "publishing";
  static final String RUN_PUBLISHED = "published";

  /**
   * {@code STORE/runs/<run-id>.json}: which version a run id published. {@link #publish} writes it with state
   * {@code publishing} (naming the version it is about to rename into place) just before the rename, and with state
   * {@code published} just after; so a crash between the two still leaves the version findable.
   */
  public record RunMarker(String runId, String version, String state, String at) {}

  /** A run id that was published: its version and whether that version still exists (retention may remove it). */
  public record PublishedRun(String runId, String version, boolean exists) {}

  public Path runMarker(String runId) {
    return new Path(new Path(root, "runs"), checkRunId(runId) + ".json");
  }

  private void writeRunMarker(String runId, String version, String state) {
    if (runId == null || !RUN_ID.matcher(runId).matches()) {
      return;
    }
    writeAtomically(runMarker(runId), toJson(new RunMarker(runId, version, state, java.time.Instant.now().toString())));
  }

  /**
   * Whether run id {@code runId} was published, from its marker: one small read (two when the marker says
   * {@code publishing}, to check the version's manifest names this run). Stores published before markers existed
   * have none: their run ids count as unpublished.
   */
  public Optional<PublishedRun> publishedRun(String runId) {
    Optional<byte[]> bytes = readIfExists(runMarker(runId));
    if (bytes.isEmpty()) {
      return Optional.empty();
    }
    RunMarker marker;
    try {
      marker = JSON.readValue(bytes.get(), RunMarker.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new DamagedStoreException("run record " + runMarker(runId) + " is not valid: " + jsonProblem(e), e);
    } catch (IOException e) {
      throw new DeepensException("cannot read " + runMarker(runId) + ": " + e.getMessage(), e);
    }
    Path manifest = new Path(versionDir(marker.version()), MANIFEST);
    boolean exists;
    try {
      exists = fs.exists(manifest);
    } catch (IOException e) {
      throw new DeepensException("cannot check " + manifest + ": " + e.getMessage(), e);
    }
    if (RUN_PUBLISHED.equals(marker.state())) {
      return Optional.of(new PublishedRun(runId, marker.version(), exists));
    }
    // publishing: the process stopped around the rename; the version is this run's only if its manifest says so
    if (exists && runId.equals(readManifest(marker.version()).runId())) {
      return Optional.of(new PublishedRun(runId, marker.version(), true));
    }
    return Optional.empty();
  }

  // ---------------------------------------------------------------- leases

  /**
   * Resolves a version like {@link #resolve} and records the resolution as a lease,
   * {@code STORE/leases/<version>/<uuid>}, before reading the manifest: retention keeps a version leased within the
   * last hour (see {@link Retention}). Scorers call this; a lease that cannot be written (a read-only store) is
   * logged and otherwise ignored.
   */
  public Manifest resolveAndLease(String version) {
    String v = versionName(version);
    lease(v);
    return readResolved(version, v);
  }

  /** Writes a lease on {@code version} now; returns its path, or empty when it could not be written. */
  public Optional<Path> lease(String version) {
    Path p = new Path(new Path(new Path(root, "leases"), version), UUID.randomUUID().toString());
    try {
      fs.mkdirs(p.getParent());
      try (OutputStream out = fs.create(p, false)) {
        out.write(("{\"version\":\"" + version + "\",\"at\":\"" + java.time.Instant.now() + "\"}\n")
            .getBytes(StandardCharsets.UTF_8));
      }
      return Optional.of(p);
    } catch (IOException e) {
      org.slf4j.LoggerFactory.getLogger(EnsembleStore.class).warn(
          "cannot record the resolution of {} in {} ({}): retention may remove this version while it is read",
          version, p, e.getMessage());
      return Optional.empty();
    }
  }

  /** Serialises a value as the store writes JSON. */
  public static byte[] toJson(Object value) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      JSON.writeValue(out, value);
      return out.toByteArray();
    } catch (IOException e) {
      throw new DeepensException("cannot write JSON: " + e.getMessage(), e);
    }
  }
}
