package io.deepens.jobs.report;

import io.deepens.spark.MiniHdfs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code evaluate --report hdfs://...}: the report a driver in a YARN container leaves where the user can read it.
 * Written to a {@link MiniHdfs}, it holds the same files, byte for byte, as the same report written locally; a second
 * report replaces the first whole; no temporary folder is left; a file in the way is bad input.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReportWriterHdfsTest {
  MiniHdfs hdfs;
  Path tmp;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    tmp = dir;
    hdfs = MiniHdfs.start(dir.resolve("dfs"));
  }

  @AfterAll
  void stop() throws Exception {
    if (hdfs != null) {
      hdfs.close();
    }
  }

  static List<String> names(FileSystem fs, org.apache.hadoop.fs.Path dir) throws Exception {
    List<String> out = new ArrayList<>();
    for (FileStatus s : fs.listStatus(dir)) {
      out.add(s.getPath().getName());
    }
    return out.stream().sorted().toList();
  }

  @Test
  void theReportOnHdfsHasTheLocalReportsFiles() throws Exception {
    Path local = tmp.resolve("local-report");
    ReportWriter.write(SyntheticReports.withOod(), local);
    String uri = hdfs.uri() + "/first/digits";
    assertEquals(uri, ReportWriter.write(SyntheticReports.withOod(), uri, hdfs.clientConfiguration()));

    FileSystem fs = hdfs.fs();
    List<String> localNames;
    try (Stream<Path> s = Files.list(local)) {
      localNames = s.map(p -> p.getFileName().toString()).sorted().toList();
    }
    assertEquals(localNames, names(fs, new org.apache.hadoop.fs.Path(uri)));
    assertTrue(localNames.contains(ReportWriter.METRICS_JSON) && localNames.contains(ReportWriter.INDEX_HTML));
    for (String text : List.of(ReportWriter.METRICS_JSON, ReportWriter.INDEX_HTML)) {
      try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(uri, text))) {
        assertArrayEquals(Files.readAllBytes(local.resolve(text)), in.readAllBytes(), text);
      }
    }
    assertEquals(List.of("digits"), names(fs, new org.apache.hadoop.fs.Path(hdfs.uri() + "/first")),
        "no temporary folder beside the report");
  }

  @Test
  void aSecondReportReplacesTheFirstWhole() throws Exception {
    String uri = hdfs.uri() + "/second/again";
    ReportWriter.write(SyntheticReports.withOod(), uri, hdfs.clientConfiguration());
    FileSystem fs = hdfs.fs();
    assertTrue(names(fs, new org.apache.hadoop.fs.Path(uri)).contains(ReportWriter.ROC_PNG));
    ReportWriter.write(SyntheticReports.withoutOod(), uri, hdfs.clientConfiguration());
    assertFalse(names(fs, new org.apache.hadoop.fs.Path(uri)).contains(ReportWriter.ROC_PNG),
        "the ROC chart of the first report (with OOD data) is gone with it");
    assertEquals(List.of("again"), names(fs, new org.apache.hadoop.fs.Path(hdfs.uri() + "/second")),
        "nothing left moved aside or staged");
  }

  @Test
  void aFileInTheWayIsBadInput() throws Exception {
    String uri = hdfs.uri() + "/third/a-file";
    hdfs.fs().create(new org.apache.hadoop.fs.Path(uri)).close();
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> ReportWriter.write(SyntheticReports.withOod(), uri, hdfs.clientConfiguration()));
    assertEquals("report folder " + uri + " exists and is not a folder: remove it or choose another --report",
        e.getMessage());
  }
}
