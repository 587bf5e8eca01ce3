package io.deepens.jobs.report;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.jobs.cli.Locations;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes an {@link EvaluationReport} into a folder on the local file system (or, through a local one, on any Hadoop
 * file system: {@link #write(EvaluationReport, String, Configuration)}):
 *
 * <ul>
 *   <li>{@value #METRICS_JSON}: every number, snake_case keys (format in {@link MetricsJson});</li>
 *   <li>{@value #INDEX_HTML}: a self-contained page (inline CSS, no script, no network access) with the metrics
 *       table, best value per column highlighted, and the charts below;</li>
 *   <li>{@value #RELIABILITY_PNG}, {@value #ENTROPY_PNG}, {@value #MI_PNG} and, with an OOD table and ROC curves,
 *       {@value #ROC_PNG}: XChart bitmaps shown by the page.</li>
 * </ul>
 *
 * <p>All files are written into a new hidden folder beside {@code dir} which is then renamed to {@code dir}; an
 * existing {@code dir} is replaced only after the new report is complete. A failed run leaves the previous report
 * (or nothing) in place, never a half-written one.
 */
public final class ReportWriter {

  public static final String METRICS_JSON = "metrics.json";
  public static final String INDEX_HTML = "index.html";
  public static final String RELIABILITY_PNG = "reliability.png";
  public static final String ENTROPY_PNG = "entropy-histogram.png";
  public static final String MI_PNG = "mutual-information-histogram.png";
  public static final String ROC_PNG = "roc.png";

  private static final Logger LOG = LoggerFactory.getLogger(ReportWriter.class);

  static {
    // Charts are drawn off-screen; a driver on a server has no display.
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private ReportWriter() {}

  /**
   * Renders {@code report} into {@code dir}, replacing what {@code dir} held.
   *
   * @throws InvalidInputException when {@code dir} exists and is not a folder
   * @throws IOException when a file cannot be written; {@code dir} is then left as it was
   */
  public static void write(EvaluationReport report, Path dir) throws IOException {
    Objects.requireNonNull(report, "report");
    Path target = dir.toAbsolutePath().normalize();
    InvalidInputException.check(!Files.exists(target) || Files.isDirectory(target),
        "report folder %s exists and is not a folder: remove it or choose another --report", target);
    Path parent = target.getParent();
    InvalidInputException.check(parent != null, "report folder %s has no parent folder", target);
    Files.createDirectories(parent);

    Path staging = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp-");
    try {
      if (Files.getFileStore(staging).supportsFileAttributeView("posix")) {
        Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      Map<String, String> charts = new LinkedHashMap<>();
      ReportCharts.savePng(ReportCharts.reliability(report), staging.resolve(RELIABILITY_PNG));
      charts.put(RELIABILITY_PNG, RELIABILITY_PNG);
      ReportCharts.savePng(ReportCharts.histogram("Predictive entropy (ensemble)", "predictive entropy (nats)",
          report.histogramEdgesEntropy(), report.entropyTest(), report.entropyOod()), staging.resolve(ENTROPY_PNG));
      charts.put(ENTROPY_PNG, ENTROPY_PNG);
      ReportCharts.savePng(ReportCharts.histogram("Mutual information (ensemble)", "mutual information (nats)",
          report.histogramEdgesMi(), report.miTest(), report.miOod()), staging.resolve(MI_PNG));
      charts.put(MI_PNG, MI_PNG);
      if (report.rocEntropy() != null || report.rocMi() != null) {
        ReportCharts.savePng(ReportCharts.roc(report), staging.resolve(ROC_PNG));
        charts.put(ROC_PNG, ROC_PNG);
      }
      MetricsJson.write(report, staging.resolve(METRICS_JSON));
      Files.writeString(staging.resolve(INDEX_HTML), ReportPage.render(report, charts), StandardCharsets.UTF_8);
      publish(staging, target);
    } catch (IOException | RuntimeException e) {
      try {
        deleteRecursively(staging);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    LOG.info("Wrote evaluation report to {} ({} and {})", target, INDEX_HTML, METRICS_JSON);
  }

  /**
   * Renders {@code report} into {@code location}: a local folder ({@link #write(EvaluationReport, Path)}), or a
   * folder on another Hadoop file system ({@code hdfs://}, {@code s3a://}), where a driver in a YARN container
   * (cluster deploy mode) can leave it. There the report is rendered into a local temporary folder, copied to a hidden
   * folder beside {@code location} and renamed into place, an existing report being moved aside first and deleted
   * after, as locally.
   *
   * @return where the report is: the absolute local folder, or the URI as given
   */
  public static String write(EvaluationReport report, String location, Configuration conf) throws IOException {
    if (Locations.isLocal(location)) {
      Path dir = Locations.localPath(location);
      write(report, dir);
      return dir.toAbsolutePath().normalize().toString();
    }
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(location);
    FileSystem fs = target.getFileSystem(conf);
    InvalidInputException.check(!fs.exists(target) || fs.getFileStatus(target).isDirectory(),
        "report folder %s exists and is not a folder: remove it or choose another --report", location);
    org.apache.hadoop.fs.Path parent = target.getParent();
    InvalidInputException.check(parent != null, "report folder %s has no parent folder", location);
    Path local = Files.createTempDirectory("deepens-report-");
    String id = UUID.randomUUID().toString();
    org.apache.hadoop.fs.Path staging = new org.apache.hadoop.fs.Path(parent, "." + target.getName() + ".tmp-" + id);
    org.apache.hadoop.fs.Path old = new org.apache.hadoop.fs.Path(parent, "." + target.getName() + ".old-" + id);
    try {
      Path rendered = local.resolve("report");
      write(report, rendered);
      fs.mkdirs(parent);
      fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(rendered.toUri()), staging);
      boolean hadOld = fs.exists(target);
      if (hadOld && !fs.rename(target, old)) {
        throw new IOException("cannot move the previous report " + target + " aside to " + old);
      }
      if (!fs.rename(staging, target)) {
        if (hadOld) {
          fs.rename(old, target); // put the previous report back
        }
        throw new IOException("cannot rename " + staging + " to " + target);
      }
      if (hadOld && !fs.delete(old, true)) {
        LOG.warn("Could not delete the previous report moved aside to {}", old);
      }
    } finally {
      fs.delete(staging, true);
      deleteRecursively(local);
    }
    LOG.info("Wrote evaluation report to {} ({} and {})", location, INDEX_HTML, METRICS_JSON);
    return location;
  }

  /** Renames {@code staging} to {@code target}; an existing target is moved aside first and deleted after. */
  private static void publish(Path staging, Path target) throws IOException {
    Path old = null;
    if (Files.exists(target)) {
      old = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".old-");
      Files.delete(old);
      move(target, old);
    }
    try {
      move(staging, target);
    } catch (IOException e) {
      if (old != null) {
        move(old, target); // put the previous report back
      }
      throw e;
    }
    if (old != null) {
      try {
        deleteRecursively(old);
      } catch (IOException e) {
        LOG.warn("Could not delete the previous report moved aside to {}: {}", old, e.toString());
      }
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new DeepensException("cannot rename " + from + " to " + to + " atomically on this file system", e);
    }
  }

  static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
